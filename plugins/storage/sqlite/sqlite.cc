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

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>
#include <utility>

#include "aimass/util/chunked_blob_writer.h"
#include "sqlite_connection.h"

namespace aimass::plugins::storage {

namespace fs = std::filesystem;
using namespace Poco::Data::Keywords;
using namespace sqlite_internal;
using Poco::Data::Session;

namespace {

Poco::Data::BLOB toBlob(std::string_view bytes) {
  return Poco::Data::BLOB(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
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

/// The row of `key`: whether it exists, its inline value and its blob id (0 when inline).
struct Row {
  bool found = false;
  std::string value;
  std::int64_t blob_id = 0;
};

Row readRow(SqliteConnection& connection, std::string_view key) {
  Row row;
  Query select(connection, Sql::kSelectRow);
  select.text(1, key);
  if (select.step()) {
    row.found = true;
    select.appendBytes(0, row.value);
    row.blob_id = select.isNull(1) ? 0 : select.integerAt(1);
  }
  return row;
}

std::int64_t chunkTotal(SqliteConnection& connection, std::int64_t blob_id) {
  Query total(connection, Sql::kChunkTotal);
  total.integer(1, blob_id);
  return total.step() ? total.integerAt(0) : 0;
}

/// The row's full value, reading a streamed blob's chunks one by one.
std::string rowValue(SqliteConnection& connection, Row& row) {
  if (row.blob_id == 0) {
    return std::move(row.value);
  }
  std::string out;
  out.reserve(static_cast<std::size_t>(chunkTotal(connection, row.blob_id)));
  Query chunks(connection, Sql::kChunks);
  chunks.integer(1, row.blob_id);
  while (chunks.step()) {
    chunks.appendBytes(0, out);
  }
  return out;
}

/// Whether the row's value equals `expected`, comparing a streamed blob chunk by chunk.
bool rowEquals(SqliteConnection& connection, const Row& row, std::string_view expected) {
  if (row.blob_id == 0) {
    return row.value == expected;
  }
  if (chunkTotal(connection, row.blob_id) != static_cast<std::int64_t>(expected.size())) {
    return false;
  }
  Query chunks(connection, Sql::kChunks);
  chunks.integer(1, row.blob_id);
  std::size_t offset = 0;
  while (chunks.step()) {
    std::string_view chunk = chunks.bytesAt(0);
    if (expected.substr(offset, chunk.size()) != chunk) {
      return false;
    }
    offset += chunk.size();
  }
  return offset == expected.size();
}

void deleteChunks(SqliteConnection& connection, std::int64_t blob_id) {
  if (blob_id != 0) {
    Query(connection, Sql::kDeleteChunks).integer(1, blob_id).execute();
  }
}

/// Replaces `key`'s row with an inline value, dropping the chunks of a blob it held. Runs
/// inside a write transaction that read `old`.
void writeInline(SqliteConnection& connection, const Row& old, std::string_view key,
                 std::string_view value) {
  Query(connection, Sql::kReplaceInline).text(1, key).blob(2, value).execute();
  deleteChunks(connection, old.blob_id);
}

}  // namespace

class SqliteStorage::Lease {
 public:
  Lease(const SqliteStorage& owner, std::unique_ptr<SqliteConnection> connection)
      : owner_(&owner), connection_(std::move(connection)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease() {
    if (connection_ != nullptr) {
      std::lock_guard lock(owner_->pool_mutex_);
      owner_->idle_.push_back(std::move(connection_));
    }
  }
  Session& operator*() const { return connection_->session(); }
  SqliteConnection& connection() const { return *connection_; }

 private:
  const SqliteStorage* owner_;
  std::unique_ptr<SqliteConnection> connection_;
};

template <typename Fn>
Status SqliteStorage::run(std::string_view what, Fn&& fn) const {
  return runOnKey(what, std::nullopt, std::forward<Fn>(fn));
}

template <typename Fn>
Status SqliteStorage::runOnKey(std::string_view verb, std::optional<std::string_view> key,
                               Fn&& fn) const {
  try {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn>, Status>) {
      return fn();
    } else {
      fn();
      return Status();
    }
  } catch (...) {
    if (!key) {
      return fromException(verb);
    }
    std::string what;
    try {
      what = std::string(verb) + " '" + std::string(*key) + "'";
    } catch (...) {  // NOLINT(bugprone-empty-catch): out of memory; report without the key
    }
    return fromException(what.empty() ? verb : what);
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
  std::unique_ptr<SqliteConnection> connection;
  Status opened = run("opening the database", [&] {
    auto session = std::make_unique<Session>("SQLite", path_.string());
    *session << "PRAGMA busy_timeout = " + std::to_string(busy_timeout_ms_), now;
    *session << "PRAGMA synchronous = NORMAL", now;
    connection = std::make_unique<SqliteConnection>(std::move(session));
  });
  if (!opened.ok()) {
    return opened;
  }
  return Lease(*this, std::move(connection));
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
  // Processes opening a new database together (the ranks of an mpirun) race to switch it to
  // WAL and create the tables. SQLite answers some of those races with SQLITE_BUSY at once,
  // without waiting in the busy handler (a lock upgrade that could deadlock), so the attempt
  // is repeated until the busy timeout has passed.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
  for (;;) {
    Status status = migrateOnce();
    if (status.code() != StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() >= deadline) {
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status SqliteStorage::migrateOnce() {
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
    WriteTransaction transaction(session.connection());
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
      WriteTransaction transaction(session.connection());
      deleteChunks(session.connection(), ids[i]);
      s << "DELETE FROM blob_uploads WHERE blob_id = ?", use(ids[i]), now;
      transaction.commit();
    }
  });
}

std::string SqliteStorage::describe() const { return "sqlite:" + path_.string(); }

Status SqliteStorage::put(std::string_view key, std::string_view value) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  return runOnKey("put", key, [&] {
    SqliteConnection& c = session.connection();
    // One self-committing upsert, unless the key holds a streamed blob whose chunks must go in
    // the same transaction.
    if (Query(c, Sql::kPutInline).text(1, key).blob(2, value).execute() > 0) {
      return;
    }
    WriteTransaction transaction(c);
    writeInline(c, readRow(c, key), key, value);
    transaction.commit();
  });
}

Expected<std::string> SqliteStorage::get(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  std::string value;
  Status status = runOnKey("get", key, [&]() -> Status {
    SqliteConnection& c = session.connection();
    // One SELECT is its own snapshot; a streamed blob's row and chunks are read in one.
    Row row = readRow(c, key);
    if (row.found && row.blob_id != 0) {
      ReadTransaction snapshot(c);
      row = readRow(c, key);
      value = rowValue(c, row);
    } else {
      value = std::move(row.value);
    }
    if (!row.found) {
      return notFound("key '" + std::string(key) + "' not found in " + describe());
    }
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
  Status status = runOnKey("list", prefix, [&] {
    // A range on the primary key's index, never a LIKE scan.
    auto high = prefixUpperBound(prefix);
    Query select(session.connection(), high ? Sql::kList : Sql::kListOpen);
    select.text(1, prefix);
    if (high) {
      select.text(2, *high);
    }
    while (select.step()) {
      std::string_view k = select.bytesAt(0);
      keys.emplace_back(k);
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
  return runOnKey("remove", key, [&]() -> Status {
    SqliteConnection& c = session.connection();
    // One self-committing DELETE of an inline record; otherwise (a streamed blob, or no key)
    // read, delete and drop the chunks in one transaction.
    if (Query(c, Sql::kDeleteInline).text(1, key).execute() > 0) {
      return Status();
    }
    WriteTransaction transaction(c);
    Row old = readRow(c, key);
    if (!old.found) {
      return notFound("key '" + std::string(key) + "' not found in " + describe());
    }
    Query(c, Sql::kDeleteRow).text(1, key).execute();
    deleteChunks(c, old.blob_id);
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
  Status status = runOnKey("compare-and-set", key, [&] {
    SqliteConnection& c = session.connection();
    // The check and the write in one self-committing statement: insert only if absent, or
    // update an inline value only if it equals `expected`.
    if (!expected) {
      set = Query(c, Sql::kInsertIfAbsent).text(1, key).blob(2, desired).execute() > 0;
      return;
    }
    if (Query(c, Sql::kUpdateIfEqual).text(1, key).blob(2, desired).blob(3, *expected).execute() >
        0) {
      set = true;
      return;
    }
    // Absent, different, or a streamed blob: decide under the write lock, so nothing can change
    // between the read and the write.
    WriteTransaction transaction(c);
    Row old = readRow(c, key);
    if (old.found && rowEquals(c, old, *expected)) {
      writeInline(c, old, key, desired);
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

Expected<std::string> SqliteStorage::pragma(std::string_view name) const {
  const bool valid = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(),
                                 [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
  if (!valid) {
    return invalidArgument("sqlite:" + path_.string() + ": '" + std::string(name) +
                           "' is not a pragma name (1..64 of [a-z_])");
  }
  AIMASS_ASSIGN_OR_RETURN(Lease session, lease());
  std::string value;
  Status status = run("reading PRAGMA " + std::string(name),
                      [&] { *session << "PRAGMA " + std::string(name), into(value), now; });
  if (!status.ok()) {
    return status;
  }
  return value;
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
                 WriteTransaction transaction(session->connection());
                 deleteChunks(session->connection(), blob_id_);
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
      WriteTransaction transaction(session.connection());
      Row old = readRow(session.connection(), key());
      std::string key_text = key();
      s << "INSERT OR REPLACE INTO records (key, value, blob_id) VALUES (?, X'', ?)", use(key_text),
          use(blob_id_), now;
      deleteChunks(session.connection(), old.blob_id);
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
    WriteTransaction transaction(session.connection());
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
        runPrepared(session_.connection(), Sql::kCommit);
      } catch (...) {  // NOLINT(bugprone-empty-catch): nothing was written
      }
    }
  }

  /// Takes the snapshot. kNotFound when the key is absent.
  Status open(const SqliteStorage& storage) {
    return storage.run("opening blob '" + key_ + "' for reading", [&]() -> Status {
      SqliteConnection& c = session_.connection();
      runPrepared(c, Sql::kBegin);
      open_ = true;
      Row row = readRow(c, key_);
      if (!row.found) {
        return notFound("key '" + key_ + "' not found in " + storage.describe());
      }
      blob_id_ = row.blob_id;
      if (blob_id_ == 0) {
        inline_ = std::move(row.value);
        size_ = inline_.size();
      } else {
        size_ = static_cast<std::uint64_t>(chunkTotal(c, blob_id_));
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
          Query select(session_.connection(), Sql::kChunkAt);
          select.integer(1, blob_id_).integer(2, seq_);
          inline_.clear();
          if (select.step()) {
            select.appendBytes(0, inline_);
          } else {
            finished_ = true;
          }
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
