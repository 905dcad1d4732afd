// SPDX-License-Identifier: Apache-2.0
// storage.postgres against a real PostgreSQL server: the one ctest starts for the
// `postgres` fixture (scripts/postgres-test-server.sh, state folder in
// $AIMASS_TEST_POSTGRES_STATE), each test in a database of its own; the restart test starts a
// server of its own so that stopping it disturbs nobody.
#include "postgres.h"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/core/registry.h"
#include "aimass/plugin.h"
#include "aimass/testing/registration.h"
#include "aimass/testing/storage_conformance.h"
#include "temp_dir.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::storage {
namespace {

namespace fs = std::filesystem;
using namespace Poco::Data::Keywords;
using aimass::testing::TempDir;

constexpr char kPasswordVariable[] = "AIMASS_TEST_PG_PASSWORD";
const std::string kScript = std::string(AIMASS_SOURCE_DIR) + "/scripts/postgres-test-server.sh";

std::string readFile(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  return text;
}

/// A server started by scripts/postgres-test-server.sh: its URI and password.
struct Server {
  std::string uri;  // postgresql://aimass@127.0.0.1:PORT/aimass
  std::string password;

  static Server fromState(const fs::path& state) {
    return Server{readFile(state / "uri"), readFile(state / "password")};
  }
  /// The same server, database `database`.
  std::string uriFor(const std::string& database) const {
    return uri.substr(0, uri.rfind('/') + 1) + database;
  }
};

/// The fixture's server; fails the test (with what to do) when ctest did not start one.
std::optional<Server> sharedServer() {
  const char* state = std::getenv("AIMASS_TEST_POSTGRES_STATE");
  if (state == nullptr || !fs::exists(fs::path(state) / "uri")) {
    ADD_FAILURE() << "no test server: run through ctest (the 'postgres' fixture starts one), or "
                     "start one with scripts/postgres-test-server.sh start DIR and set "
                     "AIMASS_TEST_POSTGRES_STATE=DIR";
    return std::nullopt;
  }
  Server server = Server::fromState(state);
  ::setenv(kPasswordVariable, server.password.c_str(), 1);
  return server;
}

PostgresOptions optionsFor(const std::string& uri) {
  PostgresOptions options;
  options.uri = uri;
  options.password_env = kPasswordVariable;
  options.connect_timeout_s = 5;
  return options;
}

/// A raw Poco session to `uri` (for looking under the hood and for administration).
std::unique_ptr<Poco::Data::Session> rawSession(const std::string& uri) {
  Poco::Data::PostgreSQL::Connector::registerConnector();
  auto connection = postgresConnection(optionsFor(uri));
  if (!connection.ok()) {
    ADD_FAILURE() << connection.status().toString();
    return nullptr;
  }
  return std::make_unique<Poco::Data::Session>("PostgreSQL", connection->first);
}

/// A fresh database on the shared server for one test, dropped afterwards.
class TestDatabase {
 public:
  TestDatabase() {
    static std::atomic<int> counter{0};
    auto server = sharedServer();
    if (!server) {
      return;
    }
    server_ = *server;
    name_ = "aimass_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    admin_ = rawSession(server_.uri);
    if (admin_ != nullptr) {
      *admin_ << "DROP DATABASE IF EXISTS " + name_, now;
      *admin_ << "CREATE DATABASE " + name_, now;
    }
  }
  ~TestDatabase() {
    if (admin_ != nullptr) {
      try {
        *admin_ << "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", now;
      } catch (const Poco::Exception& e) {
        ADD_FAILURE() << "dropping " << name_ << ": " << e.displayText();
      }
    }
  }
  bool ready() const { return admin_ != nullptr; }
  std::string uri() const { return server_.uriFor(name_); }
  PostgresOptions options() const { return optionsFor(uri()); }
  std::unique_ptr<PostgresStorage> open() const {
    auto storage = PostgresStorage::create(options());
    EXPECT_TRUE(storage.ok()) << storage.status().toString();
    return storage.ok() ? std::move(storage).value() : nullptr;
  }
  std::unique_ptr<Poco::Data::Session> session() const { return rawSession(uri()); }

 private:
  Server server_;
  std::string name_;
  std::unique_ptr<Poco::Data::Session> admin_;
};

Poco::Int64 count(Poco::Data::Session& session, const std::string& sql) {
  Poco::Int64 n = -1;
  session << sql, into(n), now;
  return n;
}

std::string readAll(BlobReader& reader) {
  std::string out;
  std::vector<char> buffer(7000);
  for (;;) {
    auto n = reader.read(buffer.data(), buffer.size());
    if (!n.ok() || *n == 0) {
      return out;
    }
    out.append(buffer.data(), *n);
  }
}

TEST(PostgresStorageTest, PassesTheStorageConformanceSuite) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  for (const auto& check : aimass::testing::checkStorage(*storage)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
  EXPECT_EQ(storage->list("").value(), std::vector<std::string>{});
  auto session = db.session();
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_chunks"), 0)
      << "removed and replaced blobs leave no chunks";
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_uploads"), 0);
}

TEST(PostgresStorageTest, CreatesTheSchemaAndNamesTheServer) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->describe(), db.uri());
  EXPECT_EQ(storage->schemaVersion().value(), PostgresStorage::kSchemaVersion);
  ASSERT_TRUE(storage->put("k", "v").ok());
  storage.reset();
  auto again = db.open();  // opening a migrated database changes nothing
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->get("k").value(), "v");
  auto missing = again->get("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(db.uri()), std::string::npos)
      << missing.status().message();
}

TEST(PostgresStorageTest, MigratesAVersionOneDatabaseAndKeepsItsRecords) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  {
    auto session = db.session();
    *session << "CREATE TABLE schema_version (version INTEGER NOT NULL)", now;
    *session << "INSERT INTO schema_version VALUES (1)", now;
    *session << "CREATE TABLE records (key BYTEA PRIMARY KEY, value BYTEA NOT NULL)", now;
    *session << "INSERT INTO records VALUES ('models/iris'::bytea, 'v1'::bytea)", now;
  }
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->schemaVersion().value(), 2);
  EXPECT_EQ(storage->get("models/iris").value(), "v1");
  auto writer = storage->openWrite("models/iris");
  ASSERT_TRUE(writer.ok()) << writer.status().toString();
  ASSERT_TRUE((*writer)->write("streamed").ok());
  ASSERT_TRUE((*writer)->commit().ok());
  EXPECT_EQ(storage->get("models/iris").value(), "streamed");
}

TEST(PostgresStorageTest, RefusesADatabaseFromANewerPlugin) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  ASSERT_NE(db.open(), nullptr);
  *db.session() << "UPDATE schema_version SET version = 99", now;
  auto storage = PostgresStorage::create(db.options());
  ASSERT_FALSE(storage.ok());
  EXPECT_EQ(storage.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(storage.status().message().find("schema version 99"), std::string::npos);
  EXPECT_NE(storage.status().message().find(db.uri()), std::string::npos);
}

TEST(PostgresStorageTest, ProcessesOpeningANewDatabaseAtOnceMigrateItOnce) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  std::vector<pid_t> children;
  for (int c = 0; c < 4; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto storage = PostgresStorage::create(db.options());
      ::_exit(storage.ok() ? 0 : 1);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(count(*db.session(), "SELECT COUNT(*) FROM schema_version"), 1);
}

TEST(PostgresStorageTest, CompareAndSetIsAtomicAcrossProcesses) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  constexpr int kIncrements = 100;
  auto increment = [](PostgresStorage& storage) -> bool {
    for (int i = 0; i < kIncrements; ++i) {
      for (;;) {
        auto current = storage.get("counter");
        if (!current.ok()) return false;
        auto set = storage.compareAndSet("counter", std::string_view(*current),
                                         std::to_string(std::stoi(*current) + 1));
        if (!set.ok()) return false;
        if (*set) break;
      }
    }
    return true;
  };
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("counter", "0").ok());
  std::vector<pid_t> children;
  for (int c = 0; c < 3; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // Its own storage and connections: a connection is never shared across fork().
      auto own = PostgresStorage::create(db.options());
      ::_exit(own.ok() && increment(**own) ? 0 : 1);
    }
    children.push_back(child);
  }
  EXPECT_TRUE(increment(*storage));
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(storage->get("counter").value(), std::to_string(4 * kIncrements));
}

TEST(PostgresStorageTest, CompareAndSetCreatesAnAbsentKeyOnceAcrossProcesses) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  constexpr int kProcesses = 6;
  std::vector<pid_t> children;
  for (int c = 0; c < kProcesses; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto own = PostgresStorage::create(db.options());
      if (!own.ok()) ::_exit(2);
      auto set = (*own)->compareAndSet("owner", std::nullopt, std::to_string(c));
      ::_exit(!set.ok() ? 2 : *set ? 0 : 1);
    }
    children.push_back(child);
  }
  int winners = 0;
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_NE(WEXITSTATUS(status), 2) << "a process failed to open or compare-and-set";
    winners += WEXITSTATUS(status) == 0;
  }
  EXPECT_EQ(winners, 1);
}

TEST(PostgresStorageTest, BlobsAreStoredInChunksAndReadersKeepTheirSnapshot) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  std::string data(PostgresStorage::kChunkBytes * 2 + 10, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  auto writer = storage->openWrite("blob");
  ASSERT_TRUE(writer.ok()) << writer.status().toString();
  ASSERT_TRUE((*writer)->write(data).ok());
  ASSERT_TRUE((*writer)->commit().ok());
  writer->reset();
  auto session = db.session();
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_chunks"), 3);
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_uploads"), 0);
  EXPECT_EQ(storage->get("blob").value(), data);

  auto reader = storage->openRead("blob");
  ASSERT_TRUE(reader.ok()) << reader.status().toString();
  ASSERT_TRUE(storage->put("blob", "replaced").ok());
  EXPECT_EQ((*reader)->size(), data.size());
  EXPECT_EQ(readAll(**reader), data) << "the reader sees the value as it was when opened";
  EXPECT_EQ(storage->get("blob").value(), "replaced");
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_chunks"), 0)
      << "replacing a blob drops its chunks";

  auto again = storage->openWrite("blob");
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->write(data).ok());
  ASSERT_TRUE((*again)->commit().ok());
  ASSERT_TRUE(storage->remove("blob").ok());
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_chunks"), 0)
      << "removing a blob drops its chunks";
}

TEST(PostgresStorageTest, AnUploadOfAKilledWriterIsRemovedOnOpenAndALiveOneIsNot) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("blob", "old").ok());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto own = PostgresStorage::create(db.options());
    if (!own.ok()) ::_exit(1);
    auto writer = (*own)->openWrite("blob");
    if (!writer.ok()) ::_exit(1);
    if (!(*writer)->write(std::string(PostgresStorage::kChunkBytes * 2, 'x')).ok()) ::_exit(1);
    char byte = 1;
    if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
    ::pause();  // killed here, mid-upload
    ::_exit(1);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the writer did not get going";
  ::close(ready[0]);

  // A live writer in this process too: opening the store must leave its upload alone.
  auto live = storage->openWrite("other");
  ASSERT_TRUE(live.ok());
  ASSERT_TRUE((*live)->write(std::string(PostgresStorage::kChunkBytes, 'y')).ok());

  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto session = db.session();
  // The server releases the killed client's advisory lock once it sees the socket close.
  const std::string held_locks =
      "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
      "(SELECT oid FROM pg_database WHERE datname = current_database())";
  for (int i = 0; i < 200 && count(*session, held_locks) > 1; ++i) {
    ::usleep(25000);
  }
  ASSERT_EQ(count(*session, held_locks), 1) << "the killed writer's lock is still held";
  auto reopened = db.open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_uploads"), 1)
      << "only the live writer's upload is left";
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_chunks"), 1);
  EXPECT_EQ(reopened->get("blob").value(), "old");
  ASSERT_TRUE((*live)->commit().ok());
  EXPECT_EQ(reopened->get("other").value(), std::string(PostgresStorage::kChunkBytes, 'y'));
  EXPECT_EQ(count(*session, "SELECT COUNT(*) FROM blob_uploads"), 0);
}

TEST(PostgresStorageTest, ListIsARangeOnThePrimaryKeyAndSortsBytewise) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("a\xff/x", "1").ok());
  ASSERT_TRUE(storage->put("a\xff\xff", "2").ok());
  ASSERT_TRUE(storage->put("b", "3").ok());
  ASSERT_TRUE(storage->put("B", "4").ok());
  EXPECT_EQ(storage->list("a\xff").value(), (std::vector<std::string>{"a\xff/x", "a\xff\xff"}));
  EXPECT_EQ(storage->list("").value(),
            (std::vector<std::string>{"B", "a\xff/x", "a\xff\xff", "b"}));
  // The planner's own choice (no enable_seqscan = off) for the very query list() runs, on a
  // table large enough that a scan would cost more: 20,000 keys, statistics fresh, the range
  // holding 10 of them. Dropping the primary key's index, or a query the index cannot serve
  // (LIKE, a function of key), makes this a "Seq Scan".
  auto session = db.session();
  *session << "INSERT INTO records (key, value) SELECT convert_to('k/' || lpad(i::text, 6, '0'), "
              "'UTF8'), ''::bytea FROM generate_series(1, 20000) AS i",
      now;
  *session << "ANALYZE records", now;
  // The bounds written into the query: the plan PostgreSQL makes for a prepared statement's
  // first executions, planned for their values (Poco would take $1 and $2 in the text of an
  // EXPLAIN or PREPARE for parameters of its own).
  std::string sql = std::string("EXPLAIN ") + PostgresStorage::kListRangeSql;
  sql.replace(sql.find("$1"), 2, "'k/00001'::bytea");
  sql.replace(sql.find("$2"), 2, "'k/00002'::bytea");
  std::vector<std::string> plan;
  *session << sql, into(plan), now;
  std::string joined;
  for (const auto& line : plan) joined += line + "\n";
  EXPECT_NE(joined.find("using records_pkey"), std::string::npos) << joined;
  EXPECT_EQ(joined.find("Seq Scan"), std::string::npos) << joined;
  EXPECT_EQ(storage->list("k/00001").value().size(), 10u);
}

TEST(PostgresStorageTest, BadSettingsGiveClearErrors) {
  auto server = sharedServer();
  ASSERT_TRUE(server);
  auto expectError = [](const PostgresOptions& options, StatusCode code,
                        const std::string& mentions) {
    auto storage = PostgresStorage::create(options);
    ASSERT_FALSE(storage.ok()) << options.uri;
    EXPECT_EQ(storage.status().code(), code) << storage.status().toString();
    EXPECT_NE(storage.status().message().find(mentions), std::string::npos)
        << storage.status().message() << " should mention " << mentions;
  };
  expectError(optionsFor("mysql://x@127.0.0.1/db"), StatusCode::kInvalidArgument, "mysql://");
  expectError(optionsFor("postgresql://u@127.0.0.1/db?sslmode"), StatusCode::kInvalidArgument,
              "malformed uri");
  expectError(optionsFor("postgresql://u@127.0.0.1:notaport/db"), StatusCode::kInvalidArgument,
              "notaport");
  expectError(optionsFor("postgresql://u:secret@127.0.0.1/db"), StatusCode::kInvalidArgument,
              "password_env");
  PostgresOptions unset = optionsFor(server->uri);
  unset.password_env = "AIMASS_TEST_PG_NO_SUCH_VARIABLE";
  expectError(unset, StatusCode::kInvalidArgument, "AIMASS_TEST_PG_NO_SUCH_VARIABLE");
  ::setenv("AIMASS_TEST_PG_WRONG_PASSWORD", "wrong", 1);
  PostgresOptions wrong = optionsFor(server->uri);
  wrong.password_env = "AIMASS_TEST_PG_WRONG_PASSWORD";
  expectError(wrong, StatusCode::kPermissionDenied, "password authentication failed");
  expectError(optionsFor(server->uriFor("no_such_database")), StatusCode::kNotFound,
              "no_such_database");
  // Nothing listens on port 1.
  std::string closed = "postgresql://aimass@127.0.0.1:1/aimass";
  expectError(optionsFor(closed), StatusCode::kUnavailable, closed);
}

TEST(PostgresStorageTest, WithoutPasswordEnvLibpqFindsThePasswordInPgpassword) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  PostgresOptions options = db.options();
  options.password_env.clear();
  ::setenv("PGPASSWORD", std::getenv(kPasswordVariable), 1);
  auto storage = PostgresStorage::create(options);
  ::unsetenv("PGPASSWORD");
  ASSERT_TRUE(storage.ok()) << storage.status().toString();
  EXPECT_TRUE((*storage)->put("k", "v").ok());
}

TEST(PostgresStorageTest, TheModelRegistryWorksOnPostgres) {
  TestDatabase db;
  ASSERT_TRUE(db.ready());
  auto storage = db.open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("artifacts/iris/a", "model bytes a").ok());
  ASSERT_TRUE(storage->put("artifacts/iris/b", "model bytes b").ok());
  // Two processes register versions of the same model at once: distinct numbers.
  constexpr int kPerProcess = 10;
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto own = PostgresStorage::create(db.options());
      if (!own.ok()) ::_exit(1);
      core::ModelRegistry registry(**own);
      for (int i = 0; i < kPerProcess; ++i) {
        core::NewModelVersion info;
        info.artifact_key = "artifacts/iris/a";
        info.node = "train";
        info.node_type = "model.softmax";
        if (!registry.registerVersion("iris", info).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  core::ModelRegistry registry(*storage);
  auto versions = registry.listVersions("iris");
  ASSERT_TRUE(versions.ok()) << versions.status().toString();
  ASSERT_EQ(versions->size(), 2u * kPerProcess);
  for (std::size_t i = 0; i < versions->size(); ++i) {
    EXPECT_EQ((*versions)[i].version, static_cast<std::int64_t>(i + 1));
  }
  ASSERT_TRUE(registry.promote("iris", "champion", 3).ok());
  ASSERT_TRUE(registry.promote("iris", "champion", 7).ok());
  EXPECT_EQ(registry.resolve("iris@champion").value().version, 7);
  ASSERT_TRUE(registry.rollback("iris", "champion").ok());
  EXPECT_EQ(registry.resolve("iris@champion").value().version, 3);
  EXPECT_TRUE(registry.verifyArtifact(registry.resolve("iris/5").value()).ok());
  // A corrupted artifact is caught by its checksum, naming the key.
  ASSERT_TRUE(storage->put("artifacts/iris/a", "tampered").ok());
  Status verified = registry.verifyArtifact(registry.resolve("iris/5").value());
  EXPECT_EQ(verified.code(), StatusCode::kDataLoss);
  EXPECT_NE(verified.message().find("artifacts/iris/a"), std::string::npos) << verified.message();
  ASSERT_TRUE(registry.deleteVersion("iris", 20, false).ok());
  EXPECT_EQ(registry.getVersion("iris", 20).status().code(), StatusCode::kNotFound);
}

/// A server of this test's own, in a temporary folder, destroyed at the end.
class OwnServer {
 public:
  OwnServer() {
    if (std::system(("bash " + kScript + " start " + state().string() + " > /dev/null").c_str()) ==
        0) {
      server_ = Server::fromState(state());
      ::setenv("AIMASS_TEST_PG_OWN_PASSWORD", server_.password.c_str(), 1);
    }
  }
  ~OwnServer() {
    EXPECT_EQ(std::system(("bash " + kScript + " destroy " + state().string()).c_str()), 0);
  }
  bool ready() const { return !server_.uri.empty(); }
  bool stop() const {
    return std::system(("bash " + kScript + " stop " + state().string()).c_str()) == 0;
  }
  bool start() const {
    return std::system(
               ("bash " + kScript + " start " + state().string() + " > /dev/null").c_str()) == 0;
  }
  PostgresOptions options() const {
    PostgresOptions options = optionsFor(server_.uri);
    options.password_env = "AIMASS_TEST_PG_OWN_PASSWORD";
    return options;
  }
  const std::string& uri() const { return server_.uri; }

 private:
  fs::path state() const { return dir_.path() / "server"; }
  TempDir dir_;
  Server server_;
};

TEST(PostgresStorageTest, ReconnectsAfterTheServerRestarts) {
  OwnServer server;
  ASSERT_TRUE(server.ready()) << "could not start a server with " << kScript;
  auto created = PostgresStorage::create(server.options());
  ASSERT_TRUE(created.ok()) << created.status().toString();
  auto& storage = **created;
  ASSERT_TRUE(storage.put("k", "before").ok());
  EXPECT_EQ(storage.get("k").value(), "before");

  // Down: every call fails with kUnavailable naming the server, first on the pooled (now
  // dead) connection, then when connecting.
  ASSERT_TRUE(server.stop());
  for (int i = 0; i < 2; ++i) {
    auto down = storage.get("k");
    ASSERT_FALSE(down.ok());
    EXPECT_EQ(down.status().code(), StatusCode::kUnavailable) << down.status().toString();
    EXPECT_NE(down.status().message().find(server.uri()), std::string::npos)
        << down.status().message();
  }
  Status put_down = storage.put("k", "while down");
  EXPECT_EQ(put_down.code(), StatusCode::kUnavailable) << put_down.toString();

  // Back: the next call succeeds, without re-creating the storage.
  ASSERT_TRUE(server.start());
  auto back = storage.get("k");
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(*back, "before");
  ASSERT_TRUE(storage.put("k", "after").ok());

  // A restart nobody saw (no call while it was down): the first call after it succeeds too,
  // even though every pooled connection is dead.
  ASSERT_TRUE(server.stop());
  ASSERT_TRUE(server.start());
  auto unseen = storage.get("k");
  ASSERT_TRUE(unseen.ok()) << unseen.status().toString();
  EXPECT_EQ(*unseen, "after");
  auto cas = storage.compareAndSet("k", std::string_view("after"), "again");
  ASSERT_TRUE(cas.ok()) << cas.status().toString();
  EXPECT_TRUE(*cas);
}

TEST(PostgresStorageTest, RegistersStoragePostgresWithDocumentedParameters) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "storage.postgres");
  EXPECT_EQ(type.kind, NodeKind::kStorage);
  std::vector<std::string> names;
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    names.push_back(spec.name);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"uri", "password_env", "pool_size", "connect_timeout_s"}));

  TestDatabase db;
  ASSERT_TRUE(db.ready());
  NodeConfig config("store", type.type, nullptr);
  for (const auto& spec : type.params) {
    config.setValue(spec.name, spec.default_value);
  }
  config.setValue("uri", db.uri());
  config.setValue("password_env", std::string(kPasswordVariable));
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_EQ(static_cast<Storage&>(**node).describe(), db.uri());

  config.setValue("uri", std::string("postgresql://aimass@127.0.0.1:1/x?sslmode=bogus"));
  auto bad = type.factory(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("127.0.0.1:1"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace aimass::plugins::storage
