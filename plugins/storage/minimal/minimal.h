// SPDX-License-Identifier: Apache-2.0
#pragma once

// storage.memory — the narrated example storage backend.
//
// Read this file, then minimal.cc, then plugin.cc: together they are everything a storage
// plugin needs. The steps are numbered across the three files.
//
// Step 1: include only the SDK. A plugin never needs core headers, Boost or Poco: everything it
// talks to the host through lives in <aimass/...>.

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/storage.h"

namespace aimass::plugins::storage {

/// An in-process key-value store: a sorted map guarded by a reader-writer lock.
///
/// Everything lives in this object and is lost when it is destroyed, so it suits tests, demos
/// and caches, not data that must survive a restart (use storage.fs for that).
///
/// Threading: every method may be called from many threads at once. Readers (get, list) share
/// the lock; writers (put, remove, compareAndSet) take it exclusively, which is what makes
/// compareAndSet a single atomic step.
///
/// Limits: with `max_bytes` > 0 the total size of keys plus values may not exceed it; a write
/// that would exceed it fails with kResourceExhausted and changes nothing.
class MemoryStorage final : public Storage {
 public:
  /// `max_bytes` 0 means unlimited.
  explicit MemoryStorage(std::uint64_t max_bytes);

  std::string describe() const override;
  Status put(std::string_view key, std::string_view value) override;
  Expected<std::string> get(std::string_view key) const override;
  Expected<std::vector<std::string>> list(std::string_view prefix) const override;
  Status remove(std::string_view key) override;
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override;
  // openWrite/openRead: the SDK's defaults buffer the blob and call put()/get(), which is
  // exactly right for an in-memory store, so they are not overridden.

  /// Bytes held now (keys plus values).
  std::uint64_t bytesUsed() const;

 private:
  // Step 2: keep the state private and guarded. std::less<> lets us look keys up by
  // string_view without building a std::string first.
  Status storeLocked(std::string_view key, std::string_view value);

  const std::uint64_t max_bytes_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::string, std::less<>> values_;
  std::uint64_t bytes_used_ = 0;
};

}  // namespace aimass::plugins::storage
