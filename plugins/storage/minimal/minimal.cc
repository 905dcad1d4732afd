// SPDX-License-Identifier: Apache-2.0
#include "minimal.h"

#include <mutex>
#include <utility>

namespace aimass::plugins::storage {

MemoryStorage::MemoryStorage(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

std::string MemoryStorage::describe() const {
  // Step 3: describe() is what logs and error messages show; make it name the backend.
  return max_bytes_ ? "memory (max " + std::to_string(max_bytes_) + " bytes)" : "memory";
}

// Step 4: validate every key first, with the SDK's validateStorageKey(). All backends then
// accept and refuse exactly the same keys, so a config can move between them.
//
// Step 5: never let an exception out. std::string and std::map allocate and may throw
// std::bad_alloc; guard() turns that into a kResourceExhausted Status.

Status MemoryStorage::put(std::string_view key, std::string_view value) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  return guard("storage.memory put", [&]() -> Status {
    std::unique_lock lock(mutex_);
    return storeLocked(key, value);
  });
}

Status MemoryStorage::storeLocked(std::string_view key, std::string_view value) {
  // Step 6: enforce the limit before changing anything, so a refused write leaves the store
  // exactly as it was.
  auto it = values_.find(key);
  std::uint64_t old_size = it == values_.end() ? 0 : key.size() + it->second.size();
  std::uint64_t new_total = bytes_used_ - old_size + key.size() + value.size();
  if (max_bytes_ != 0 && new_total > max_bytes_) {
    return resourceExhausted("storing '" + std::string(key) + "' (" + std::to_string(value.size()) +
                             " bytes) would exceed max_bytes " + std::to_string(max_bytes_) + " (" +
                             std::to_string(bytes_used_) + " bytes in use)");
  }
  if (it == values_.end()) {
    values_.emplace(std::string(key), std::string(value));
  } else {
    it->second.assign(value);
  }
  bytes_used_ = new_total;
  return okStatus();
}

Expected<std::string> MemoryStorage::get(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  std::string out;
  Status status = guard("storage.memory get", [&]() -> Status {
    std::shared_lock lock(mutex_);
    auto it = values_.find(key);
    if (it == values_.end()) {
      // Step 7: use the Status codes the interface documents (kNotFound here), with a message
      // that names the key, so callers can act on the code and users can read the message.
      return notFound("no value under key '" + std::string(key) + "'");
    }
    out = it->second;
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return out;
}

Expected<std::vector<std::string>> MemoryStorage::list(std::string_view prefix) const {
  std::vector<std::string> keys;
  Status status = guard("storage.memory list", [&] {
    std::shared_lock lock(mutex_);
    // Step 8: std::map keeps keys sorted bytewise (std::string compares as unsigned char), so
    // a prefix scan is lower_bound() plus a walk while the prefix still matches.
    for (auto it = values_.lower_bound(prefix);
         it != values_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
      keys.push_back(it->first);
    }
  });
  if (!status.ok()) {
    return status;
  }
  return keys;
}

Status MemoryStorage::remove(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  std::unique_lock lock(mutex_);
  auto it = values_.find(key);
  if (it == values_.end()) {
    return notFound("cannot remove key '" + std::string(key) + "': it does not exist");
  }
  bytes_used_ -= it->first.size() + it->second.size();
  values_.erase(it);
  return okStatus();
}

Expected<bool> MemoryStorage::compareAndSet(std::string_view key,
                                            std::optional<std::string_view> expected,
                                            std::string_view desired) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  bool swapped = false;
  Status status = guard("storage.memory compareAndSet", [&]() -> Status {
    // Step 9: compare and write under one exclusive lock: no other writer can slip in between,
    // which is the whole promise of compareAndSet.
    std::unique_lock lock(mutex_);
    auto it = values_.find(key);
    bool matches = expected.has_value() ? (it != values_.end() && it->second == *expected)
                                        : it == values_.end();
    if (!matches) {
      return okStatus();
    }
    AIMASS_RETURN_IF_ERROR(storeLocked(key, desired));
    swapped = true;
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return swapped;
}

std::uint64_t MemoryStorage::bytesUsed() const {
  std::shared_lock lock(mutex_);
  return bytes_used_;
}

}  // namespace aimass::plugins::storage
