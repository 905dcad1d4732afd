// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/storage.h"

namespace aimass::plugins::storage {

/// One pooled SQLite connection with its prepared statements (defined in sqlite.cc).
class SqliteConnection;

/// storage.sqlite: the embedded default store, one SQLite database file through Poco::Data.
///
/// Schema (see kSchemaVersion and migrate()): `schema_version(version)` records which migrations
/// ran; version 1 created `records(key TEXT PRIMARY KEY, value BLOB NOT NULL)`, version 2 added
/// `records.blob_id` with `blob_chunks(blob_id, seq, data)` for values written through
/// openWrite(), and `blob_uploads(blob_id, pid, created_at)` for uploads not yet committed.
/// Opening a database runs the missing migrations in one transaction; a database newer than this
/// plugin is refused.
///
/// The database runs in WAL mode, so readers never block the writer and see a consistent
/// snapshot. Every change that touches more than one row, and every compare-and-set that is not
/// one statement, runs in one `BEGIN IMMEDIATE` transaction; a process killed at any point leaves
/// the old or the new state.
/// `synchronous=NORMAL`: a crashed process loses nothing, a power loss may lose the latest
/// commits but never corrupts the file. Writers from other connections and processes wait up to
/// `busy_timeout_ms` for the write lock, then fail with kUnavailable.
///
/// Keys compare bytewise (TEXT with the BINARY collation); list() is an index range query.
/// Blobs written through openWrite() are stored in chunks of kChunkBytes, so neither writing nor
/// reading them holds the whole value in memory.
///
/// Record operations run statements prepared once per connection through the SQLite C API on
/// the connection's handle. put(), remove() and compareAndSet() of a record held inline are one
/// self-committing statement (an upsert, a conditional UPDATE or DELETE); when the key holds a
/// streamed blob, or the one-statement form did not apply, they fall back to the read, write
/// and chunk clean-up in one `BEGIN IMMEDIATE` transaction. get() of an inline record is one
/// SELECT; a streamed blob is read inside one read transaction.
///
/// Threading: every method is safe from many threads; each call borrows a connection from a
/// small pool (one connection is never used by two threads at once). Errors name the file.
class SqliteStorage final : public Storage {
 public:
  /// Bytes per stored chunk of a streamed blob.
  static constexpr std::size_t kChunkBytes = 256 * 1024;
  /// The schema version this plugin creates and understands.
  static constexpr int kSchemaVersion = 2;
  /// The query list(prefix) runs, with ? = the prefix and prefixUpperBound(prefix): a range on
  /// the primary key's index, never a scan. Exposed so tests and bench/registry.cc can EXPLAIN
  /// the very query.
  static constexpr const char* kListRangeSql =
      "SELECT key FROM records WHERE key >= ? AND key < ? ORDER BY key";

  /// Opens (creating it and its parent folders when missing) the database at `path` and
  /// migrates it. kInvalidArgument for an empty path or a folder in the way, kPermissionDenied
  /// when the folder or file may not be written, kFailedPrecondition for a newer schema,
  /// kUnavailable when another process holds the write lock longer than `busy_timeout_ms`.
  static Expected<std::unique_ptr<SqliteStorage>> create(const std::filesystem::path& path,
                                                         std::int64_t busy_timeout_ms);
  ~SqliteStorage() override;

  std::string describe() const override;
  Status put(std::string_view key, std::string_view value) override;
  Expected<std::string> get(std::string_view key) const override;
  Expected<std::vector<std::string>> list(std::string_view prefix) const override;
  Status remove(std::string_view key) override;
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override;
  Expected<std::unique_ptr<BlobWriter>> openWrite(std::string_view key) override;
  Expected<std::unique_ptr<BlobReader>> openRead(std::string_view key) const override;

  /// The schema version recorded in the database.
  Expected<int> schemaVersion() const;
  /// Runs `PRAGMA integrity_check`; kDataLoss with SQLite's report when it is not "ok".
  Status integrityCheck() const;
  /// The value of `PRAGMA <name>` on a connection of the pool, as text: "journal_mode" is "wal",
  /// "synchronous" is "1" (NORMAL). Every connection is opened with the same settings; tests
  /// read them here because the durability promised above rests on them. kInvalidArgument for
  /// a name that is not 1..64 of [a-z_].
  Expected<std::string> pragma(std::string_view name) const;

  /// A connection borrowed from the pool; returned to it when destroyed.
  class Lease;

 private:
  SqliteStorage(std::filesystem::path path, std::int64_t busy_timeout_ms);

  Expected<Lease> lease() const;
  Status migrate();
  Status migrateOnce();
  Status cleanAbandonedUploads();
  /// `what` on this store failed because of the exception being handled.
  Status fromException(std::string_view what) const;
  template <typename Fn>
  Status run(std::string_view what, Fn&& fn) const;
  /// run() for an operation on one key (or prefix); the error's "<verb> '<key>'" is built only
  /// when it fails.
  template <typename Fn>
  Status runOnKey(std::string_view verb, std::optional<std::string_view> key, Fn&& fn) const;

  friend class SqliteBlobWriter;
  friend class SqliteBlobReader;

  const std::filesystem::path path_;
  const std::int64_t busy_timeout_ms_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<SqliteConnection>> idle_;
};

/// The smallest string greater than every string starting with `prefix`, or nullopt when there
/// is none (empty prefix or all 0xff bytes). Exposed for tests.
std::optional<std::string> prefixUpperBound(std::string_view prefix);

}  // namespace aimass::plugins::storage
