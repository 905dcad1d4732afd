// SPDX-License-Identifier: Apache-2.0
#pragma once

// storage.sqlite's connections and prepared statements: included by sqlite.cc only (not part of
// the plugin's interface).

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "sqlite.h"

namespace aimass::plugins::storage {

namespace sqlite_internal {

/// The statements each connection prepares once (on first use) and reuses.
enum class Sql : std::size_t {
  kBegin,
  kBeginImmediate,
  kCommit,
  kRollback,
  kSelectRow,
  kPutInline,
  kReplaceInline,
  kInsertIfAbsent,
  kUpdateIfEqual,
  kDeleteInline,
  kDeleteRow,
  kDeleteChunks,
  kChunkTotal,
  kChunks,
  kChunkAt,
  kList,
  kListOpen,
  kCount,
};

inline const char* sqlText(Sql which) {
  switch (which) {
    case Sql::kBegin:
      return "BEGIN";
    case Sql::kBeginImmediate:
      return "BEGIN IMMEDIATE";
    case Sql::kCommit:
      return "COMMIT";
    case Sql::kRollback:
      return "ROLLBACK";
    case Sql::kSelectRow:
      return "SELECT value, blob_id FROM records WHERE key = ?1";
    // Replaces an inline value or inserts one; a row holding a streamed blob is left alone
    // (no change), so its chunks can be dropped in the same transaction by the slow path.
    case Sql::kPutInline:
      return "INSERT INTO records (key, value, blob_id) VALUES (?1, ?2, NULL) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE blob_id IS NULL";
    case Sql::kReplaceInline:
      return "INSERT INTO records (key, value, blob_id) VALUES (?1, ?2, NULL) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value, blob_id = NULL";
    case Sql::kInsertIfAbsent:
      return "INSERT INTO records (key, value, blob_id) VALUES (?1, ?2, NULL) "
             "ON CONFLICT (key) DO NOTHING";
    case Sql::kUpdateIfEqual:
      return "UPDATE records SET value = ?2 WHERE key = ?1 AND blob_id IS NULL AND value = ?3";
    case Sql::kDeleteInline:
      return "DELETE FROM records WHERE key = ?1 AND blob_id IS NULL";
    case Sql::kDeleteRow:
      return "DELETE FROM records WHERE key = ?1";
    case Sql::kDeleteChunks:
      return "DELETE FROM blob_chunks WHERE blob_id = ?1";
    case Sql::kChunkTotal:
      return "SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks WHERE blob_id = ?1";
    case Sql::kChunks:
      return "SELECT data FROM blob_chunks WHERE blob_id = ?1 ORDER BY seq";
    case Sql::kChunkAt:
      return "SELECT data FROM blob_chunks WHERE blob_id = ?1 AND seq = ?2";
    case Sql::kList:
      return SqliteStorage::kListRangeSql;
    case Sql::kListOpen:
      return "SELECT key FROM records WHERE key >= ? ORDER BY key";
    case Sql::kCount:
      break;
  }
  return "";
}

}  // namespace sqlite_internal

/// A Poco session, its raw handle and the statements prepared on it. Used by one thread at a
/// time (the pool hands it to one Lease at a time).
class SqliteConnection {
 public:
  explicit SqliteConnection(std::unique_ptr<Poco::Data::Session> session)
      : session_(std::move(session)), db_(Poco::Data::SQLite::Utility::dbHandle(*session_)) {}
  ~SqliteConnection() {
    // Every statement must be finalized before the session closes the handle.
    for (sqlite3_stmt* statement : statements_) {
      sqlite3_finalize(statement);
    }
  }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Poco::Data::Session& session() { return *session_; }
  sqlite3* db() const { return db_; }

  /// The prepared statement `which`, preparing it on first use; throws on failure.
  sqlite3_stmt* statement(sqlite_internal::Sql which) {
    sqlite3_stmt*& slot = statements_[static_cast<std::size_t>(which)];
    if (slot == nullptr) {
      const int rc = sqlite3_prepare_v3(db_, sqlite_internal::sqlText(which), -1,
                                        SQLITE_PREPARE_PERSISTENT, &slot, nullptr);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(slot);
        slot = nullptr;
        Poco::Data::SQLite::Utility::throwException(
            db_, rc & 0xff, std::string("preparing ") + sqlite_internal::sqlText(which));
      }
    }
    return slot;
  }

 private:
  std::unique_ptr<Poco::Data::Session> session_;
  sqlite3* db_;
  std::array<sqlite3_stmt*, static_cast<std::size_t>(sqlite_internal::Sql::kCount)> statements_{};
};

namespace sqlite_internal {

/// One use of a cached statement: binds, steps and reads columns; resets the statement and
/// clears its bindings when destroyed. Bound strings must outlive it (they are not copied).
/// SQLite errors throw the Poco::Data::SQLite exception of their code.
class Query {
 public:
  Query(SqliteConnection& connection, Sql which)
      : db_(connection.db()), statement_(connection.statement(which)) {}
  ~Query() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& text(int index, std::string_view value) {
    return check(sqlite3_bind_text64(statement_, index, nonNull(value), value.size(), SQLITE_STATIC,
                                     SQLITE_UTF8));
  }
  /// Binds bytes as a BLOB; an empty value is X'', never NULL.
  Query& blob(int index, std::string_view value) {
    return check(
        sqlite3_bind_blob64(statement_, index, nonNull(value), value.size(), SQLITE_STATIC));
  }
  Query& integer(int index, std::int64_t value) {
    return check(sqlite3_bind_int64(statement_, index, value));
  }

  /// Steps once: true with a row to read, false when done.
  bool step() {
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    Poco::Data::SQLite::Utility::throwException(db_, rc & 0xff, sqlite3_sql(statement_));
    return false;
  }
  /// Runs a statement that returns no rows; how many rows it changed.
  int execute() {
    step();
    return sqlite3_changes(db_);
  }

  bool isNull(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::int64_t integerAt(int column) const { return sqlite3_column_int64(statement_, column); }
  void appendBytes(int column, std::string& out) const {
    const void* data = sqlite3_column_blob(statement_, column);
    const int size = sqlite3_column_bytes(statement_, column);
    if (size > 0) {
      out.append(static_cast<const char*>(data), static_cast<std::size_t>(size));
    }
  }
  std::string_view bytesAt(int column) const {
    const void* data = sqlite3_column_blob(statement_, column);
    const int size = sqlite3_column_bytes(statement_, column);
    return size > 0 ? std::string_view(static_cast<const char*>(data), size) : std::string_view();
  }

 private:
  static const char* nonNull(std::string_view value) {
    return value.data() != nullptr ? value.data() : "";
  }
  Query& check(int rc) {
    if (rc != SQLITE_OK) {
      Poco::Data::SQLite::Utility::throwException(db_, rc & 0xff, "binding a parameter");
    }
    return *this;
  }

  sqlite3* db_;
  sqlite3_stmt* statement_;
};

inline void runPrepared(SqliteConnection& connection, Sql which) {
  Query(connection, which).step();
}

/// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an error or exception
/// midway), so a failed multi-row change leaves nothing behind.
class WriteTransaction {
 public:
  explicit WriteTransaction(SqliteConnection& connection) : connection_(connection) {
    runPrepared(connection_, Sql::kBeginImmediate);
  }
  ~WriteTransaction() {
    if (!done_ && !sqlite3_get_autocommit(connection_.db())) {
      try {
        runPrepared(connection_, Sql::kRollback);
      } catch (...) {  // NOLINT(bugprone-empty-catch): the connection is closed or the
                       // transaction already rolled back: nothing to undo.
      }
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit() {
    runPrepared(connection_, Sql::kCommit);
    done_ = true;
  }

 private:
  SqliteConnection& connection_;
  bool done_ = false;
};

/// A read snapshot: BEGIN (deferred) ... COMMIT; in WAL mode it never blocks writers.
class ReadTransaction {
 public:
  explicit ReadTransaction(SqliteConnection& connection) : connection_(connection) {
    runPrepared(connection_, Sql::kBegin);
  }
  ~ReadTransaction() {
    if (!sqlite3_get_autocommit(connection_.db())) {
      try {
        runPrepared(connection_, Sql::kCommit);
      } catch (...) {  // NOLINT(bugprone-empty-catch): nothing was written, nothing to lose
      }
    }
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  SqliteConnection& connection_;
};

}  // namespace sqlite_internal

}  // namespace aimass::plugins::storage
