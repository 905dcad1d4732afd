// SPDX-License-Identifier: Apache-2.0
#include "sqlite.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

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

std::unique_ptr<SqliteStorage> open(const fs::path& file) {
  auto storage = SqliteStorage::create(file, 5000);
  EXPECT_TRUE(storage.ok()) << storage.status().toString();
  return storage.ok() ? std::move(storage).value() : nullptr;
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

TEST(SqliteStorageTest, PassesTheStorageConformanceSuite) {
  TempDir dir;
  auto storage = open(dir.path() / "store.db");
  ASSERT_NE(storage, nullptr);
  for (const auto& check : aimass::testing::checkStorage(*storage)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
  EXPECT_TRUE(storage->integrityCheck().ok());
  EXPECT_EQ(storage->list("").value(), std::vector<std::string>{});
}

TEST(SqliteStorageTest, CreatesFoldersUsesWalAndRecordsTheSchemaVersion) {
  TempDir dir;
  fs::path file = dir.path() / "a" / "b" / "store.db";
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->describe(), "sqlite:" + file.string());
  EXPECT_EQ(storage->schemaVersion().value(), SqliteStorage::kSchemaVersion);
  ASSERT_TRUE(storage->put("k", "v").ok());
  EXPECT_TRUE(fs::exists(file.string() + "-wal")) << "the database runs in WAL mode";
  storage.reset();
  auto again = open(file);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->get("k").value(), "v");
}

// The durability the README promises (a crash loses nothing committed, a power loss at most
// the latest commits) rests on WAL and synchronous=NORMAL on every connection.
TEST(SqliteStorageTest, EveryConnectionRunsWalWithSynchronousNormal) {
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->pragma("journal_mode").value(), "wal");
  EXPECT_EQ(storage->pragma("synchronous").value(), "1") << "1 is NORMAL";
  EXPECT_EQ(storage->pragma("busy_timeout").value(), "5000");
  // A reader of a streamed blob holds the pool's one idle connection: the next call opens
  // another, which must have the same settings.
  auto writer = storage->openWrite("blob");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write("data").ok());
  ASSERT_TRUE((*writer)->commit().ok());
  auto reader = storage->openRead("blob");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(storage->pragma("synchronous").value(), "1");
  EXPECT_EQ(storage->pragma("journal_mode").value(), "wal");
  // WAL is a property of the file: a connection of someone else's sees it too.
  Poco::Data::Session session("SQLite", file.string());
  std::string mode;
  session << "PRAGMA journal_mode", into(mode), now;
  EXPECT_EQ(mode, "wal");
  auto bad = storage->pragma("synchronous = OFF");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'synchronous = OFF' is not a pragma name"),
            std::string::npos)
      << bad.status().toString();
}

TEST(SqliteStorageTest, MigratesAVersionOneDatabaseAndKeepsItsRecords) {
  TempDir dir;
  fs::path file = dir.path() / "old.db";
  {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::Session session("SQLite", file.string());
    session << "CREATE TABLE schema_version (version INTEGER NOT NULL)", now;
    session << "INSERT INTO schema_version VALUES (1)", now;
    session << "CREATE TABLE records (key TEXT PRIMARY KEY, value BLOB NOT NULL)", now;
    session << "INSERT INTO records VALUES ('models/iris', X'7631')", now;
  }
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->schemaVersion().value(), 2);
  EXPECT_EQ(storage->get("models/iris").value(), "v1");
  auto writer = storage->openWrite("models/iris");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write("streamed").ok());
  ASSERT_TRUE((*writer)->commit().ok());
  EXPECT_EQ(storage->get("models/iris").value(), "streamed");
}

TEST(SqliteStorageTest, RefusesADatabaseFromANewerPlugin) {
  TempDir dir;
  fs::path file = dir.path() / "new.db";
  ASSERT_NE(open(file), nullptr);
  {
    Poco::Data::Session session("SQLite", file.string());
    session << "UPDATE schema_version SET version = 99", now;
  }
  auto storage = SqliteStorage::create(file, 5000);
  ASSERT_FALSE(storage.ok());
  EXPECT_EQ(storage.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(storage.status().message().find("schema version 99"), std::string::npos);
  EXPECT_NE(storage.status().message().find(file.string()), std::string::npos);
}

TEST(SqliteStorageTest, AnUnwritablePathGivesAClearError) {
  TempDir dir;
  fs::path locked = dir.path() / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  // Root ignores permissions, so the check runs in a child that drops to an ordinary user.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    auto storage = SqliteStorage::create(locked / "store.db", 100);
    if (storage.ok()) ::_exit(11);
    if (storage.status().code() != StatusCode::kPermissionDenied) ::_exit(12);
    if (storage.status().message().find((locked / "store.db").string()) == std::string::npos) {
      ::_exit(13);
    }
    if (storage.status().message().find("Permission denied") == std::string::npos) ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: could not drop privileges, 11: accepted, 12: wrong code, 13: path not named, "
         "14: OS error not named";

  auto folder = SqliteStorage::create(dir.path(), 100);
  EXPECT_EQ(folder.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(folder.status().message().find("is a folder"), std::string::npos);
  EXPECT_EQ(SqliteStorage::create("", 100).status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteStorageTest, ACorruptFileIsReportedWithItsPath) {
  TempDir dir;
  fs::path file = dir.path() / "junk.db";
  std::ofstream(file) << std::string(8192, 'x');
  auto storage = SqliteStorage::create(file, 100);
  ASSERT_FALSE(storage.ok());
  EXPECT_NE(storage.status().message().find(file.string()), std::string::npos)
      << storage.status().message();
}

TEST(SqliteStorageTest, CompareAndSetIsAtomicAcrossProcesses) {
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  constexpr int kIncrements = 100;
  auto increment = [](SqliteStorage& storage) -> bool {
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
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("counter", "0").ok());
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto own = SqliteStorage::create(file, 10000);
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
  EXPECT_EQ(storage->get("counter").value(), std::to_string(3 * kIncrements));
}

TEST(SqliteStorageTest, AWriterKilledMidWriteLeavesAnIntactDatabaseWithOldOrNewValues) {
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  const std::string a(1 << 20, 'a'), b(1 << 20, 'b');
  {
    auto storage = open(file);
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(storage->put("inline", a).ok());
    ASSERT_TRUE(storage->put("streamed", a).ok());
  }
  for (int round = 0; round < 4; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto storage = SqliteStorage::create(file, 5000);
      for (int i = 0; storage.ok(); ++i) {
        const std::string& value = i % 2 ? a : b;
        (*storage)->put("inline", value).ignoreError();
        auto writer = (*storage)->openWrite("streamed");
        if (writer.ok()) {
          for (std::size_t off = 0; off < value.size(); off += 100000) {
            (*writer)->write(std::string_view(value).substr(off, 100000)).ignoreError();
          }
          (*writer)->commit().ignoreError();
        }
        (*storage)->put("count/" + std::to_string(i % 50), value.substr(0, 1000)).ignoreError();
      }
      ::_exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(40 + 37 * round));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    auto storage = open(file);
    ASSERT_NE(storage, nullptr);
    Status integrity = storage->integrityCheck();
    EXPECT_TRUE(integrity.ok()) << integrity.toString();
    for (const char* key : {"inline", "streamed"}) {
      auto value = storage->get(key);
      ASSERT_TRUE(value.ok()) << value.status().toString();
      EXPECT_TRUE(*value == a || *value == b) << key << ": torn value of " << value->size();
    }
  }
  // The killed writers' uploads were removed when the store was opened again.
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  Poco::Data::Session session("SQLite", file.string());
  int uploads = -1;
  int orphan_chunks = -1;
  session << "SELECT COUNT(*) FROM blob_uploads", into(uploads), now;
  session << "SELECT COUNT(*) FROM blob_chunks WHERE blob_id NOT IN "
             "(SELECT blob_id FROM records WHERE blob_id IS NOT NULL)",
      into(orphan_chunks), now;
  EXPECT_EQ(uploads, 0);
  EXPECT_EQ(orphan_chunks, 0);
}

TEST(SqliteStorageTest, BlobsAreStoredInChunksAndReadersKeepTheirSnapshot) {
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  std::string data(SqliteStorage::kChunkBytes * 2 + 10, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  auto writer = storage->openWrite("blob");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write(data).ok());
  ASSERT_TRUE((*writer)->commit().ok());
  {
    Poco::Data::Session session("SQLite", file.string());
    int chunks = 0;
    session << "SELECT COUNT(*) FROM blob_chunks", into(chunks), now;
    EXPECT_EQ(chunks, 3);
  }
  auto reader = storage->openRead("blob");
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(storage->put("blob", "replaced").ok());
  EXPECT_EQ((*reader)->size(), data.size());
  EXPECT_EQ(readAll(**reader), data) << "the reader sees the value as it was when opened";
  EXPECT_EQ(storage->get("blob").value(), "replaced");
  ASSERT_TRUE(storage->remove("blob").ok());
  Poco::Data::Session session("SQLite", file.string());
  int chunks = -1;
  session << "SELECT COUNT(*) FROM blob_chunks", into(chunks), now;
  EXPECT_EQ(chunks, 0) << "replacing and removing drop the old chunks";
}

int chunkRows(const fs::path& file) {
  Poco::Data::Session session("SQLite", file.string());
  int chunks = -1;
  session << "SELECT COUNT(*) FROM blob_chunks", into(chunks), now;
  return chunks;
}

void writeBlob(SqliteStorage& storage, const std::string& key, const std::string& data) {
  auto writer = storage.openWrite(key);
  ASSERT_TRUE(writer.ok()) << writer.status().toString();
  ASSERT_TRUE((*writer)->write(data).ok());
  ASSERT_TRUE((*writer)->commit().ok());
}

// put(), remove() and compareAndSet() take one statement for an inline record and a
// transaction for a streamed one: a key moving between the two keeps its value exact and
// leaves no chunk behind.
TEST(SqliteStorageTest, AKeyMovesBetweenInlineAndStreamedValues) {
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  std::string big(SqliteStorage::kChunkBytes + 3, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13);
  const std::string binary("a\0b\xff", 4);

  ASSERT_TRUE(storage->put("k", binary).ok());
  writeBlob(*storage, "k", big);
  EXPECT_EQ(storage->get("k").value(), big);
  EXPECT_EQ(chunkRows(file), 2);
  EXPECT_FALSE(storage->compareAndSet("k", std::nullopt, "x").value());
  EXPECT_FALSE(storage->compareAndSet("k", big.substr(1), "x").value());
  EXPECT_FALSE(storage->compareAndSet("k", binary, "x").value());
  EXPECT_EQ(storage->get("k").value(), big) << "a failed compare-and-set changes nothing";
  EXPECT_TRUE(storage->compareAndSet("k", big, binary).value());
  EXPECT_EQ(storage->get("k").value(), binary);
  EXPECT_EQ(chunkRows(file), 0);

  EXPECT_TRUE(storage->compareAndSet("k", binary, "").value());
  EXPECT_EQ(storage->get("k").value(), "");
  EXPECT_FALSE(storage->compareAndSet("k", std::nullopt, "y").value());
  EXPECT_TRUE(storage->compareAndSet("k", "", "y").value()) << "an empty value compares equal";
  EXPECT_EQ(storage->get("k").value(), "y");

  writeBlob(*storage, "k", big);
  ASSERT_TRUE(storage->put("k", "small").ok());
  EXPECT_EQ(storage->get("k").value(), "small");
  EXPECT_EQ(chunkRows(file), 0) << "a put over a streamed value drops its chunks";

  writeBlob(*storage, "k", big);
  ASSERT_TRUE(storage->remove("k").ok());
  EXPECT_EQ(storage->get("k").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage->remove("k").code(), StatusCode::kNotFound);
  EXPECT_FALSE(storage->compareAndSet("k", "small", "z").value());
  EXPECT_EQ(chunkRows(file), 0);
  EXPECT_TRUE(storage->compareAndSet("k", std::nullopt, binary).value());
  EXPECT_EQ(storage->get("k").value(), binary);
  EXPECT_TRUE(storage->integrityCheck().ok());
}

// Each pooled connection keeps its prepared statements: many calls from several threads and a
// second store on the same file (another connection pool), with the schema changed midway
// (which makes SQLite prepare the statements again), all see each other's writes.
TEST(SqliteStorageTest, PreparedStatementsServeManyCallsThreadsAndStores) {
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  auto first = open(file);
  auto second = open(file);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(first->put("counter", "0").ok());
  constexpr int kThreads = 4;
  constexpr int kRounds = 150;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SqliteStorage& storage = t % 2 == 0 ? *first : *second;
      for (int i = 0; i < kRounds; ++i) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i % 7);
        const std::string value(1000 + i, static_cast<char>('a' + t));
        auto got = storage.put(key, value).ok() ? storage.get(key) : Expected<std::string>("");
        if (!got.ok() || *got != value) {
          ++failures[t];
        }
        for (;;) {  // increment the shared counter
          auto current = storage.get("counter");
          if (!current.ok()) {
            ++failures[t];
            break;
          }
          auto set =
              storage.compareAndSet("counter", *current, std::to_string(std::stoi(*current) + 1));
          if (!set.ok()) {
            ++failures[t];
            break;
          }
          if (*set) {
            break;
          }
        }
        if (i % 7 == 6 && !storage.remove(key).ok()) {
          ++failures[t];
        }
      }
    });
  }
  {
    Poco::Data::Session session("SQLite", file.string());
    session << "PRAGMA busy_timeout = 5000", now;
    session << "CREATE TABLE unrelated (x INTEGER)", now;
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures, std::vector<int>(kThreads, 0));
  EXPECT_EQ(first->get("counter").value(), std::to_string(kThreads * kRounds));
  EXPECT_EQ(second->list("t1/").value(),
            (std::vector<std::string>{"t1/0", "t1/1", "t1/2", "t1/3", "t1/4", "t1/5"}));
  EXPECT_EQ(first->get("t2/5").value(), std::string(1000 + 145, 'c'));
  EXPECT_TRUE(second->integrityCheck().ok());
}

// A writer that holds the write lock longer than busy_timeout_ms makes every record change
// fail with kUnavailable naming the file, while reads go on from the WAL snapshot.
TEST(SqliteStorageTest, AHeldWriteLockGivesUnavailableAndReadsGoOn) {
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  auto created = SqliteStorage::create(file, 50);
  ASSERT_TRUE(created.ok()) << created.status().toString();
  SqliteStorage& storage = **created;
  ASSERT_TRUE(storage.put("k", "old").ok());
  Poco::Data::Session other("SQLite", file.string());
  other << "BEGIN IMMEDIATE", now;
  other << "UPDATE records SET value = X'6E6577' WHERE key = 'k'", now;
  for (const Status& status :
       {storage.put("k", "mine"), storage.put("fresh", "v"), storage.remove("k"),
        storage.compareAndSet("k", std::string_view("old"), "mine").status(),
        storage.compareAndSet("fresh", std::nullopt, "v").status()}) {
    EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.toString();
    EXPECT_NE(status.message().find(file.string()), std::string::npos) << status.toString();
  }
  EXPECT_EQ(storage.get("k").value(), "old") << "readers see the last committed value";
  other << "COMMIT", now;
  EXPECT_EQ(storage.get("k").value(), "new");
  EXPECT_TRUE(storage.compareAndSet("k", std::string_view("new"), "mine").value());
  EXPECT_EQ(storage.get("k").value(), "mine");
}

TEST(SqliteStorageTest, ListUsesAnIndexRangeNotAScan) {
  EXPECT_EQ(prefixUpperBound("ab"), "ac");
  EXPECT_EQ(prefixUpperBound("a\xff"), "b");
  EXPECT_EQ(prefixUpperBound("\xff\xff"), std::nullopt);
  EXPECT_EQ(prefixUpperBound(""), std::nullopt);
  TempDir dir;
  const fs::path file = dir.path() / "store.db";
  auto storage = open(file);
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("a\xff/x", "1").ok());
  ASSERT_TRUE(storage->put("a\xff\xff", "2").ok());
  ASSERT_TRUE(storage->put("b", "3").ok());
  EXPECT_EQ(storage->list("a\xff").value(), (std::vector<std::string>{"a\xff/x", "a\xff\xff"}));
  // The plan of the very query list() runs: a search of the primary key's index. Dropping the
  // index, or a query it cannot serve (LIKE, a function of key), makes this "SCAN records".
  Poco::Data::Session session("SQLite", file.string());
  std::vector<std::string> plan;
  std::vector<int> ids, parents, unused;
  std::string low = "a", high = "b";
  session << std::string("EXPLAIN QUERY PLAN ") + SqliteStorage::kListRangeSql, into(ids),
      into(parents), into(unused), into(plan), use(low), use(high), now;
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_NE(plan[0].find("SEARCH records USING"), std::string::npos) << plan[0];
  EXPECT_NE(plan[0].find("INDEX"), std::string::npos) << plan[0];
  EXPECT_EQ(plan[0].find("SCAN"), std::string::npos) << plan[0];
}

TEST(SqliteStorageTest, RegistersStorageSqliteWithAnExamplePath) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "storage.sqlite");
  TempDir dir;
  NodeConfig config("store", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty());
    if (spec.required) {
      std::string value = spec.example;
      value.replace(value.find("{tmp}"), 5, dir.path().string());
      config.setValue(spec.name, value);
    } else {
      config.setValue(spec.name, spec.default_value);
    }
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_TRUE(fs::exists(dir.path() / "store.db"));
}

}  // namespace
}  // namespace aimass::plugins::storage
