// SPDX-License-Identifier: Apache-2.0
#include "sqlite.h"

#include <Poco/Data/LOB.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <utility>

#include "aimass/util/chunked_blob_writer.h"

namespace aimass::plugins::storage {

namespace fs = std::filesystem;
using namespace Poco::Data::Keywords;
using Poco::Data::Session;

namespace {

Poco::Data::BLOB toBlob(std::string_view bytes) {
  return Poco::Data::BLOB(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

void appendBlob(std::string& out, const Poco::Data::BLOB& blob) {
  if (blob.size() != 0) {
    out.append(reinterpret_cast<const char*>(blob.rawContent()), blob.size());
  }
}

// Migration N brings the schema from version N-1 to N. Never edit one that has shipped; add the
// next instead.
const std::vector<std::vector<const char*>> kMigrations = {
    // 1: keyed records.
    {"CREATE TABLE records (key TEXT PRIMARY KEY, value BLOB NOT NULL)"},
    // 2: streamed blobs in chunks, and the uploads still being written.
    {"ALTER TABLE records ADD COLUMN blob_id INTEGER",
     "CREATE TABLE blob_chunks (blob_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
     "data BLOB NOT NULL, PRIMARY KEY (blob_id, seq))",
     "CREATE TABLE blob_uploads (blob_id INTEGER PRIMARY KEY AUTOINCREMENT, "
     "pid INTEGER NOT NULL, created_at INTEGER NOT NULL)"},
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an error or exception
/// midway), so a failed multi-row change leaves nothing behind.
class WriteTransaction {
 public:
  explicit WriteTransaction(Session& session) : session_(session) {
    session_ << "BEGIN IMMEDIATE", now;
  }
  ~WriteTransaction() {
    if (!done_) {
      try {
        session_ << "ROLLBACK", now;
      } catch (...) {
        // The connection is closed or the transaction already rolled back: nothing to undo.
      }
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit() {
    session_ << "COMMIT", now;
    done_ = true;
  }

 private:
  Session& session_;
  bool done_ = false;
};

/// A read snapshot: BEGIN (deferred) ... COMMIT; in WAL mode it never blocks writers.
class ReadTransaction {
 public:
  explicit ReadTransaction(Session& session) : session_(session) { session_ << "BEGIN", now; }
  ~ReadTransaction() {
    try {
      session_ << "COMMIT", now;
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing was written, nothing to lose
    }
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Session& session_;
};

/// The row of `key`: whether it exists, its inline value and its blob id (0 when inline).
struct Row {
  bool found = false;
  Poco::Data::BLOB value;
  Poco::Int64 blob_id = 0;
};

Row readRow(Session& session, std::string key) {
  Row row;
  Poco::Nullable<Poco::Int64> blob_id;
  Poco::Data::Statement select(session);
  select << "SELECT value, blob_id FROM records WHERE key = ?", into(row.value), into(blob_id),
      use(key);
  row.found = select.execute() > 0;
  row.blob_id = blob_id.isNull() ? 0 : blob_id.value();
  return row;
}

/// The row's full value, reading a streamed blob's chunks one by one.
std::string rowValue(Session& session, const Row& row) {
  std::string out;
  if (row.blob_id == 0) {
    appendBlob(out, row.value);
    return out;
  }
  Poco::Int64 blob_id = row.blob_id;
  Poco::Int64 total = 0;
  session << "SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks WHERE blob_id = ?",
      into(total), use(blob_id), now;
  out.reserve(static_cast<std::size_t>(total));
  Poco::Data::BLOB chunk;
  Poco::Data::Statement select(session);
  select << "SELECT data FROM blob_chunks WHERE blob_id = ? ORDER BY seq", into(chunk),
      use(blob_id), range(0, 1);
  while (!select.done()) {
    if (select.execute() > 0) {
      appendBlob(out, chunk);
    }
  }
  return out;
}

void deleteChunks(Session& session, Poco::Int64 blob_id) {
  if (blob_id != 0) {
    session << "DELETE FROM blob_chunks WHERE blob_id = ?", use(blob_id), now;
  }
}

/// Replaces `key`'s row with an inline value, dropping the chunks of a blob it held.
void writeInline(Session& session, const Row& old, std::string key, std::string_view value) {
  Poco::Data::BLOB blob = toBlob(value);
  // Poco binds an empty BLOB as NULL; the column is NOT NULL, so store it as X''.
  session << "INSERT OR REPLACE INTO records (key, value, blob_id) VALUES (?, COALESCE(?, X''), "
             "NULL)",
      use(key), use(blob), now;
  deleteChunks(session, old.blob_id);
}

}  // namespace

class SqliteStorage::Lease {
 public:
  Lease(const SqliteStorage& owner, std::unique_ptr<Session> session)
      : owner_(&owner), session_(std::move(session)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease() {
    if (session_ != nullptr) {
      std::lock_guard lock(owner_->pool_mutex_);
      owner_->idle_.push_back(std::move(session_));
    }
  }
  Session& operator*() const { return *session_; }

 private:
  const SqliteStorage* owner_;
  std::unique_ptr<Session> session_;
};

template <typename Fn>
Status SqliteStorage::run(std::string_view what, Fn&& fn) const {
  try {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn>, Status>) {
      return fn();
    } else {
      fn();
      return Status();
    }
  } catch (...) {
    return fromException(what);
  }
}

Status SqliteStorage::fromException(std::string_view what) const {
  const std::string where = "sqlite:" + path_.string() + ": " + std::string(what);
  try {
    throw;
  } catch (const Poco::Data::SQLite::DBLockedException& e) {
    return unavailable(where + ": the database stayed locked by another writer for " +
                       std::to_string(busy_timeout_ms_) + " ms (" + e.displayText() + ")");
  } catch (const Poco::Data::SQLite::TableLockedException& e) {
    return unavailable(where + ": " + e.displayText());
  } catch (const Poco::Data::SQLite::DatabaseFullException& e) {
    return resourceExhausted(where + ": " + e.displayText());
  } catch (const Poco::Data::SQLite::ReadOnlyException& e) {
    return permissionDenied(where + ": the database is read-only (" + e.displayText() + ")");
  } catch (const Poco::Data::SQLite::CorruptImageException& e) {
    return dataLoss(where + ": " + e.displayText());
  } catch (const Poco::Exception& e) {
    return internalError(where + ": " + e.displayText());
  } catch (const std::bad_alloc&) {
    return resourceExhausted(where + ": out of memory");
  } catch (const std::exception& e) {
    return internalError(where + ": " + e.what());
  } catch (...) {
    return internalError(where + ": unknown exception");
  }
}

SqliteStorage::SqliteStorage(fs::path path, std::int64_t busy_timeout_ms)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

SqliteStorage::~SqliteStorage() = default;

Expected<SqliteStorage::Lease> SqliteStorage::lease() const {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto session = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(session));
    }
  }
  std::unique_ptr<Session> session;
  Status opened = run("opening the database", [&] {
    session = std::make_unique<Session>("SQLite", path_.string());
    *session << "PRAGMA busy_timeout = " + std::to_string(busy_timeout_ms_), now;
    *session << "PRAGMA synchronous = NORMAL", now;
  });
  if (!opened.ok()) {
    return opened;
  }
  return Lease(*this, std::move(session));
}

Expected<std::unique_ptr<SqliteStorage>> SqliteStorage::create(const fs::path& path,
                                                               std::int64_t busy_timeout_ms) {
  if (path.empty()) {
    return invalidArgument("storage.sqlite: the database path is empty");
  }
  std::error_code ec;
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      const std::string message = "sqlite:" + path.string() + ": cannot create the folder '" +
                                  path.parent_path().string() + "': " + ec.message();
      return ec == std::errc::permission_denied ? permissionDenied(message)
                                                : invalidArgument(message);
    }
  }
  if (fs::is_directory(path, ec)) {
    return invalidArgument("sqlite:" + path.string() + ": is a folder, not a database file");
  }
  // SQLite reports a file it may not create as "unable to open database file"; ask the OS
  // first so the error says why.
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const bool exists = fs::exists(path, ec);
  if (::access(exists ? path.c_str() : folder.c_str(), W_OK) != 0) {
    const int error = errno;
    return permissionDenied(
        "sqlite:" + path.string() + ": cannot write " +
        (exists ? "the database file" : "the folder '" + folder.string() + "'") + ": " +
        std::strerror(error));
  }
  Status registered = guard("storage.sqlite: registering the SQLite connector",
                            [] { Poco::Data::SQLite::Connector::registerConnector(); });
  if (!registered.ok()) {
    return registered;
  }
  std::unique_ptr<SqliteStorage> storage(new SqliteStorage(path, busy_timeout_ms));
  AIMASS_RETURN_IF_ERROR(storage->migrate());
  AIMASS_RETURN_IF_ERROR(storage->cleanAbandonedUploads());
  return storage;
}

Status SqliteStorage::migrate() {
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  return run("migrating the schema", [&]() -> Status {
    Session& s = *session;
    // WAL cannot be switched on inside a transaction; it is a property of the file and sticks.
    std::string mode;
    s << "PRAGMA journal_mode = WAL", into(mode), now;
    if (mode != "wal") {
      return failedPrecondition("sqlite:" + path_.string() +
                                ": cannot switch to WAL mode (journal mode is '" + mode + "')");
    }
    WriteTransaction transaction(s);
    s << "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", now;
    int current = 0;
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(current), now;
    if (current > kSchemaVersion) {
      return failedPrecondition("sqlite:" + path_.string() + ": the database has schema version " +
                                std::to_string(current) + ", newer than this plugin's " +
                                std::to_string(kSchemaVersion) + "; upgrade storage.sqlite");
    }
    for (int version = current + 1; version <= kSchemaVersion; ++version) {
      for (const char* sql : kMigrations[version - 1]) {
        s << sql, now;
      }
    }
    if (current < kSchemaVersion) {
      int version = kSchemaVersion;
      s << "DELETE FROM schema_version", now;
      s << "INSERT INTO schema_version (version) VALUES (?)", use(version), now;
    }
    transaction.commit();
    return Status();
  });
}

Status SqliteStorage::cleanAbandonedUploads() {
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  return run("removing abandoned uploads", [&] {
    Session& s = *session;
    std::vector<Poco::Int64> ids;
    std::vector<Poco::Int64> pids;
    s << "SELECT blob_id, pid FROM blob_uploads", into(ids), into(pids), now;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      // Only uploads whose writer process is gone: a live process may still commit its own.
      if (::kill(static_cast<pid_t>(pids[i]), 0) == 0 || errno != ESRCH) {
        continue;
      }
      WriteTransaction transaction(s);
      deleteChunks(s, ids[i]);
      s << "DELETE FROM blob_uploads WHERE blob_id = ?", use(ids[i]), now;
      transaction.commit();
    }
  });
}

std::string SqliteStorage::describe() const { return "sqlite:" + path_.string(); }

Status SqliteStorage::put(std::string_view key, std::string_view value) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  return run("put '" + std::string(key) + "'", [&] {
    WriteTransaction transaction(*session);
    Row old = readRow(*session, std::string(key));
    writeInline(*session, old, std::string(key), value);
    transaction.commit();
  });
}

Expected<std::string> SqliteStorage::get(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  std::string value;
  Status status = run("get '" + std::string(key) + "'", [&]() -> Status {
    ReadTransaction snapshot(*session);
    Row row = readRow(*session, std::string(key));
    if (!row.found) {
      return notFound("key '" + std::string(key) + "' not found in " + describe());
    }
    value = rowValue(*session, row);
    return Status();
  });
  if (!status.ok()) {
    return status;
  }
  return value;
}

std::optional<std::string> prefixUpperBound(std::string_view prefix) {
  std::string bound(prefix);
  while (!bound.empty() && static_cast<unsigned char>(bound.back()) == 0xff) {
    bound.pop_back();
  }
  if (bound.empty()) {
    return std::nullopt;
  }
  bound.back() = static_cast<char>(static_cast<unsigned char>(bound.back()) + 1);
  return bound;
}

Expected<std::vector<std::string>> SqliteStorage::list(std::string_view prefix) const {
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  std::vector<std::string> keys;
  Status status = run("list '" + std::string(prefix) + "'", [&] {
    // A range on the primary key's index, never a LIKE scan.
    std::string low(prefix);
    auto high = prefixUpperBound(prefix);
    if (high) {
      *session << kListRangeSql, into(keys), use(low), use(*high), now;
    } else {
      *session << "SELECT key FROM records WHERE key >= ? ORDER BY key", into(keys), use(low), now;
    }
  });
  if (!status.ok()) {
    return status;
  }
  return keys;
}

Status SqliteStorage::remove(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  return run("remove '" + std::string(key) + "'", [&]() -> Status {
    WriteTransaction transaction(*session);
    std::string k(key);
    Row old = readRow(*session, k);
    if (!old.found) {
      return notFound("key '" + k + "' not found in " + describe());
    }
    *session << "DELETE FROM records WHERE key = ?", use(k), now;
    deleteChunks(*session, old.blob_id);
    transaction.commit();
    return Status();
  });
}

Expected<bool> SqliteStorage::compareAndSet(std::string_view key,
                                            std::optional<std::string_view> expected,
                                            std::string_view desired) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  bool set = false;
  Status status = run("compare-and-set '" + std::string(key) + "'", [&] {
    // The write lock is taken first, so nothing can change between the read and the write.
    WriteTransaction transaction(*session);
    Row old = readRow(*session, std::string(key));
    const bool matches = expected ? old.found && rowValue(*session, old) == *expected : !old.found;
    if (matches) {
      writeInline(*session, old, std::string(key), desired);
      transaction.commit();
      set = true;
    }
  });
  if (!status.ok()) {
    return status;
  }
  return set;
}

Expected<int> SqliteStorage::schemaVersion() const {
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  int version = 0;
  Status status = run("reading the schema version", [&] {
    *session << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(version), now;
  });
  if (!status.ok()) {
    return status;
  }
  return version;
}

Status SqliteStorage::integrityCheck() const {
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  return run("integrity check", [&]() -> Status {
    std::vector<std::string> report;
    *session << "PRAGMA integrity_check", into(report), now;
    if (report.size() == 1 && report[0] == "ok") {
      return Status();
    }
    std::string joined;
    for (const auto& line : report) {
      joined += (joined.empty() ? "" : "; ") + line;
    }
    return dataLoss("sqlite:" + path_.string() + ": integrity check failed: " + joined);
  });
}

/// Streams chunks into blob_chunks under a fresh upload id (auto-committed one chunk at a time,
/// invisible to readers: no record points at it yet); commit() points the key at it in one
/// transaction. Abandoned uploads are deleted by the destructor, or, after a crash, when the
/// store is next opened.
class SqliteBlobWriter final : public ChunkedBlobWriter {
 public:
  SqliteBlobWriter(SqliteStorage& storage, std::string key, Poco::Int64 blob_id)
      : ChunkedBlobWriter(std::move(key), SqliteStorage::kChunkBytes),
        storage_(storage),
        blob_id_(blob_id) {}

  ~SqliteBlobWriter() override {
    if (committed()) {
      return;
    }
    auto session = storage_.lease();
    if (session.ok()) {
      storage_
          .run("discarding an abandoned upload",
               [&] {
                 WriteTransaction transaction(**session);
                 deleteChunks(**session, blob_id_);
                 **session << "DELETE FROM blob_uploads WHERE blob_id = ?", use(blob_id_), now;
                 transaction.commit();
               })
          .ignoreError();  // the next open removes it
    }
  }

 private:
  Status storeChunk(std::int64_t seq, std::string_view chunk) override {
    AIMASS_ASSIGN_OR_RETURN(auto session, storage_.lease());
    return storage_.run("writing blob '" + key() + "'", [&] {
      Poco::Data::BLOB data = toBlob(chunk);
      Poco::Int64 number = seq;
      *session << "INSERT INTO blob_chunks (blob_id, seq, data) VALUES (?, ?, COALESCE(?, X''))",
          use(blob_id_), use(number), use(data), now;
    });
  }

  Status storeCommit() override {
    AIMASS_ASSIGN_OR_RETURN(auto session, storage_.lease());
    return storage_.run("committing blob '" + key() + "'", [&] {
      Session& s = *session;
      WriteTransaction transaction(s);
      Row old = readRow(s, key());
      std::string key_text = key();
      s << "INSERT OR REPLACE INTO records (key, value, blob_id) VALUES (?, X'', ?)", use(key_text),
          use(blob_id_), now;
      deleteChunks(s, old.blob_id);
      s << "DELETE FROM blob_uploads WHERE blob_id = ?", use(blob_id_), now;
      transaction.commit();
    });
  }

  SqliteStorage& storage_;
  Poco::Int64 blob_id_;
};

Expected<std::unique_ptr<BlobWriter>> SqliteStorage::openWrite(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  Poco::Int64 blob_id = 0;
  AIMASS_RETURN_IF_ERROR(run("opening blob '" + std::string(key) + "' for writing", [&] {
    WriteTransaction transaction(*session);
    Poco::Int64 pid = ::getpid();
    Poco::Int64 created = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    *session << "INSERT INTO blob_uploads (pid, created_at) VALUES (?, ?)", use(pid), use(created),
        now;
    *session << "SELECT last_insert_rowid()", into(blob_id), now;
    transaction.commit();
  }));
  return std::unique_ptr<BlobWriter>(
      std::make_unique<SqliteBlobWriter>(*this, std::string(key), blob_id));
}

/// Holds a read transaction on its own connection for its whole life, so it reads the snapshot
/// taken at open even while the key is replaced or removed; reads one chunk at a time.
class SqliteBlobReader final : public BlobReader {
 public:
  SqliteBlobReader(SqliteStorage::Lease session, std::string key)
      : session_(std::move(session)), key_(std::move(key)) {}

  ~SqliteBlobReader() override {
    if (open_) {
      try {
        *session_ << "COMMIT", now;
      } catch (...) {  // NOLINT(bugprone-empty-catch): nothing was written
      }
    }
  }

  /// Takes the snapshot. kNotFound when the key is absent.
  Status open(const SqliteStorage& storage) {
    return storage.run("opening blob '" + key_ + "' for reading", [&]() -> Status {
      *session_ << "BEGIN", now;
      open_ = true;
      Row row = readRow(*session_, key_);
      if (!row.found) {
        return notFound("key '" + key_ + "' not found in " + storage.describe());
      }
      blob_id_ = row.blob_id;
      if (blob_id_ == 0) {
        appendBlob(inline_, row.value);
        size_ = inline_.size();
      } else {
        Poco::Int64 total = 0;
        *session_ << "SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks WHERE blob_id = ?",
            into(total), use(blob_id_), now;
        size_ = static_cast<std::uint64_t>(total);
      }
      storage_ = &storage;
      return Status();
    });
  }

  std::uint64_t size() const override { return size_; }

  Expected<std::size_t> read(char* buffer, std::size_t n) override {
    std::size_t copied = 0;
    while (copied < n) {
      if (offset_ == inline_.size()) {
        if (blob_id_ == 0 || finished_) {
          break;
        }
        Status next = storage_->run("reading blob '" + key_ + "'", [&] {
          Poco::Data::BLOB chunk;
          Poco::Data::Statement select(*session_);
          select << "SELECT data FROM blob_chunks WHERE blob_id = ? AND seq = ?", into(chunk),
              use(blob_id_), use(seq_);
          if (select.execute() == 0) {
            finished_ = true;
          }
          inline_.clear();
          appendBlob(inline_, chunk);
          offset_ = 0;
          ++seq_;
        });
        if (!next.ok()) {
          return next;
        }
        continue;
      }
      const std::size_t take = std::min(n - copied, inline_.size() - offset_);
      inline_.copy(buffer + copied, take, offset_);
      offset_ += take;
      copied += take;
    }
    return copied;
  }

 private:
  SqliteStorage::Lease session_;
  std::string key_;
  const SqliteStorage* storage_ = nullptr;
  bool open_ = false;
  bool finished_ = false;
  Poco::Int64 blob_id_ = 0;
  Poco::Int64 seq_ = 0;
  std::uint64_t size_ = 0;
  std::string inline_;  // the inline value, or the current chunk of a streamed blob
  std::size_t offset_ = 0;
};

Expected<std::unique_ptr<BlobReader>> SqliteStorage::openRead(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  auto reader = std::make_unique<SqliteBlobReader>(std::move(session), std::string(key));
  AIMASS_RETURN_IF_ERROR(reader->open(*this));
  return std::unique_ptr<BlobReader>(std::move(reader));
}

}  // namespace aimass::plugins::storage
