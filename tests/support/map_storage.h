// SPDX-License-Identifier: Apache-2.0
#pragma once

// A Storage of records in a std::map, for unit tests that need a store without a storage
// plugin. It counts puts and can stand for a process killed after a number of writes: with
// `keep_puts` set, puts beyond that count succeed but are not kept.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/storage.h"

namespace aimass::testing {

class MapStorage final : public Storage {
 public:
  std::string describe() const override { return "map:test"; }
  Status put(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mutex_);
    ++puts;
    if (!keep_puts || puts <= *keep_puts) {
      values[std::string(key)] = std::string(value);
    }
    return Status();
  }
  Expected<std::string> get(std::string_view key) const override {
    std::lock_guard lock(mutex_);
    auto it = values.find(std::string(key));
    if (it == values.end()) {
      return notFound("no key '" + std::string(key) + "'");
    }
    return it->second;
  }
  Expected<std::vector<std::string>> list(std::string_view prefix) const override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> keys;
    for (const auto& [key, value] : values) {
      if (key.starts_with(prefix)) {
        keys.push_back(key);
      }
    }
    return keys;
  }
  Status remove(std::string_view key) override {
    std::lock_guard lock(mutex_);
    return values.erase(std::string(key)) > 0 ? Status() : notFound(std::string(key));
  }
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override {
    std::lock_guard lock(mutex_);
    auto it = values.find(std::string(key));
    const bool matches =
        expected ? (it != values.end() && it->second == *expected) : it == values.end();
    if (matches) {
      values[std::string(key)] = std::string(desired);
    }
    return matches;
  }

  std::map<std::string, std::string> values;
  int puts = 0;                   ///< put() calls so far, kept or not
  std::optional<int> keep_puts;  ///< keep only the first N puts (a crash after them)

 private:
  mutable std::mutex mutex_;
};

}  // namespace aimass::testing
