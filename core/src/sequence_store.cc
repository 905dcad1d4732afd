// SPDX-License-Identifier: Apache-2.0
#include "sequence_store.h"

#include <iterator>
#include <utility>
#include <vector>

#include "aimass/tensor_names.h"

namespace aimass::core {

SequenceStore::SequenceStore(SequenceLimits limits, std::function<Clock::time_point()> now)
    : now_(std::move(now)), limits_(limits) {}

void SequenceStore::setLimits(const SequenceLimits& limits) {
  std::lock_guard lock(mutex_);
  limits_ = limits;
  expire();
  evictFor(0);
}

SequenceLimits SequenceStore::limits() const {
  std::lock_guard lock(mutex_);
  return limits_;
}

void SequenceStore::touch(const std::string& key, Entry& entry) {
  entry.used = now_();
  lru_.erase(entry.lru);
  lru_.push_front(key);
  entry.lru = lru_.begin();
}

void SequenceStore::erase(std::map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void SequenceStore::expire() {
  const Clock::time_point limit = now_() - std::chrono::milliseconds(limits_.idle_ms);
  // The least recently used are at the back: stop at the first one used recently enough.
  while (!lru_.empty()) {
    auto it = entries_.find(lru_.back());
    if (it->second.busy || it->second.used > limit) {
      break;
    }
    erase(it);
  }
}

void SequenceStore::evictFor(std::int64_t extra_bytes) {
  auto over = [&] {
    return static_cast<std::int64_t>(entries_.size()) > limits_.max_sequences ||
           bytes_ + extra_bytes > limits_.max_bytes;
  };
  // From the least recently used; busy sequences are skipped. Erasing `cur` leaves `pos` valid.
  for (auto pos = lru_.end(); over() && pos != lru_.begin();) {
    auto cur = std::prev(pos);
    auto it = entries_.find(*cur);
    if (it->second.busy) {
      pos = cur;
      continue;
    }
    erase(it);
    ++evictions_;
  }
}

Status SequenceStore::begin(const std::string& key, std::optional<Tensor>& state) {
  std::lock_guard lock(mutex_);
  expire();
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    lru_.push_front(key);
    Entry entry;
    entry.used = now_();
    entry.busy = true;
    entry.lru = lru_.begin();
    entries_.emplace(key, std::move(entry));
    evictFor(0);
    state.reset();
    return okStatus();
  }
  if (it->second.busy) {
    return aborted(
        "sequence_id: a request of this sequence is still running; send the next "
        "one after its answer");
  }
  it->second.busy = true;
  touch(key, it->second);
  state = it->second.state;
  return okStatus();
}

Status SequenceStore::finish(const std::string& key, std::optional<Tensor> state, bool drop) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return okStatus();  // (cannot happen: a busy entry is never evicted)
  }
  if (drop) {
    erase(it);
    return okStatus();
  }
  if (!state && !it->second.state) {
    erase(it);  // a first request that failed or gave no state: nothing worth keeping
    return okStatus();
  }
  it->second.busy = false;
  touch(key, it->second);
  if (!state) {
    return okStatus();
  }
  const auto size = static_cast<std::int64_t>(state->nbytes());
  if (size > limits_.max_bytes) {
    erase(it);
    return resourceExhausted("sequence state of " + std::to_string(size) +
                             " bytes exceeds max_sequence_bytes " +
                             std::to_string(limits_.max_bytes) + "; the sequence was dropped");
  }
  bytes_ -= it->second.bytes;
  it->second.state.reset();
  it->second.bytes = 0;
  it->second.busy = true;  // keep it while making room
  evictFor(size);
  it->second.busy = false;
  it->second.state = std::move(state);
  it->second.bytes = size;
  bytes_ += size;
  return okStatus();
}

std::int64_t SequenceStore::size() {
  std::lock_guard lock(mutex_);
  expire();
  return static_cast<std::int64_t>(entries_.size());
}

std::int64_t SequenceStore::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::int64_t SequenceStore::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

namespace {

bool hasSpec(const std::vector<TensorSpec>& specs, bool optional) {
  for (const TensorSpec& spec : specs) {
    if (spec.name == tensor_names::kState && (spec.optional || !optional)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Status runSequence(SequenceStore& store, const std::string& model, const std::string& version,
                   const ModelSchema& schema, const std::string& id, std::int64_t rows,
                   const TensorMap& inputs, const PredictOptions& options,
                   const std::function<Status(const TensorMap&, std::optional<Tensor>&)>& run) {
  const std::string where = "model '" + model + "': parameter sequence_id";
  if (id.empty() || id.size() > kMaxSequenceIdBytes) {
    return invalidArgument(where + " must be 1 to " + std::to_string(kMaxSequenceIdBytes) +
                           " bytes, got " + std::to_string(id.size()));
  }
  if (!hasSpec(schema.inputs, true) || !hasSpec(schema.outputs, false)) {
    return invalidArgument(where +
                           ": the model keeps no state between requests (it needs an "
                           "optional input 'state' and an output 'state')");
  }
  if (rows != 1) {
    return invalidArgument(where + ": a request of a sequence must have exactly one row, got " +
                           std::to_string(rows));
  }
  const std::string* end = options.parameter("sequence_end");
  if (end != nullptr && *end != "true" && *end != "false") {
    return invalidArgument("model '" + model +
                           "': parameter sequence_end must be true or "
                           "false, got '" +
                           *end + "'");
  }
  const bool drop = end != nullptr && *end == "true";
  const std::string key = sequenceKey(model, version, id);
  std::optional<Tensor> stored;
  Status begun = store.begin(key, stored);
  if (!begun.ok()) {
    return Status(begun.code(), "model '" + model + "': " + begun.message());
  }
  TensorMap fed = inputs;
  if (stored && inputs.find(tensor_names::kState) == nullptr) {
    fed.set(tensor_names::kState, *stored);
  }
  std::optional<Tensor> state;
  Status status = guard("a sequence request", [&] { return run(fed, state); });
  if (!status.ok()) {
    (void)store.finish(key, std::nullopt, false);
    return status;
  }
  if (state) {
    state = state->clone();
  }
  Status kept = store.finish(key, std::move(state), drop);
  if (!kept.ok()) {
    return Status(kept.code(), "model '" + model + "': " + kept.message());
  }
  return okStatus();
}

std::string sequenceKey(const std::string& model, const std::string& version,
                        const std::string& id) {
  std::string key = model;
  key += '\0';
  key += version;
  key += '\0';
  key += id;
  return key;
}

}  // namespace aimass::core
