// SPDX-License-Identifier: Apache-2.0
// The storage.sqlite backup and restore procedure of docs/operations.md, done for real: an
// online `sqlite3 .backup` while `aimass run` serves the store, more changes afterwards, then a
// restore (old write-ahead log removed, backup copied in) that aimass opens, verifies and
// serves in the backup's state.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "aimass_server.h"
#include "shell.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSqlite3 = "/usr/bin/sqlite3";

using Result = aimass::testing::ShellResult;

using aimass::testing::runShell;

/// `aimass ARGS` in `dir`, without AIMASS_PLUGIN_PATH.
Result aimass(const fs::path& dir, const std::string& args) {
  return runShell(dir, std::string("env -u AIMASS_PLUGIN_PATH '") + AIMASS_EXECUTABLE + "' " + args);
}

std::string getBody(int port, const std::string& target) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  EXPECT_EQ(response.getStatus(), Poco::Net::HTTPResponse::HTTP_OK) << target << ": " << body;
  return body;
}

TEST(SqliteBackup, OnlineBackupRestoresIntoAStoreAimassServes) {
  if (::access(kSqlite3, X_OK) != 0) {
    AIMASS_SKIP_OR_FAIL("sqlite3 is not installed (scripts/install-deps.sh installs it)");
  }
  aimass::testing::TempDir dir("aimass-backup");
  ASSERT_FALSE(dir.path().empty());
  const fs::path& d = dir.path();
  fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs" / "data" / "pumps.csv", d / "pumps.csv");
  std::ofstream(d / "train.yaml")
      << "nodes:\n"
         "  store: {type: storage.sqlite, path: store.db}\n"
         "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
         "  pump_state: {type: model.softmax}\n"
         "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
         "  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd,\n"
         "          epochs: 2, storage: store}\n";
  std::ofstream(d / "serve.yaml")
      << "nodes:\n"
         "  store: {type: storage.sqlite, path: store.db}\n"
         "  serving: {type: serving.runtime, repository: store, load: [pump_state@champion]}\n"
         "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";

  Result trained = aimass(d, "run train.yaml");
  ASSERT_EQ(trained.code, 0) << trained.output;
  Result promoted =
      aimass(d, "models promote pump_state 1 --alias champion --storage sqlite:store.db");
  ASSERT_EQ(promoted.code, 0) << promoted.output;

  {
    aimass::testing::AimassServer server((d / "serve.yaml").string());
    const int port = server.waitForPort();
    ASSERT_GT(port, 0) << server.err();

    // Online backup while the server has the store open, then changes the backup must not see.
    Result backup = runShell(d, std::string(kSqlite3) + " store.db '.backup backup.db'");
    ASSERT_EQ(backup.code, 0) << backup.output;
    Result retrained = aimass(d, "run train.yaml");
    ASSERT_EQ(retrained.code, 0) << retrained.output;
    ASSERT_THAT(retrained.output, HasSubstr("registered pump_state version 2"));
    ASSERT_EQ(
        aimass(d, "models promote pump_state 2 --alias champion --storage sqlite:store.db").code,
        0);
    EXPECT_THAT(getBody(port, "/v2/models/pump_state"), HasSubstr("\"versions\":[\"1\"]"));
    EXPECT_EQ(server.stop(), 0) << server.err();
  }
  Result check = runShell(d, std::string(kSqlite3) + " backup.db 'PRAGMA integrity_check'");
  EXPECT_EQ(check.output, "ok\n");

  // Restore: drop the old write-ahead log, put the backup in place.
  std::error_code ec;
  fs::remove(d / "store.db-wal", ec);
  fs::remove(d / "store.db-shm", ec);
  fs::copy_file(d / "backup.db", d / "store.db", fs::copy_options::overwrite_existing);

  Result one = aimass(d, "models show pump_state/1 --storage sqlite:store.db");
  EXPECT_EQ(one.code, 0) << one.output;  // its artifact re-hashed against the recorded SHA-256
  Result two = aimass(d, "models show pump_state/2 --storage sqlite:store.db");
  EXPECT_EQ(two.code, 2) << two.output;
  Result model = aimass(d, "models show pump_state --storage sqlite:store.db");
  EXPECT_EQ(model.code, 0) << model.output;
  EXPECT_THAT(model.output, HasSubstr("champion"));
  Result runs = aimass(d, "runs list --storage sqlite:store.db");
  EXPECT_EQ(runs.code, 0) << runs.output;
  EXPECT_THAT(runs.output, HasSubstr("finished"));

  aimass::testing::AimassServer restored((d / "serve.yaml").string());
  const int port = restored.waitForPort();
  ASSERT_GT(port, 0) << restored.err();
  EXPECT_THAT(getBody(port, "/v2/models/pump_state"), HasSubstr("\"versions\":[\"1\"]"));
  EXPECT_THAT(restored.err(), Not(HasSubstr("ERROR")));
  EXPECT_EQ(restored.stop(), 0) << restored.err();
}

}  // namespace
