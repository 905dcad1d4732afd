// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "aimass/model.h"
#include "aimass/serving.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "aimass/tensor.h"

/// Online learning for the serving runtime (ServingRuntime::learn()): the persisted form of a
/// learned observation batch, its keys, and the replay that restores a version's learned state.
///
/// Records live under `feedback/<model>/<identity>/<sequence>`, where <identity> names the
/// trained state the observations were learned on (a registry version's artifact sha256, or
/// the sha256 of a graph model's saved payload) and <sequence> is the batch's number, 20
/// zero-padded digits so that key order is learning order. A retrained model has another
/// identity and so starts clean; its old records stay until removed.
namespace aimass::core {

/// The learning state of one served version, shared by every Version object the version gets
/// over its life (setBatching() remakes them). `mutex` serialises learn, persist and replay, so
/// batches are learned and persisted in one order.
struct FeedbackState {
  std::mutex mutex;
  /// The trained state's identity; empty until a feedback storage needs it.
  std::string identity;
  /// The sequence the next persisted batch gets (one after the last replayed or written).
  std::uint64_t next_sequence = 1;
  /// The storage this version replayed from, so it replays once; null: none yet.
  std::shared_ptr<Storage> replayed_from;
};

/// "feedback/<model>/<identity>/", the prefix of a version's records.
std::string feedbackPrefix(std::string_view model, std::string_view identity);
/// The key of record `sequence` of that version.
std::string feedbackKey(std::string_view model, std::string_view identity,
                        std::uint64_t sequence);

/// The record of one observation batch: the tensors (name, datatype, shape, little-endian
/// data or the strings) in the artifact envelope of model_artifact.h (magic, version,
/// type "aimass.feedback", CRC-32), so a torn or corrupt record is detected. std::bad_alloc
/// propagates.
std::string encodeFeedbackRecord(const TensorMap& observations);
/// Reads a record back: kDataLoss for a corrupt or truncated one, kInvalidArgument for bytes
/// that are not a feedback record or of a format this host does not read. Never throws
/// except std::bad_alloc.
Expected<TensorMap> decodeFeedbackRecord(std::string_view bytes);

/// The sha256 of `model`'s saved payload: the identity of a graph model's trained state.
Expected<std::string> savedStateIdentity(const Model& model);

/// Learns every record under the version's prefix in key order, then sets
/// state.next_sequence and state.replayed_from. The caller holds state.mutex and has set
/// state.identity. A record that cannot be read, decoded or learned stops the replay with an
/// error naming the key and how to drop it; the records before it stay learned (callers then
/// refuse to serve the version).
Status replayFeedback(const std::string& model, OnlineLearning& learning,
                      const std::shared_ptr<Storage>& storage, FeedbackState& state);

/// Learns `observations` (already checked against observationInputs(), `rows` of them), then
/// persists them as the next record when `storage` is non-null. Learning comes first so that a
/// batch the model refused is never written; when the write fails after learning, the error is
/// kDataLoss saying the observations are live but not persisted (and must not be resent). The
/// caller holds state.mutex.
Expected<LearnResult> learnAndPersist(const std::string& model, const std::string& version,
                                      OnlineLearning& learning, const TensorMap& observations,
                                      std::int64_t rows, Storage* storage, FeedbackState& state);

}  // namespace aimass::core
