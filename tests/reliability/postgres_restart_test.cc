// SPDX-License-Identifier: Apache-2.0
// PostgreSQL stopped and restarted under a running `aimass run`: a real server process with
// frontend.http whose storage (and model repository) is storage.postgres, on a PostgreSQL of
// this test's own (scripts/postgres-test-server.sh in a temporary folder, so stopping it
// disturbs no other test). While the database is down, /api/v1 reads and changes and loading a
// model from the registry answer 503 with a JSON error naming the unreachable database, and
// the server stays up (health/live answers); once it is back the same requests succeed,
// without restarting aimass. A training run started while the database is down fails with a
// clear error, too.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "aimass_server.h"
#include "http_call.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Result = aimass::testing::AimassResult;
using Server = aimass::testing::AimassServer;
using aimass::testing::readWholeFile;
using aimass::testing::runAimass;

constexpr char kPasswordVariable[] = "AIMASS_TEST_PG_RESTART_PASSWORD";
const std::string kScript = std::string(AIMASS_SOURCE_DIR) + "/scripts/postgres-test-server.sh";

std::string firstLine(const fs::path& path) {
  std::string text = readWholeFile(path);
  return text.substr(0, text.find('\n'));
}

/// A PostgreSQL server of this test's own (scripts/postgres-test-server.sh), destroyed at the
/// end. stop() and start() keep its data and port.
class Database {
 public:
  explicit Database(fs::path state) : state_(std::move(state)) {
    if (script("start") == 0) {
      uri_ = firstLine(state_ / "uri");
      ::setenv(kPasswordVariable, firstLine(state_ / "password").c_str(), 1);
    }
  }
  ~Database() { EXPECT_EQ(script("destroy"), 0); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& uri() const { return uri_; }
  bool stop() const { return script("stop") == 0; }
  bool start() const { return script("start") == 0; }

 private:
  int script(const std::string& action) const {
    return std::system(("bash " + kScript + " " + action + " " + state_.string() + " > " +
                        (state_.parent_path() / ("postgres-" + action + ".log")).string() + " 2>&1")
                           .c_str());
  }
  fs::path state_;
  std::string uri_;
};

using Reply = aimass::testing::HttpReply;

Reply call(int port, const std::string& method, const std::string& target,
           const std::string& body = "") {
  return aimass::testing::httpCall(static_cast<std::uint16_t>(port), method, target, body);
}

/// The "error" of a JSON error body; empty (and a test failure) when the body is not one.
std::string errorOf(const Reply& reply) {
  try {
    auto body = Poco::JSON::Parser().parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    EXPECT_TRUE(body->has("error")) << reply.body;
    return body->optValue<std::string>("error", "");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a JSON object (" << e.what() << "): " << reply.body;
    return "";
  }
}

TEST(PostgresRestart, RequestsFailClearlyWhileTheDatabaseIsDownAndSucceedAfter) {
  aimass::testing::TempDir dir("aimass-pg-restart");
  ASSERT_FALSE(dir.path().empty());
  Database database(dir.path() / "server");
  ASSERT_FALSE(database.uri().empty()) << "could not start a PostgreSQL server with " << kScript
                                       << ": " << readWholeFile(dir.path() / "postgres-start.log");
  const std::string store = "  store: {type: storage.postgres, uri: \"" + database.uri() +
                            "\", password_env: " + kPasswordVariable + "}\n";
  fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv", dir.path() / "pumps.csv");
  const fs::path train = dir.path() / "train.yaml", serve = dir.path() / "serve.yaml";
  std::ofstream(train) << "nodes:\n"
                       << store
                       << "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
                          "  pump_state: {type: model.softmax}\n"
                          "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
                          "  train: {type: job.train, model: pump_state, dataset: pumps, "
                          "optimizer: sgd, epochs: 2, storage: store}\n";
  std::ofstream(serve) << "nodes:\n"
                       << store
                       << "  serving: {type: serving.runtime, repository: store}\n"
                          "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
  for (int i = 0; i < 2; ++i) {
    Result trained = runAimass(dir.path(), {"run", train.string()});
    ASSERT_EQ(trained.code, 0) << trained.err;
  }

  Server server(serve.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();

  // What a client does: read the registry, move an alias, load a model from the registry.
  auto expect_all_succeed = [&](const std::string& when, int version) {
    Reply models = call(port, "GET", "/api/v1/models");
    EXPECT_EQ(models.status, 200) << when << ": " << models.body;
    EXPECT_THAT(models.body, HasSubstr("pump_state")) << when;
    Reply promoted = call(port, "POST", "/api/v1/models/pump_state/aliases/champion",
                          "{\"version\": " + std::to_string(version) + "}");
    EXPECT_EQ(promoted.status, 200) << when << ": " << promoted.body;
    Reply runs = call(port, "GET", "/api/v1/runs");
    EXPECT_EQ(runs.status, 200) << when << ": " << runs.body;
    Reply loaded = call(port, "POST", "/v2/repository/models/pump_state@champion/load");
    EXPECT_EQ(loaded.status, 200) << when << ": " << loaded.body;
  };
  expect_all_succeed("before the database stopped", 1);

  ASSERT_TRUE(database.stop()) << readWholeFile(dir.path() / "postgres-stop.log");
  // 503 with a JSON error that says the storage's database cannot be reached and names it,
  // twice: the first call meets the pooled (dead) connections, the second a refused connect.
  const auto unreachable =
      AllOf(HasSubstr(database.uri()), HasSubstr("unreachable"), Not(HasSubstr("internal")));
  for (int attempt = 1; attempt <= 2; ++attempt) {
    const std::string when = "while the database is down, attempt " + std::to_string(attempt);
    Reply models = call(port, "GET", "/api/v1/models");
    EXPECT_EQ(models.status, 503) << when << ": " << models.body;
    EXPECT_THAT(errorOf(models), unreachable) << when;
    Reply promoted =
        call(port, "POST", "/api/v1/models/pump_state/aliases/champion", "{\"version\": 2}");
    EXPECT_EQ(promoted.status, 503) << when << ": " << promoted.body;
    EXPECT_THAT(errorOf(promoted), unreachable) << when;
    Reply runs = call(port, "GET", "/api/v1/runs");
    EXPECT_EQ(runs.status, 503) << when << ": " << runs.body;
    EXPECT_THAT(errorOf(runs), unreachable) << when;
    Reply loaded = call(port, "POST", "/v2/repository/models/pump_state@champion/load");
    EXPECT_EQ(loaded.status, 503) << when << ": " << loaded.body;
    EXPECT_THAT(errorOf(loaded), HasSubstr(database.uri())) << when;
  }
  EXPECT_TRUE(server.alive()) << server.err();
  Reply live = call(port, "GET", "/v2/health/live");
  EXPECT_EQ(live.status, 200) << live.body;

  // Training into the stopped database fails at the start with an error naming it.
  Result trained = runAimass(dir.path(), {"run", train.string()});
  EXPECT_EQ(trained.code, 1) << trained.err;
  EXPECT_THAT(trained.err, AllOf(HasSubstr(database.uri()), HasSubstr("cannot connect")));
  EXPECT_THAT(trained.err, Not(HasSubstr("registered")));

  ASSERT_TRUE(database.start()) << readWholeFile(dir.path() / "postgres-start.log");
  expect_all_succeed("after the database restarted", 2);
  EXPECT_TRUE(server.alive()) << server.err();
  EXPECT_EQ(server.stop(), 0) << server.err();
}

}  // namespace
