// SPDX-License-Identifier: Apache-2.0
#include "postgres.h"

#include <Poco/Data/LOB.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/PostgreSQLException.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/Nullable.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <map>
#include <utility>

#include "aimass/util/chunked_blob_writer.h"

namespace aimass::plugins::storage {

using namespace Poco::Data::Keywords;
using Poco::Data::BLOB;
using Poco::Data::Session;

namespace {

// The first key of every advisory lock this plugin takes ('AIMS'); the second is 0 for
// migrations and an upload's blob id for uploads.
constexpr int kLockClass = 0x41494d53;
constexpr int kMigrationLock = 0;

BLOB toBlob(std::string_view bytes) {
  return BLOB(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string fromBlob(const BLOB& blob) {
  return blob.size() == 0
             ? std::string()
             : std::string(reinterpret_cast<const char*>(blob.rawContent()), blob.size());
}

int uploadLockKey(Poco::Int64 blob_id) { return static_cast<int>(blob_id % 2147483647); }

// Migration N brings the schema from version N-1 to N; the same versions as storage.sqlite.
// Never edit one that has shipped; add the next instead.
const std::vector<std::vector<const char*>> kMigrations = {
    // 1: keyed records.
    {"CREATE TABLE records (key BYTEA PRIMARY KEY, value BYTEA NOT NULL)"},
    // 2: streamed blobs in chunks, and the uploads still being written.
    {"ALTER TABLE records ADD COLUMN blob_id BIGINT",
     "CREATE TABLE blob_chunks (blob_id BIGINT NOT NULL, seq BIGINT NOT NULL, "
     "data BYTEA NOT NULL, PRIMARY KEY (blob_id, seq))",
     "CREATE TABLE blob_uploads (blob_id BIGSERIAL PRIMARY KEY, "
     "created_at TIMESTAMPTZ NOT NULL DEFAULT now())"},
};

/// Quotes a libpq connection-string value: 'value' with ' and \ escaped.
std::string quoteConnectionValue(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

/// The smallest byte string greater than every string starting with `prefix`; nullopt when
/// there is none (empty prefix or all 0xff bytes).
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

/// The row of a key: whether it exists, its inline value and its blob id (0 when inline).
struct Row {
  bool found = false;
  BLOB value;
  Poco::Int64 blob_id = 0;
};

Row readRow(Session& session, BLOB& key, bool for_update) {
  Row row;
  Poco::Nullable<Poco::Int64> blob_id;
  Poco::Data::Statement select(session);
  select << (for_update ? "SELECT value, blob_id FROM records WHERE key = $1 FOR UPDATE"
                        : "SELECT value, blob_id FROM records WHERE key = $1"),
      into(row.value), into(blob_id), use(key);
  row.found = select.execute() > 0;
  row.blob_id = blob_id.isNull() ? 0 : blob_id.value();
  return row;
}

/// One chunk of a streamed blob; false when there is no chunk `seq`.
bool readChunk(Session& session, Poco::Int64 blob_id, Poco::Int64 seq, std::string& out) {
  BLOB data;
  Poco::Data::Statement select(session);
  select << "SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2", into(data),
      use(blob_id), use(seq);
  if (select.execute() == 0) {
    return false;
  }
  out = fromBlob(data);
  return true;
}

/// The row's whole value, reading a streamed blob's chunks one at a time. The caller holds a
/// snapshot (or the row's lock), so the chunks cannot change underneath.
std::string rowValue(Session& session, const Row& row) {
  if (row.blob_id == 0) {
    return fromBlob(row.value);
  }
  Poco::Int64 blob_id = row.blob_id;
  Poco::Int64 total = 0;
  session << "SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks WHERE blob_id = $1",
      into(total), use(blob_id), now;
  std::string out;
  out.reserve(static_cast<std::size_t>(total));
  std::string chunk;
  for (Poco::Int64 seq = 0; readChunk(session, blob_id, seq, chunk); ++seq) {
    out += chunk;
  }
  return out;
}

void deleteChunks(Session& session, Poco::Int64 blob_id) {
  if (blob_id != 0) {
    session << "DELETE FROM blob_chunks WHERE blob_id = $1", use(blob_id), now;
  }
}

/// Inserts the key's row if nobody else did meanwhile; true when this call inserted it (and so
/// holds its lock until the transaction ends).
bool insertRow(Session& session, BLOB& key, BLOB& value, Poco::Int64 blob_id) {
  int inserted = 0;
  Poco::Data::Statement insert(session);
  if (blob_id == 0) {
    insert << "INSERT INTO records (key, value, blob_id) VALUES ($1, COALESCE($2, ''::bytea), "
              "NULL) ON CONFLICT (key) DO NOTHING RETURNING 1",
        use(key), use(value), into(inserted);
  } else {
    insert << "INSERT INTO records (key, value, blob_id) VALUES ($1, ''::bytea, $2) "
              "ON CONFLICT (key) DO NOTHING RETURNING 1",
        use(key), use(blob_id), into(inserted);
  }
  return insert.execute() > 0;
}

void updateRow(Session& session, BLOB& key, BLOB& value, Poco::Int64 blob_id) {
  if (blob_id == 0) {
    session << "UPDATE records SET value = COALESCE($2, ''::bytea), blob_id = NULL "
               "WHERE key = $1",
        use(key), use(value), now;
  } else {
    session << "UPDATE records SET value = ''::bytea, blob_id = $2 WHERE key = $1", use(key),
        use(blob_id), now;
  }
}

/// Makes `key` hold `value` inline (blob_id 0) or point at `blob_id`'s chunks, dropping the
/// chunks of the blob it held before. Runs inside the caller's transaction.
void replaceRow(Session& session, BLOB& key, BLOB& value, Poco::Int64 blob_id) {
  for (;;) {
    Row old = readRow(session, key, /*for_update=*/true);
    if (old.found) {
      updateRow(session, key, value, blob_id);
      deleteChunks(session, old.blob_id);
      return;
    }
    if (insertRow(session, key, value, blob_id)) {
      return;
    }
    // Another transaction created the row after our SELECT: lock it on the next round.
  }
}

/// The message of the exception being handled.
std::string currentExceptionText() {
  try {
    throw;
  } catch (const Poco::Exception& e) {
    return e.displayText();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

bool mentions(const std::string& text, std::string_view word) {
  return text.find(word) != std::string::npos;
}

}  // namespace

struct PostgresStorage::Attempt {
  Session& session;
  bool committing = false;
};

namespace {

/// BEGIN ... COMMIT on an attempt's connection; rolls back when destroyed uncommitted.
class Transaction {
 public:
  explicit Transaction(PostgresStorage::Attempt& attempt) : attempt_(attempt) {
    attempt_.session.begin();
  }
  ~Transaction() {
    if (!done_) {
      try {
        attempt_.session.rollback();
      } catch (...) {  // NOLINT(bugprone-empty-catch): the connection is gone; so is the work
      }
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    attempt_.committing = true;
    attempt_.session.commit();
    done_ = true;
  }

 private:
  PostgresStorage::Attempt& attempt_;
  bool done_ = false;
};

/// A REPEATABLE READ, READ ONLY transaction: every statement sees one snapshot. Ends (rolls
/// back: nothing was written) when destroyed, unless release()d to a reader that ends it later.
class Snapshot {
 public:
  explicit Snapshot(Session& session) : session_(session) {
    session_.begin();
    open_ = true;
    session_ << "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", now;
  }
  ~Snapshot() {
    if (open_) {
      try {
        session_.rollback();
      } catch (...) {  // NOLINT(bugprone-empty-catch): the connection is gone, and the snapshot
      }
    }
  }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  void release() { open_ = false; }

 private:
  Session& session_;
  bool open_ = false;
};

}  // namespace

class PostgresStorage::Lease {
 public:
  Lease(const PostgresStorage& owner, std::unique_ptr<Session> session, bool reused)
      : owner_(&owner), session_(std::move(session)), reused_(reused) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease() {
    if (session_ == nullptr || discarded_) {
      return;
    }
    bool connected = false;
    try {
      connected = session_->isConnected();
    } catch (...) {  // NOLINT(bugprone-empty-catch): treated as broken
    }
    if (!connected) {
      return;
    }
    try {
      // A call that failed midway may have left a transaction open; never pool one.
      if (session_->isTransaction()) {
        session_->rollback();
      }
    } catch (...) {
      return;
    }
    std::lock_guard lock(owner_->pool_mutex_);
    if (owner_->idle_.size() < owner_->pool_size_) {
      owner_->idle_.push_back(std::move(session_));
    }
  }
  Session& operator*() const { return *session_; }
  /// Whether the connection came from the pool (and so may have gone stale).
  bool reused() const { return reused_; }
  /// Closes the connection instead of returning it to the pool.
  void discard() { discarded_ = true; }

 private:
  const PostgresStorage* owner_;
  std::unique_ptr<Session> session_;
  bool reused_;
  bool discarded_ = false;
};

Expected<std::pair<std::string, std::string>> postgresConnection(const PostgresOptions& options) {
  const std::string& uri = options.uri;
  if (!uri.starts_with("postgresql://") && !uri.starts_with("postgres://")) {
    return invalidArgument("storage.postgres: uri '" + uri +
                           "' is not a postgresql://USER@HOST:PORT/DATABASE URI");
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(uri.c_str(), &error);
  if (parsed == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) {
      why.pop_back();
    }
    return invalidArgument("storage.postgres: malformed uri '" + uri + "': " + why);
  }
  std::map<std::string, std::string> values;
  for (PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (option->val != nullptr && option->val[0] != '\0') {
      values[option->keyword] = option->val;
    }
  }
  PQconninfoFree(parsed);
  const std::string user = values.count("user") ? values["user"] : "";
  const std::string host = values.count("host") ? values["host"] : "";
  const std::string port = values.count("port") ? values["port"] : "";
  const std::string database = values.count("dbname") ? values["dbname"] : "";
  std::string display = "postgresql://" + (user.empty() ? "" : user + "@") + host +
                        (port.empty() ? "" : ":" + port) + "/" + database;
  if (values.count("password")) {
    return invalidArgument("storage.postgres: the uri of " + display +
                           " holds a password; put it in an environment variable and name "
                           "that variable in password_env");
  }
  if (!options.password_env.empty()) {
    const char* password = std::getenv(options.password_env.c_str());
    if (password == nullptr) {
      return invalidArgument("storage.postgres: password_env names the environment variable '" +
                             options.password_env + "', which is not set (server " + display + ")");
    }
    values["password"] = password;
  }
  if (!values.count("connect_timeout")) {
    values["connect_timeout"] = std::to_string(options.connect_timeout_s);
  }
  if (!values.count("application_name")) {
    values["application_name"] = "aimass";
  }
  std::string connection;
  for (const auto& [keyword, value] : values) {
    connection += (connection.empty() ? "" : " ") + keyword + "=" + quoteConnectionValue(value);
  }
  return std::make_pair(std::move(connection), std::move(display));
}

PostgresStorage::PostgresStorage(std::string connection_string, std::string display,
                                 std::size_t pool_size)
    : connection_string_(std::move(connection_string)),
      display_(std::move(display)),
      pool_size_(pool_size) {}

PostgresStorage::~PostgresStorage() = default;

void PostgresStorage::dropIdleConnections() const {
  std::vector<std::unique_ptr<Session>> stale;
  {
    std::lock_guard lock(pool_mutex_);
    stale.swap(idle_);
  }
  // Closing happens here, outside the lock; a dead connection closes without waiting.
  for (auto& session : stale) {
    try {
      session.reset();
    } catch (...) {  // NOLINT(bugprone-empty-catch): closing a dead connection
    }
  }
}

Expected<PostgresStorage::Lease> PostgresStorage::lease(bool allow_reuse) const {
  if (allow_reuse) {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto session = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(session), /*reused=*/true);
    }
  }
  try {
    auto session = std::make_unique<Session>("PostgreSQL", connection_string_);
    // libpq prints the server's NOTICEs ("relation already exists, skipping") on stderr.
    *session << "SET client_min_messages = warning", now;
    return Lease(*this, std::move(session), /*reused=*/false);
  } catch (...) {
    const std::string text = currentExceptionText();
    const std::string message = "cannot connect to the server: " + text;
    if (mentions(text, "password authentication failed") ||
        mentions(text, "no password supplied") || mentions(text, "permission denied")) {
      return permissionDenied(message);
    }
    if (mentions(text, "does not exist")) {
      return notFound(message);
    }
    if (mentions(text, "invalid integer value") || mentions(text, "invalid connection option") ||
        mentions(text, " value: ") || mentions(text, "invalid value")) {
      return invalidArgument(message);
    }
    // Refused, timed out, shut down: a server that is not there (now). Said in words a user
    // recognises before libpq's own text.
    return unavailable("the database server is unreachable: " + message);
  }
}

Status PostgresStorage::fromException(std::string_view what) const {
  const std::string where = display_ + ": " + std::string(what) + ": ";
  try {
    throw;
  } catch (const Poco::Data::PostgreSQL::PostgreSQLException& e) {
    const std::string text = e.displayText();
    if (mentions(text, "permission denied")) {
      return permissionDenied(where + text);
    }
    if (mentions(text, "disk full") || mentions(text, "No space left")) {
      return resourceExhausted(where + text);
    }
    return internalError(where + text);
  } catch (const Poco::Exception& e) {
    return internalError(where + e.displayText());
  } catch (const std::bad_alloc&) {
    return resourceExhausted(where + "out of memory");
  } catch (const std::exception& e) {
    return internalError(where + e.what());
  } catch (...) {
    return internalError(where + "unknown exception");
  }
}

template <typename Fn>
Status PostgresStorage::attempt(Lease& session, std::string_view what, Fn&& fn,
                                bool* retryable) const {
  Attempt attempt{*session};
  try {
    if constexpr (std::is_same_v<std::invoke_result_t<Fn, Attempt&>, Status>) {
      return fn(attempt);
    } else {
      fn(attempt);
      return Status();
    }
  } catch (...) {
    bool connected = false;
    try {
      connected = (*session).isConnected();
    } catch (...) {  // NOLINT(bugprone-empty-catch): treated as broken
    }
    if (connected) {
      return fromException(what);
    }
    // The server went away (restarted, or the network broke): every pooled connection is as
    // stale as this one.
    session.discard();
    dropIdleConnections();
    if (retryable != nullptr) {
      *retryable = session.reused() && !attempt.committing;
    }
    return unavailable(
        display_ + ": " + std::string(what) +
        ": the database server is unreachable: lost the connection to the server (" +
        currentExceptionText() + ")" +
        (attempt.committing ? "; the change may or may not have been committed" : ""));
  }
}

template <typename Fn>
Status PostgresStorage::run(std::string_view what, Fn&& fn, std::optional<Lease>* keep) const {
  for (int attempt_number = 0;; ++attempt_number) {
    auto leased = lease();
    if (!leased.ok()) {
      return Status(leased.status().code(),
                    display_ + ": " + std::string(what) + ": " + leased.status().message());
    }
    Lease session = std::move(leased).value();
    bool retryable = false;
    Status status = attempt(session, what, fn, &retryable);
    if (!status.ok() && retryable && attempt_number == 0) {
      continue;  // nothing was committed and the server may be back: try a fresh connection
    }
    if (status.ok() && keep != nullptr) {
      keep->emplace(std::move(session));
    }
    return status;
  }
}

Expected<std::unique_ptr<PostgresStorage>> PostgresStorage::create(const PostgresOptions& options) {
  auto connection = postgresConnection(options);
  AIMASS_RETURN_IF_ERROR(connection.status());
  if (options.pool_size < 1) {
    return invalidArgument("storage.postgres: pool_size must be at least 1, got " +
                           std::to_string(options.pool_size));
  }
  Status registered = guard("storage.postgres: registering the PostgreSQL connector",
                            [] { Poco::Data::PostgreSQL::Connector::registerConnector(); });
  AIMASS_RETURN_IF_ERROR(registered);
  std::unique_ptr<PostgresStorage> storage(new PostgresStorage(
      connection->first, connection->second, static_cast<std::size_t>(options.pool_size)));
  AIMASS_RETURN_IF_ERROR(storage->migrate());
  AIMASS_RETURN_IF_ERROR(storage->cleanAbandonedUploads());
  return storage;
}

Status PostgresStorage::migrate() {
  return run("migrating the schema", [&](Attempt& attempt) -> Status {
    Session& s = attempt.session;
    Transaction transaction(attempt);
    // Serialises migrations of processes opening the same new database at once.
    int lock_class = kLockClass;
    int lock_key = kMigrationLock;
    int one = 0;
    s << "SELECT 1 FROM pg_advisory_xact_lock($1, $2)", use(lock_class), use(lock_key), into(one),
        now;
    s << "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", now;
    int current = 0;
    s << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(current), now;
    if (current > kSchemaVersion) {
      return failedPrecondition(display_ + ": the database has schema version " +
                                std::to_string(current) + ", newer than this plugin's " +
                                std::to_string(kSchemaVersion) + "; upgrade storage.postgres");
    }
    for (int version = current + 1; version <= kSchemaVersion; ++version) {
      for (const char* sql : kMigrations[version - 1]) {
        s << sql, now;
      }
    }
    if (current < kSchemaVersion) {
      int version = kSchemaVersion;
      s << "DELETE FROM schema_version", now;
      s << "INSERT INTO schema_version (version) VALUES ($1)", use(version), now;
    }
    transaction.commit();
    return Status();
  });
}

Status PostgresStorage::cleanAbandonedUploads() {
  return run("removing abandoned uploads", [&](Attempt& attempt) {
    Session& s = attempt.session;
    std::vector<Poco::Int64> ids;
    s << "SELECT blob_id FROM blob_uploads", into(ids), now;
    int lock_class = kLockClass;
    for (Poco::Int64 id : ids) {
      // A live writer holds its upload's lock on its own connection; a free lock means the
      // writer is gone (the server released the lock with its connection).
      int key = uploadLockKey(id);
      bool free = false;
      s << "SELECT pg_try_advisory_lock($1, $2)", use(lock_class), use(key), into(free), now;
      if (!free) {
        continue;
      }
      {
        Transaction transaction(attempt);
        deleteChunks(s, id);
        s << "DELETE FROM blob_uploads WHERE blob_id = $1", use(id), now;
        transaction.commit();
        attempt.committing = false;
      }
      bool unlocked = false;
      s << "SELECT pg_advisory_unlock($1, $2)", use(lock_class), use(key), into(unlocked), now;
    }
  });
}

std::string PostgresStorage::describe() const { return display_; }

Status PostgresStorage::put(std::string_view key, std::string_view value) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  BLOB k = toBlob(key);
  BLOB v = toBlob(value);
  return run("put '" + std::string(key) + "'", [&](Attempt& attempt) {
    Transaction transaction(attempt);
    replaceRow(attempt.session, k, v, 0);
    transaction.commit();
  });
}

Expected<std::string> PostgresStorage::get(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  BLOB k = toBlob(key);
  std::string value;
  Status status = run("get '" + std::string(key) + "'", [&](Attempt& attempt) -> Status {
    Session& s = attempt.session;
    Row row = readRow(s, k, /*for_update=*/false);
    if (row.found && row.blob_id != 0) {
      // The row and its chunks must come from one snapshot, or a concurrent replace could
      // delete the chunks between the two reads.
      Snapshot snapshot(s);
      row = readRow(s, k, /*for_update=*/false);
      if (row.found) {
        value = rowValue(s, row);
      }
    } else if (row.found) {
      value = fromBlob(row.value);
    }
    if (!row.found) {
      return notFound("key '" + std::string(key) + "' not found in " + display_);
    }
    return Status();
  });
  if (!status.ok()) {
    return status;
  }
  return value;
}

Expected<std::vector<std::string>> PostgresStorage::list(std::string_view prefix) const {
  std::vector<std::string> keys;
  Status status = run("list '" + std::string(prefix) + "'", [&](Attempt& attempt) {
    // A range on the primary key's index, never a LIKE scan.
    std::vector<BLOB> rows;
    BLOB low = toBlob(prefix);
    const auto high = prefixUpperBound(prefix);
    if (prefix.empty()) {
      // (An empty BLOB binds as NULL, and `key >= NULL` matches nothing.)
      attempt.session << "SELECT key FROM records ORDER BY key", into(rows), now;
    } else if (high) {
      BLOB up = toBlob(*high);
      attempt.session << kListRangeSql, into(rows), use(low), use(up), now;
    } else {
      attempt.session << "SELECT key FROM records WHERE key >= $1 ORDER BY key", into(rows),
          use(low), now;
    }
    keys.clear();
    keys.reserve(rows.size());
    for (const auto& row : rows) {
      keys.push_back(fromBlob(row));
    }
  });
  if (!status.ok()) {
    return status;
  }
  return keys;
}

Status PostgresStorage::remove(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  BLOB k = toBlob(key);
  return run("remove '" + std::string(key) + "'", [&](Attempt& attempt) -> Status {
    Session& s = attempt.session;
    Transaction transaction(attempt);
    Row old = readRow(s, k, /*for_update=*/true);
    if (!old.found) {
      return notFound("key '" + std::string(key) + "' not found in " + display_);
    }
    s << "DELETE FROM records WHERE key = $1", use(k), now;
    deleteChunks(s, old.blob_id);
    transaction.commit();
    return Status();
  });
}

Expected<bool> PostgresStorage::compareAndSet(std::string_view key,
                                              std::optional<std::string_view> expected,
                                              std::string_view desired) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  BLOB k = toBlob(key);
  BLOB v = toBlob(desired);
  bool set = false;
  Status status = run("compare-and-set '" + std::string(key) + "'", [&](Attempt& attempt) {
    Session& s = attempt.session;
    set = false;
    // The row stays locked from the read to the write, so the comparison and the write are
    // one atomic step for every other connection.
    Transaction transaction(attempt);
    Row old = readRow(s, k, /*for_update=*/true);
    if (!expected) {
      // Absent: insert unless another transaction created it since (then it is not absent).
      set = !old.found && insertRow(s, k, v, 0);
    } else if (old.found && rowValue(s, old) == *expected) {
      updateRow(s, k, v, 0);
      deleteChunks(s, old.blob_id);
      set = true;
    }
    if (set) {
      transaction.commit();
    }
  });
  if (!status.ok()) {
    return status;
  }
  return set;
}

Expected<int> PostgresStorage::schemaVersion() const {
  int version = 0;
  Status status = run("reading the schema version", [&](Attempt& attempt) {
    attempt.session << "SELECT COALESCE(MAX(version), 0) FROM schema_version", into(version), now;
  });
  if (!status.ok()) {
    return status;
  }
  return version;
}

/// Streams chunks into blob_chunks under an upload id, on a connection of its own that holds an
/// advisory lock on the upload (so no other process takes it for abandoned); each chunk commits
/// on its own but stays invisible, since no record points at it yet. commit() points the key at
/// the chunks in one transaction. Destroyed without commit(), it deletes its chunks; a writer
/// that died leaves them for the next open to remove.
class PostgresBlobWriter final : public ChunkedBlobWriter {
 public:
  PostgresBlobWriter(PostgresStorage& storage, PostgresStorage::Lease session, std::string key,
                     Poco::Int64 blob_id)
      : ChunkedBlobWriter(std::move(key), PostgresStorage::kChunkBytes),
        storage_(storage),
        session_(std::move(session)),
        blob_id_(blob_id) {}

  ~PostgresBlobWriter() override {
    try {
      Session& s = *session_;
      if (!committed()) {
        PostgresStorage::Attempt attempt{s};
        Transaction transaction(attempt);
        deleteChunks(s, blob_id_);
        s << "DELETE FROM blob_uploads WHERE blob_id = $1", use(blob_id_), now;
        transaction.commit();
      }
      int lock_class = kLockClass;
      int lock_key = uploadLockKey(blob_id_);
      bool unlocked = false;
      s << "SELECT pg_advisory_unlock($1, $2)", use(lock_class), use(lock_key), into(unlocked), now;
    } catch (...) {
      // The connection is broken or the lock still held: never reuse it. Closing it releases
      // the lock, and the next open removes the upload.
      session_.discard();
    }
  }

 private:
  template <typename Fn>
  Status guarded(const std::string& what, Fn&& fn) {
    return storage_.attempt(session_, what, std::forward<Fn>(fn), nullptr);
  }

  Status storeChunk(std::int64_t seq, std::string_view chunk) override {
    return guarded("writing blob '" + key() + "'", [&](PostgresStorage::Attempt& a) {
      BLOB data = toBlob(chunk);
      Poco::Int64 number = seq;
      a.session << "INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)",
          use(blob_id_), use(number), use(data), now;
    });
  }

  Status storeCommit() override {
    return guarded("committing blob '" + key() + "'", [&](PostgresStorage::Attempt& a) {
      Transaction transaction(a);
      BLOB key_blob = toBlob(key());
      BLOB unused;
      replaceRow(a.session, key_blob, unused, blob_id_);
      a.session << "DELETE FROM blob_uploads WHERE blob_id = $1", use(blob_id_), now;
      transaction.commit();
    });
  }

  PostgresStorage& storage_;
  PostgresStorage::Lease session_;
  Poco::Int64 blob_id_;
};

Expected<std::unique_ptr<BlobWriter>> PostgresStorage::openWrite(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  std::optional<Lease> held;
  Poco::Int64 blob_id = 0;
  AIMASS_RETURN_IF_ERROR(run(
      "opening blob '" + std::string(key) + "' for writing",
      [&](Attempt& attempt) {
        Session& s = attempt.session;
        // The upload row becomes visible with its lock already held, so no other process can
        // take it for abandoned.
        Transaction transaction(attempt);
        s << "INSERT INTO blob_uploads DEFAULT VALUES RETURNING blob_id", into(blob_id), now;
        int lock_class = kLockClass;
        int lock_key = uploadLockKey(blob_id);
        int one = 0;
        s << "SELECT 1 FROM pg_advisory_lock($1, $2)", use(lock_class), use(lock_key), into(one),
            now;
        transaction.commit();
      },
      &held));
  return std::unique_ptr<BlobWriter>(
      std::make_unique<PostgresBlobWriter>(*this, std::move(*held), std::string(key), blob_id));
}

/// Holds a REPEATABLE READ transaction on its own connection for its whole life, so it reads
/// the snapshot taken at open even while the key is replaced or removed; fetches one chunk at a
/// time.
class PostgresBlobReader final : public BlobReader {
 public:
  PostgresBlobReader(const PostgresStorage& storage, PostgresStorage::Lease session,
                     std::string key, Poco::Int64 blob_id, std::string inline_value,
                     std::uint64_t size)
      : storage_(storage),
        session_(std::move(session)),
        key_(std::move(key)),
        blob_id_(blob_id),
        size_(size),
        current_(std::move(inline_value)) {}

  ~PostgresBlobReader() override {
    try {
      (*session_).rollback();  // ends the snapshot; nothing was written
    } catch (...) {
      session_.discard();
    }
  }

  std::uint64_t size() const override { return size_; }

  Expected<std::size_t> read(char* buffer, std::size_t n) override {
    std::size_t copied = 0;
    while (copied < n) {
      if (offset_ == current_.size()) {
        if (blob_id_ == 0 || finished_) {
          break;
        }
        Status next = storage_.attempt(
            session_, "reading blob '" + key_ + "'",
            [&](PostgresStorage::Attempt& a) {
              if (!readChunk(a.session, blob_id_, seq_, current_)) {
                current_.clear();
                finished_ = true;
              }
              offset_ = 0;
              ++seq_;
            },
            nullptr);
        if (!next.ok()) {
          return next;
        }
        continue;
      }
      const std::size_t take = std::min(n - copied, current_.size() - offset_);
      current_.copy(buffer + copied, take, offset_);
      offset_ += take;
      copied += take;
    }
    return copied;
  }

 private:
  const PostgresStorage& storage_;
  PostgresStorage::Lease session_;
  std::string key_;
  Poco::Int64 blob_id_;
  std::uint64_t size_;
  std::string current_;  // the inline value, or the current chunk of a streamed blob
  std::size_t offset_ = 0;
  Poco::Int64 seq_ = 0;
  bool finished_ = false;
};

Expected<std::unique_ptr<BlobReader>> PostgresStorage::openRead(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  BLOB k = toBlob(key);
  std::optional<Lease> held;
  Row row;
  Poco::Int64 total = 0;
  AIMASS_RETURN_IF_ERROR(run(
      "opening blob '" + std::string(key) + "' for reading",
      [&](Attempt& attempt) -> Status {
        Session& s = attempt.session;
        Snapshot snapshot(s);
        row = readRow(s, k, /*for_update=*/false);
        if (!row.found) {
          return notFound("key '" + std::string(key) + "' not found in " + display_);
        }
        if (row.blob_id != 0) {
          Poco::Int64 blob_id = row.blob_id;
          s << "SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks WHERE blob_id = $1",
              into(total), use(blob_id), now;
        } else {
          total = static_cast<Poco::Int64>(row.value.size());
        }
        snapshot.release();  // the reader ends it
        return Status();
      },
      &held));
  return std::unique_ptr<BlobReader>(std::make_unique<PostgresBlobReader>(
      *this, std::move(*held), std::string(key), row.blob_id,
      row.blob_id == 0 ? fromBlob(row.value) : std::string(), static_cast<std::uint64_t>(total)));
}

Expected<std::vector<std::pair<std::string, std::string>>> postgresUriParams(
    const StorageUriParts& uri) {
  constexpr const char* kForm = "postgresql://USER@HOST:PORT/DATABASE";
  if (!uri.has_authority) {
    return invalidArgument(std::string("write ") + kForm);
  }
  if (uri.authority.empty()) {
    return invalidArgument(std::string("no server; write ") + kForm);
  }
  if (uri.path.size() <= 1) {
    return invalidArgument(std::string("no database; write ") + kForm);
  }
  std::vector<std::pair<std::string, std::string>> params;
  std::string libpq_uri = uri.without_query;
  char separator = '?';
  for (const auto& [name, value] : uri.query) {
    if (name == "password_env" || name == "pool_size" || name == "connect_timeout_s") {
      params.emplace_back(name, value);
    } else {
      libpq_uri += separator + name + "=" + value;
      separator = '&';
    }
  }
  params.insert(params.begin(), {"uri", libpq_uri});
  return params;
}

}  // namespace aimass::plugins::storage
