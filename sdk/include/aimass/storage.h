// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/node.h"
#include "aimass/status.h"

namespace aimass {

/// Checks a storage key: 1..1024 bytes, no NUL, no leading or trailing '/', no empty, "." or
/// ".." segment. Any other byte (spaces, '%', UTF-8) is allowed and backends must store it
/// faithfully. Every backend calls this first so all backends accept the same keys.
inline Status validateStorageKey(std::string_view key) {
  if (key.empty()) {
    return invalidArgument("storage key is empty");
  }
  if (key.size() > 1024) {
    return invalidArgument("storage key is longer than 1024 bytes");
  }
  if (key.find('\0') != std::string_view::npos) {
    return invalidArgument("storage key contains a NUL byte");
  }
  if (key.front() == '/' || key.back() == '/') {
    return invalidArgument("storage key '" + std::string(key) + "' starts or ends with '/'");
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    auto end = key.find('/', start);
    if (end == std::string_view::npos) {
      end = key.size();
    }
    auto seg = key.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return invalidArgument("storage key '" + std::string(key) +
                             "' has an empty, '.' or '..' segment");
    }
    start = end + 1;
  }
  return Status();
}

/// Writes one blob in chunks. Nothing is visible to readers until commit() succeeds; a writer
/// destroyed without commit() leaves the old value (if any) untouched.
/// Threading: one thread at a time.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  /// Appends bytes. kResourceExhausted when the disk or quota is full.
  virtual Status write(std::string_view chunk) = 0;
  /// Atomically replaces the key's value with everything written. Call at most once.
  virtual Status commit() = 0;
};

/// Reads one blob in chunks from a consistent snapshot taken when it was opened.
/// Threading: one thread at a time.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  /// Total size in bytes.
  virtual std::uint64_t size() const = 0;
  /// Reads up to `n` bytes into `buffer`; returns how many (0 at the end).
  virtual Expected<std::size_t> read(char* buffer, std::size_t n) = 0;
};

/// A key-value store for records (small values, compare-and-set) and blobs (large values,
/// streamed). The registry, tracking and model artifacts are written once in core on top of
/// this interface, so every backend gets them.
///
/// Keys follow validateStorageKey(); '/' separates levels for list(). Values are arbitrary bytes.
///
/// Threading: every method is safe to call from many threads at once, and backends that share
/// a location between processes (files, databases) keep their guarantees across processes.
/// Atomicity: put(), remove() and compareAndSet() are atomic: a reader sees the old value or
/// the new one, never a mix, even if the process is killed midway.
class Storage : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kStorage; }

  /// A short description for logs and errors, e.g. "fs:/var/lib/aimass".
  virtual std::string describe() const = 0;

  /// Stores `value` under `key`, replacing any old value atomically.
  virtual Status put(std::string_view key, std::string_view value) = 0;
  /// The value under `key`; kNotFound when absent.
  virtual Expected<std::string> get(std::string_view key) const = 0;
  /// Every key starting with `prefix` (a plain byte prefix; "" lists all), sorted bytewise.
  virtual Expected<std::vector<std::string>> list(std::string_view prefix) const = 0;
  /// Deletes `key`; kNotFound when absent.
  virtual Status remove(std::string_view key) = 0;
  /// Sets `key` to `desired` only if its current value equals `expected` (or, when `expected`
  /// is nullopt, only if the key is absent). Returns true when it was set, false when the
  /// current value differed; the check and the write are one atomic step.
  virtual Expected<bool> compareAndSet(std::string_view key,
                                       std::optional<std::string_view> expected,
                                       std::string_view desired) = 0;

  /// Opens a streaming writer for a large value. The default buffers in memory and calls
  /// put() on commit; backends that can stream override it.
  virtual Expected<std::unique_ptr<BlobWriter>> openWrite(std::string_view key);
  /// Opens a streaming reader. The default reads the whole value with get().
  virtual Expected<std::unique_ptr<BlobReader>> openRead(std::string_view key) const;
};

namespace detail {
class BufferedBlobWriter final : public BlobWriter {
 public:
  BufferedBlobWriter(Storage& storage, std::string key) : storage_(storage), key_(std::move(key)) {}
  Status write(std::string_view chunk) override {
    return guard("blob write", [&] { buffer_.append(chunk); });
  }
  Status commit() override {
    if (committed_) {
      return failedPrecondition("blob '" + key_ + "' was already committed");
    }
    committed_ = true;
    return storage_.put(key_, buffer_);
  }

 private:
  Storage& storage_;
  std::string key_;
  std::string buffer_;
  bool committed_ = false;
};

class BufferedBlobReader final : public BlobReader {
 public:
  explicit BufferedBlobReader(std::string data) : data_(std::move(data)) {}
  std::uint64_t size() const override { return data_.size(); }
  Expected<std::size_t> read(char* buffer, std::size_t n) override {
    std::size_t k = std::min(n, data_.size() - offset_);
    data_.copy(buffer, k, offset_);
    offset_ += k;
    return k;
  }

 private:
  std::string data_;
  std::size_t offset_ = 0;
};
}  // namespace detail

inline Expected<std::unique_ptr<BlobWriter>> Storage::openWrite(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  return std::unique_ptr<BlobWriter>(
      std::make_unique<detail::BufferedBlobWriter>(*this, std::string(key)));
}

inline Expected<std::unique_ptr<BlobReader>> Storage::openRead(std::string_view key) const {
  auto value = get(key);
  if (!value.ok()) {
    return value.status();
  }
  return std::unique_ptr<BlobReader>(
      std::make_unique<detail::BufferedBlobReader>(std::move(value).value()));
}

}  // namespace aimass
