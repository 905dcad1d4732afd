// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass::core {

/// Bounds of a SequenceStore (the serving.runtime parameters max_sequences, sequence_idle_s and
/// max_sequence_bytes).
struct SequenceLimits {
  std::int64_t max_sequences = 10000;
  std::int64_t idle_ms = 600000;
  std::int64_t max_bytes = std::int64_t{256} << 20;
};

/// The longest sequence_id a request may carry.
inline constexpr std::size_t kMaxSequenceIdBytes = 128;

/// The stored "state" tensors of stateful sequences, keyed by model, version and sequence id.
///
/// Bounds: at most limits.max_sequences states and limits.max_bytes state bytes in all; storing
/// beyond either evicts the least recently used states (a state larger than max_bytes on its own
/// is not stored: put() answers kResourceExhausted). A state not used for limits.idle_ms is
/// dropped (lazily: on the next begin() of any sequence, and when counted).
///
/// Concurrency: one request at a time per sequence. begin() marks the sequence busy until
/// finish(); a second begin() meanwhile answers kAborted (HTTP 409) naming the sequence, rather
/// than waiting. A busy sequence is never evicted.
///
/// Threading: thread-safe.
class SequenceStore {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SequenceStore(SequenceLimits limits = {},
                         std::function<Clock::time_point()> now = &Clock::now);

  /// Replaces the limits; states beyond the new ones are evicted at once.
  void setLimits(const SequenceLimits& limits);
  SequenceLimits limits() const;

  /// Starts a request of sequence `key`: its stored state (empty when the sequence is new, was
  /// evicted or expired) in `state`. kAborted when a request of the same sequence is running.
  Status begin(const std::string& key, std::optional<Tensor>& state);
  /// Ends the request begun with begin(): stores `state` (a deep copy is the caller's business)
  /// unless `drop`, in which case the sequence is forgotten. Without a state (nullopt) and
  /// without `drop`, the stored one stays (a sequence with none is forgotten). kResourceExhausted
  /// when the state alone is larger than max_bytes (the sequence is then forgotten); the sequence
  /// is no longer busy either way.
  Status finish(const std::string& key, std::optional<Tensor> state, bool drop);

  /// Stored sequences (busy ones included), after dropping the expired ones.
  std::int64_t size();
  /// Bytes of the stored states.
  std::int64_t bytes() const;
  /// Sequences evicted to make room (not counting idle expiry) since the store was made.
  std::int64_t evictions() const;

 private:
  struct Entry {
    std::optional<Tensor> state;
    std::int64_t bytes = 0;
    Clock::time_point used;
    bool busy = false;
    std::list<std::string>::iterator lru;  // position in lru_ (front: most recent)
  };

  void touch(const std::string& key, Entry& entry);       // mutex_ held
  void erase(std::map<std::string, Entry>::iterator it);  // mutex_ held
  void expire();                                          // mutex_ held
  void evictFor(std::int64_t extra_bytes);                // mutex_ held

  const std::function<Clock::time_point()> now_;
  mutable std::mutex mutex_;
  SequenceLimits limits_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> lru_;
  std::int64_t bytes_ = 0;
  std::int64_t evictions_ = 0;
};

/// Runs one request of a stateful sequence: the request parameter `sequence_id` (`id`) named
/// one. Checks that the id is 1 to 128 bytes, that the model (its `schema`) has an optional
/// input "state" and an output "state", and that the request has exactly one row (`rows`),
/// each kInvalidArgument naming model 'NAME' and the parameter. Then feeds the sequence's stored
/// state as input "state" unless the request gives one, calls `run` with those inputs (it sets
/// `state` to the answer's output "state", for streams that of the last piece), and stores a
/// copy of that state for the sequence's next request; parameter `sequence_end` true drops the
/// sequence after the answer instead. A failed `run` leaves the stored state as it was.
/// kAborted while another request of the same sequence runs. The key is (model, version, id):
/// a new version starts every sequence afresh.
Status runSequence(SequenceStore& store, const std::string& model, const std::string& version,
                   const ModelSchema& schema, const std::string& id, std::int64_t rows,
                   const TensorMap& inputs, const PredictOptions& options,
                   const std::function<Status(const TensorMap&, std::optional<Tensor>&)>& run);

/// The store's key of sequence `id` of `model` at `version`.
std::string sequenceKey(const std::string& model, const std::string& version,
                        const std::string& id);

}  // namespace aimass::core
