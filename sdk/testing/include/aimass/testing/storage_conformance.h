// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The storage conformance suite: what every aimass::Storage backend must do.
///
/// checkStorage() works under a fresh random prefix ("conformance-<hex>/") and removes every key
/// it wrote before returning, so it can run against a store that holds real data. It needs
/// about 10 MiB of space and runs 8 threads for the compare-and-set race.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aimass/storage.h"
#include "aimass/testing/check.h"

namespace aimass::testing {

namespace storage_conformance_detail {

/// "conformance-1f2e3d4c5b6a7980/": random per run so concurrent runs and leftovers never meet.
inline std::string randomPrefix() {
  std::random_device device;
  std::uint64_t value = (std::uint64_t(device()) << 32) ^ device() ^
                        std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  static const char* kHex = "0123456789abcdef";
  std::string prefix = "conformance-";
  for (int shift = 60; shift >= 0; shift -= 4) {
    prefix += kHex[(value >> shift) & 15];
  }
  return prefix + "/";
}

inline std::string inQuotes(std::string_view s) { return "'" + std::string(s) + "'"; }

/// "ok" or the status text, for failure details.
template <typename T>
std::string describeResult(const Expected<T>& result) {
  return result.ok() ? std::string("ok") : result.status().toString();
}

/// A deterministic byte pattern of `size` bytes that includes every byte value.
inline std::string bytePattern(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  std::uint32_t state = seed * 2654435761u + 1;
  for (std::size_t i = 0; i < size; ++i) {
    state = state * 1664525u + 1013904223u;
    out[i] = static_cast<char>(state >> 24);
  }
  return out;
}

inline bool valueIs(const Storage& storage, const std::string& key, std::string_view expected) {
  auto got = storage.get(key);
  return got.ok() && *got == expected;
}

inline std::string joinKeys(const std::vector<std::string>& keys) {
  std::string out = "[";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    out += (i ? ", " : "") + inQuotes(keys[i]);
  }
  return out + "]";
}

}  // namespace storage_conformance_detail

/// Runs every storage check against `storage`. Never throws; failures are in the results.
inline CheckResults checkStorage(Storage& storage) {
  namespace d = storage_conformance_detail;
  CheckResults r;
  const std::string p = d::randomPrefix();

  // Plain records.
  {
    auto missing = storage.get(p + "missing");
    expectThat(r, "get of a missing key returns kNotFound",
               !missing.ok() && missing.status().code() == StatusCode::kNotFound,
               d::describeResult(missing));

    Status put = storage.put(p + "k", "v1");
    expectOk(r, "put stores a value", put);
    auto got = storage.get(p + "k");
    expectThat(r, "get returns what put stored", got.ok() && *got == "v1",
               got.ok() ? "got " + d::inQuotes(*got) : got.status().toString());

    Status over = storage.put(p + "k", "second value");
    expectThat(r, "put replaces an existing value",
               over.ok() && d::valueIs(storage, p + "k", "second value"), over.toString());

    Status empty = storage.put(p + "empty", "");
    auto got_empty = storage.get(p + "empty");
    expectThat(r, "an empty value round-trips (and is not 'missing')",
               empty.ok() && got_empty.ok() && got_empty->empty(),
               empty.ok() ? d::describeResult(got_empty) : empty.toString());

    std::string big = d::bytePattern(4u << 20, 1);
    Status big_put = storage.put(p + "big", big);
    auto got_big = storage.get(p + "big");
    expectThat(r, "a 4 MiB value round-trips byte for byte",
               big_put.ok() && got_big.ok() && *got_big == big,
               !big_put.ok()  ? big_put.toString()
               : got_big.ok() ? "got " + std::to_string(got_big->size()) + " different bytes"
                              : got_big.status().toString());

    std::string binary("a\0b\0\0c\xff\x80\n\r", 10);
    Status bin_put = storage.put(p + "binary", binary);
    expectThat(r, "a binary value with NUL bytes round-trips",
               bin_put.ok() && d::valueIs(storage, p + "binary", binary), bin_put.toString());
  }

  // Keys with bytes a naive backend would mangle.
  {
    const std::vector<std::string> odd = {
        "odd/with space", "odd/\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87",
        "odd/%2F",        "odd/a.b-c_d",
        "odd/a/b/c/d",    "odd/a",  // a key that is also a "folder" of another key
        "odd/..a",        "odd/.hidden",
        "odd/tab\there",  "odd/100%"};
    std::string failures;
    for (std::size_t i = 0; i < odd.size(); ++i) {
      const std::string key = p + odd[i];
      const std::string value = "value-" + std::to_string(i);
      Status put = storage.put(key, value);
      if (!put.ok()) {
        failures += " put " + d::inQuotes(odd[i]) + ": " + put.toString() + ";";
      } else if (!d::valueIs(storage, key, value)) {
        failures += " get " + d::inQuotes(odd[i]) + " returned something else;";
      }
    }
    expectThat(r, "keys with spaces, UTF-8, '%', dots and deep levels round-trip", failures.empty(),
               failures);

    std::vector<std::string> expected;
    for (const auto& k : odd) {
      expected.push_back(p + k);
    }
    std::sort(expected.begin(), expected.end());
    auto listed = storage.list(p + "odd/");
    expectThat(r, "list returns odd keys exactly as they were written",
               listed.ok() && *listed == expected,
               listed.ok() ? "got " + d::joinKeys(*listed) + ", expected " + d::joinKeys(expected)
                           : listed.status().toString());
  }

  // Keys every backend must refuse, on every method that takes a key.
  {
    std::string failures;
    for (std::string key :
         {std::string(), std::string("/x"), std::string("x/"), std::string("a//b"),
          std::string("a/../b"), std::string("./a"), std::string("a\0b", 3)}) {
      auto is_invalid = [](const Status& s) { return s.code() == StatusCode::kInvalidArgument; };
      std::string shown = d::inQuotes(key);
      if (!is_invalid(storage.put(key, "x"))) failures += " put " + shown + ";";
      if (!is_invalid(storage.get(key).status())) failures += " get " + shown + ";";
      if (!is_invalid(storage.remove(key))) failures += " remove " + shown + ";";
      if (!is_invalid(storage.compareAndSet(key, std::nullopt, "x").status())) {
        failures += " compareAndSet " + shown + ";";
      }
      if (!is_invalid(storage.openWrite(key).status())) failures += " openWrite " + shown + ";";
    }
    expectThat(r,
               "invalid keys ('', '/x', 'x/', 'a//b', 'a/../b', './a', NUL) give kInvalidArgument",
               failures.empty(), "accepted or wrong code:" + failures);
  }

  // Listing is a sorted, exact byte-prefix match.
  {
    const std::vector<std::string> keys = {"list/p/a",  "list/p/b", "list/p/b/c", "list/p/bc",
                                           "list/p2/x", "list/p-x", "list/p"};
    for (const auto& k : keys) {
      storage.put(p + k, k).ignoreError();
    }
    auto check_list = [&](const std::string& name, const std::string& prefix,
                          std::vector<std::string> want) {
      for (auto& w : want) {
        w = p + w;
      }
      auto got = storage.list(p + prefix);
      expectThat(r, name, got.ok() && *got == want,
                 got.ok() ? "list(" + d::inQuotes(p + prefix) + ") gave " + d::joinKeys(*got) +
                                ", expected " + d::joinKeys(want)
                          : got.status().toString());
    };
    check_list("list by a folder prefix is exact and sorted bytewise", "list/p/",
               {"list/p/a", "list/p/b", "list/p/b/c", "list/p/bc"});
    check_list("list by a partial segment matches bytes, not folders", "list/p/b",
               {"list/p/b", "list/p/b/c", "list/p/bc"});
    check_list(
        "list sorts '-' < '/' < '2' bytewise across levels", "list/p",
        {"list/p", "list/p-x", "list/p/a", "list/p/b", "list/p/b/c", "list/p/bc", "list/p2/x"});
    check_list("list of an unused prefix is empty", "list/q", {});
    auto all = storage.list("");
    bool has_all = all.ok();
    if (all.ok()) {
      for (const auto& k : keys) {
        has_all = has_all && std::binary_search(all->begin(), all->end(), p + k);
      }
    }
    bool sorted = all.ok() && std::is_sorted(all->begin(), all->end());
    expectThat(r, "list(\"\") returns every key, sorted", has_all && sorted,
               !all.ok()  ? all.status().toString()
               : !has_all ? "some keys written under " + d::inQuotes(p) + " are missing"
                          : "the keys are not sorted bytewise");
  }

  // Removal.
  {
    storage.put(p + "gone", "x").ignoreError();
    Status removed = storage.remove(p + "gone");
    auto after = storage.get(p + "gone");
    expectThat(r, "remove deletes the key",
               removed.ok() && after.status().code() == StatusCode::kNotFound,
               removed.ok() ? d::describeResult(after) : removed.toString());
    Status again = storage.remove(p + "gone");
    expectThat(r, "remove of a missing key gives kNotFound", again.code() == StatusCode::kNotFound,
               again.toString());
    auto listed = storage.list(p + "gone");
    expectThat(r, "a removed key is not listed", listed.ok() && listed->empty(),
               d::describeResult(listed));
  }

  // Compare-and-set.
  {
    const std::string key = p + "cas";
    auto created = storage.compareAndSet(key, std::nullopt, "one");
    expectThat(r, "compareAndSet with no expected value creates an absent key",
               created.ok() && *created && d::valueIs(storage, key, "one"),
               d::describeResult(created));
    auto recreated = storage.compareAndSet(key, std::nullopt, "two");
    expectThat(r, "compareAndSet with no expected value fails on an existing key",
               recreated.ok() && !*recreated && d::valueIs(storage, key, "one"),
               d::describeResult(recreated));
    auto swapped = storage.compareAndSet(key, std::string_view("one"), "three");
    expectThat(r, "compareAndSet with the current value sets the new one",
               swapped.ok() && *swapped && d::valueIs(storage, key, "three"),
               d::describeResult(swapped));
    auto wrong = storage.compareAndSet(key, std::string_view("one"), "four");
    expectThat(r, "compareAndSet with a stale value returns false and changes nothing",
               wrong.ok() && !*wrong && d::valueIs(storage, key, "three"),
               d::describeResult(wrong));
    auto empty_expected = storage.compareAndSet(key, std::string_view(""), "five");
    expectThat(r, "an expected empty value is not the same as an absent key",
               empty_expected.ok() && !*empty_expected && d::valueIs(storage, key, "three"),
               d::describeResult(empty_expected));
  }

  // Concurrent compare-and-set increments: none may be lost.
  {
    const std::string key = p + "counter";
    constexpr int kThreads = 8;
    constexpr int kIncrements = 50;
    storage.put(key, "0").ignoreError();
    std::vector<std::string> errors(kThreads);
    {
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&storage, &key, &errors, t] {
          for (int i = 0; i < kIncrements && errors[t].empty(); ++i) {
            for (int attempt = 0;; ++attempt) {
              auto current = storage.get(key);
              if (!current.ok()) {
                errors[t] = current.status().toString();
                break;
              }
              long long number = 0;
              auto parsed =
                  std::from_chars(current->data(), current->data() + current->size(), number);
              if (parsed.ec != std::errc() || parsed.ptr != current->data() + current->size()) {
                errors[t] = "counter holds " + d::inQuotes(*current) + ", not a number";
                break;
              }
              std::string next = std::to_string(number + 1);
              auto set = storage.compareAndSet(key, std::string_view(*current), next);
              if (!set.ok()) {
                errors[t] = set.status().toString();
                break;
              }
              if (*set) {
                break;
              }
              if (attempt > 100000) {
                errors[t] = "compareAndSet never succeeded";
                break;
              }
            }
          }
        });
      }
      for (auto& thread : threads) {
        thread.join();
      }
    }
    std::string detail;
    for (const auto& e : errors) {
      if (!e.empty()) {
        detail += e + "; ";
      }
    }
    auto final_value = storage.get(key);
    const std::string want = std::to_string(kThreads * kIncrements);
    expectThat(r, "8 threads x 50 compare-and-set increments lose no update",
               detail.empty() && final_value.ok() && *final_value == want,
               detail.empty() ? "counter is " + d::describeResult(final_value) +
                                    (final_value.ok() ? " = " + d::inQuotes(*final_value) : "") +
                                    ", expected " + want
                              : detail);
  }

  // Streaming blobs.
  {
    const std::string key = p + "blob";
    std::string data = d::bytePattern(3u << 20 | 12345, 2);
    std::string detail;
    auto writer = storage.openWrite(key);
    if (!writer.ok()) {
      detail = "openWrite: " + writer.status().toString();
    } else {
      for (std::size_t off = 0; off < data.size() && detail.empty(); off += 65536) {
        Status w = (*writer)->write(std::string_view(data).substr(off, 65536));
        if (!w.ok()) {
          detail = "write: " + w.toString();
        }
      }
      if (detail.empty() && storage.get(key).ok()) {
        detail = "the blob was visible before commit()";
      }
      if (detail.empty()) {
        Status c = (*writer)->commit();
        if (!c.ok()) {
          detail = "commit: " + c.toString();
        }
      }
    }
    expectThat(r, "openWrite streams chunks and commit() publishes them", detail.empty(), detail);

    detail.clear();
    auto reader = storage.openRead(key);
    if (!reader.ok()) {
      detail = "openRead: " + reader.status().toString();
    } else {
      std::string back;
      std::vector<char> buffer(100000);
      for (;;) {
        auto n = (*reader)->read(buffer.data(), buffer.size());
        if (!n.ok()) {
          detail = "read: " + n.status().toString();
          break;
        }
        if (*n == 0) {
          break;
        }
        back.append(buffer.data(), *n);
      }
      if (detail.empty() && (*reader)->size() != data.size()) {
        detail = "size() is " + std::to_string((*reader)->size()) + ", expected " +
                 std::to_string(data.size());
      }
      if (detail.empty() && back != data) {
        detail = "read back " + std::to_string(back.size()) + " bytes that differ";
      }
    }
    expectThat(r, "openRead streams back exactly what was committed", detail.empty(), detail);

    auto missing_reader = storage.openRead(p + "no-such-blob");
    expectThat(r, "openRead of a missing key gives kNotFound",
               missing_reader.status().code() == StatusCode::kNotFound,
               missing_reader.status().toString());

    storage.put(key, "old").ignoreError();
    {
      auto abandoned = storage.openWrite(key);
      if (abandoned.ok()) {
        (*abandoned)->write("new bytes that must never appear").ignoreError();
      }
    }
    auto after = storage.get(key);
    expectThat(r, "a writer destroyed without commit() leaves the old value",
               after.ok() && *after == "old",
               after.ok() ? "value is now " + d::inQuotes(after->substr(0, 40))
                          : after.status().toString());
  }

  // Leave nothing behind.
  {
    std::string detail;
    auto keys = storage.list(p);
    if (!keys.ok()) {
      detail = keys.status().toString();
    } else {
      for (const auto& k : *keys) {
        Status s = storage.remove(k);
        if (!s.ok()) {
          detail += s.toString() + "; ";
        }
      }
    }
    auto left = storage.list(p);
    expectThat(r, "removing every key leaves the prefix empty",
               detail.empty() && left.ok() && left->empty(),
               detail.empty()
                   ? d::describeResult(left) + (left.ok() ? " left " + d::joinKeys(*left) : "")
                   : detail);
  }
  return r;
}

}  // namespace aimass::testing
