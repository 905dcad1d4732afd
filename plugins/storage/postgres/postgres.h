// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/storage.h"
#include "aimass/storage_uri.h"

namespace Poco::Data {
class Session;
}

namespace aimass::plugins::storage {

/// Where and how to connect: the parameters of storage.postgres.
struct PostgresOptions {
  /// A libpq connection URI, postgresql://USER@HOST:PORT/DATABASE[?option=value...]. Must not
  /// hold a password.
  std::string uri;
  /// Name of the environment variable holding the password; empty leaves it to libpq
  /// (PGPASSWORD, ~/.pgpass, or no password).
  std::string password_env;
  /// Connections kept open for reuse (more are opened while many threads are busy at once).
  std::int64_t pool_size = 4;
  /// Seconds to wait for a connection to the server before failing with kUnavailable.
  std::int64_t connect_timeout_s = 5;
};

/// The parameters of storage.postgres for `--storage postgresql://USER@HOST:PORT/DATABASE`
/// (postgres:// too): `uri` is the URI without the options this node takes itself
/// (password_env, pool_size, connect_timeout_s), which become parameters; every other query
/// option (sslmode=require, ...) stays in `uri` for libpq. kInvalidArgument for a URI without
/// "//", a server or a database.
Expected<std::vector<std::pair<std::string, std::string>>> postgresUriParams(
    const StorageUriParts& uri);

/// storage.postgres: records and blobs in a PostgreSQL database, through Poco::Data::PostgreSQL.
///
/// Schema (see kSchemaVersion): the same versions as storage.sqlite. `schema_version(version)`
/// records which migrations ran; version 1 created `records(key BYTEA PRIMARY KEY, value BYTEA
/// NOT NULL)`, version 2 added `records.blob_id` with `blob_chunks(blob_id, seq, data)` for values
/// written through openWrite(), and `blob_uploads(blob_id, created_at)` for uploads not yet
/// committed. Keys are BYTEA so every byte a key may hold is stored faithfully and sorts bytewise,
/// whatever the database's encoding and collation. Opening runs the missing migrations in one
/// transaction under an advisory lock (so two processes opening a new database at once do not
/// race); a database newer than this plugin is refused.
///
/// Every change runs in one transaction that first locks the key's row (`SELECT ... FOR UPDATE`),
/// so put(), remove(), compareAndSet() and a blob's commit are atomic across threads, processes
/// and machines, and a client killed midway leaves the old state (the server rolls back).
///
/// Blobs written through openWrite() are stored in chunks of kChunkBytes on the writer's own
/// connection, which holds an advisory lock on the upload; an upload whose lock is free (its
/// writer died) is removed when the store is next opened. Readers take a REPEATABLE READ
/// snapshot on their own connection and fetch one chunk at a time.
///
/// Connections come from a pool of at most `pool_size` idle connections. A connection found
/// broken (the server restarted) is dropped with every idle one; a call that failed on a reused
/// connection before anything could have been committed is retried once on a fresh one, so the
/// first call after the server is back succeeds. While the server is down calls fail with
/// kUnavailable naming the server. Errors name the server as postgresql://USER@HOST:PORT/DB.
///
/// Threading: every method is safe from many threads; one connection is never used by two
/// threads at once.
class PostgresStorage final : public Storage {
 public:
  /// Bytes per stored chunk of a streamed blob.
  static constexpr std::size_t kChunkBytes = 256 * 1024;
  /// The schema version this plugin creates and understands.
  static constexpr int kSchemaVersion = 2;
  /// The query list(prefix) runs, with $1 = the prefix and $2 = prefixUpperBound(prefix), both
  /// BYTEA: a range on the primary key's index, never a scan. Exposed so tests and
  /// bench/registry.cc can EXPLAIN the very query.
  static constexpr const char* kListRangeSql =
      "SELECT key FROM records WHERE key >= $1 AND key < $2 ORDER BY key";

  /// Connects and migrates. kInvalidArgument for a malformed URI, a URI holding a password or an
  /// unset password variable; kUnavailable when the server cannot be reached; kPermissionDenied
  /// when it refuses the credentials; kFailedPrecondition for a newer schema.
  static Expected<std::unique_ptr<PostgresStorage>> create(const PostgresOptions& options);
  ~PostgresStorage() override;

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

  /// A connection borrowed from the pool; returned to it when destroyed, unless broken.
  class Lease;
  /// One attempt of a call: its connection, and whether COMMIT was sent (then a lost
  /// connection leaves the outcome unknown and the call is not retried).
  struct Attempt;

 private:
  PostgresStorage(std::string connection_string, std::string display, std::size_t pool_size);

  /// A pooled connection (`reused` says whether it came from the pool) or a fresh one.
  Expected<Lease> lease(bool allow_reuse = true) const;
  /// Runs `fn(Attempt&)` on a leased connection, turning exceptions into a Status that names
  /// the server and `what`; retries once on a fresh connection as the class comment says. On
  /// success, `keep` (when given) receives the connection instead of the pool.
  template <typename Fn>
  Status run(std::string_view what, Fn&& fn, std::optional<Lease>* keep = nullptr) const;
  /// Runs `fn(Attempt&)` once on `session`. When the connection broke, drops it with every idle
  /// one and sets `*retryable` (if given) when nothing can have been committed on a reused one.
  template <typename Fn>
  Status attempt(Lease& session, std::string_view what, Fn&& fn, bool* retryable) const;
  /// `what` failed because of the exception being handled.
  Status fromException(std::string_view what) const;
  void dropIdleConnections() const;
  Status migrate();
  Status cleanAbandonedUploads();

  friend class PostgresBlobWriter;
  friend class PostgresBlobReader;

  const std::string connection_string_;  // libpq key=value string, password included
  const std::string display_;            // postgresql://USER@HOST:PORT/DB, for messages
  const std::size_t pool_size_;
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<Poco::Data::Session>> idle_;
};

/// Turns `options` into a libpq key=value connection string and the server's display name
/// (postgresql://USER@HOST:PORT/DB). Exposed for tests. kInvalidArgument for a URI libpq cannot
/// parse, one holding a password, or a password variable that is not set.
Expected<std::pair<std::string, std::string>> postgresConnection(const PostgresOptions& options);

}  // namespace aimass::plugins::storage
