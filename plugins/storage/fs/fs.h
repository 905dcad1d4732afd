// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/storage.h"

namespace aimass::plugins::storage {

/// Storage in a local directory, safe to share between threads and between processes on the
/// same machine.
///
/// Layout under the root folder:
///   data/   one file per key: each '/'-separated segment of the key is escaped (bytes outside
///           [A-Za-z0-9_-] become %XX, so names never contain '.', '/' or hidden-file dots) and
///           the value file gets the suffix ".val" (so "a" and "a/b" can both exist)
///   tmp/    values being written; renamed into data/ when complete
///   lock    the file flock()ed around compare-and-set, remove and renames
///
/// Atomicity: a value is written to tmp/, flushed (fsync, when enabled) and rename()d over the
/// old file, then the folder is fsynced. Readers and a process killed midway therefore see the
/// old value or the new one, never a mix. compareAndSet() and remove() hold a process-wide
/// mutex and an exclusive flock on `lock`; put() and commits hold them shared, so a put cannot
/// land between a compareAndSet's compare and its write, in this process or another.
///
/// Threading: every method may be called from many threads at once. Writers and readers from
/// openWrite()/openRead() are used by one thread at a time and must not outlive the storage.
///
/// Failures: OS errors come back as a Status naming the key, the file and the OS message:
/// kNotFound (missing key), kPermissionDenied (EACCES, EPERM, EROFS), kResourceExhausted
/// (ENOSPC, EDQUOT), kInternal otherwise.
class FsStorage final : public Storage {
 public:
  /// Opens (creating if needed, with parents) the storage folder `root`. `fsync` false skips
  /// the flushes: faster, but a power loss may lose recent writes (a crash of the process
  /// alone still cannot tear a value). Removes temporary files older than an hour that a
  /// killed writer left behind. kInvalidArgument when `root` is empty or is not a folder,
  /// kPermissionDenied when it cannot be created or written; both name the path and the OS
  /// error.
  static Expected<std::unique_ptr<FsStorage>> create(const std::filesystem::path& root, bool fsync);

  ~FsStorage() override;

  /// "fs:/absolute/root"
  std::string describe() const override;
  Status put(std::string_view key, std::string_view value) override;
  Expected<std::string> get(std::string_view key) const override;
  Expected<std::vector<std::string>> list(std::string_view prefix) const override;
  Status remove(std::string_view key) override;
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override;
  /// Streams into a temporary file; commit() renames it over the key's file.
  Expected<std::unique_ptr<BlobWriter>> openWrite(std::string_view key) override;
  /// Reads from the key's file opened now: later replacements do not affect the reader.
  Expected<std::unique_ptr<BlobReader>> openRead(std::string_view key) const override;

  /// The absolute root folder.
  const std::filesystem::path& root() const noexcept { return root_; }
  /// The file that holds (or would hold) `key`'s value; `key` must be valid.
  std::filesystem::path pathForKey(std::string_view key) const;

  /// One key segment as a file name part: bytes outside [A-Za-z0-9_-] become "%XX".
  static std::string escapeSegment(std::string_view segment);
  /// The inverse of escapeSegment(); nullopt for names it could not have produced.
  static std::optional<std::string> unescapeSegment(std::string_view name);

  /// The suffix of value files in data/.
  static constexpr std::string_view kValueSuffix = ".val";

 private:
  class RootLock;
  class FileWriter;
  class FileReader;
  struct TempFile {
    int fd = -1;
    std::filesystem::path path;
  };

  FsStorage(std::filesystem::path root, bool fsync,
            std::shared_ptr<std::shared_mutex> process_mutex);

  Expected<RootLock> lock(bool exclusive) const;
  Expected<TempFile> createTempFile(std::string_view key) const;
  /// Writes `value` to a fresh temporary file, flushed when fsync is on; closes it.
  Expected<std::filesystem::path> writeTempFile(std::string_view key, std::string_view value) const;
  /// Renames `temp` to `key`'s file, creating folders; the caller holds the lock (any mode).
  Status publish(std::string_view key, const std::filesystem::path& temp) const;
  /// Creates every missing folder from data/ down to `dir`, flushing parents of new ones.
  Status ensureFolders(const std::filesystem::path& dir) const;
  Status syncFolder(const std::filesystem::path& dir) const;
  void removeStaleTempFiles() const;

  std::filesystem::path root_;
  std::filesystem::path data_dir_;
  std::filesystem::path tmp_dir_;
  std::filesystem::path lock_path_;
  bool fsync_;
  std::shared_ptr<std::shared_mutex> process_mutex_;
};

}  // namespace aimass::plugins::storage
