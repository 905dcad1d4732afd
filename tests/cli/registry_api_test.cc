// SPDX-License-Identifier: Apache-2.0
// The registry, datasets and runs over HTTP under /api/v1: the real `aimass run` serving a
// storage.sqlite store that two real training runs filled, called over 127.0.0.1, and checked
// against what `aimass models|runs|datasets ... --json` print for the same store.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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
using ::testing::HasSubstr;


using Result = aimass::testing::AimassResult;
using Server = aimass::testing::AimassServer;
using aimass::testing::runAimass;

using Reply = aimass::testing::HttpReply;

Poco::JSON::Object::Ptr object(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}
Poco::JSON::Array::Ptr array(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Array::Ptr>();
}

/// Two training runs on one SQLite store (model pump_state versions 1 and 2, runs 1 and 2,
/// dataset pumps), then `aimass run` serving that store with frontend.http on a free port.
class RegistryApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<aimass::testing::TempDir>("aimass-registry-api");
    const fs::path& dir = dir_->path();
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv", dir / "pumps.csv");
    std::ofstream(dir / "train.yaml") << "nodes:\n"
                                         "  store: {type: storage.sqlite, path: store.db}\n"
                                         "  pumps: {type: dataset.csv, path: pumps.csv, "
                                         "label: state}\n"
                                         "  pump_state: {type: model.softmax}\n"
                                         "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
                                         "  train: {type: job.train, model: pump_state, "
                                         "dataset: pumps, optimizer: sgd, epochs: 2, "
                                         "validation_fraction: 0.2, storage: store}\n";
    std::ofstream(dir / "serve.yaml") << "nodes:\n"
                                         "  store: {type: storage.sqlite, path: store.db}\n"
                                         "  web: {type: frontend.http, host: 127.0.0.1, "
                                         "port: 0}\n";
    for (int i = 0; i < 2; ++i) {
      Result trained = runAimass(dir, {"run", config("train.yaml")});
      ASSERT_EQ(trained.code, 0) << trained.err;
    }
  }
  static void TearDownTestSuite() { dir_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(dir_ && !dir_->path().empty());
    server_ = std::make_unique<Server>(config("serve.yaml"));
    port_ = server_->waitForPort();
    ASSERT_GT(port_, 0) << server_->err();
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->stop(), 0) << server_->err();
    }
  }

  static std::string config(const std::string& name) { return (dir_->path() / name).string(); }

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& api_key = "") {
    return aimass::testing::httpCall(static_cast<std::uint16_t>(port_), method, target, body,
                                     api_key);
  }

  /// `aimass WORDS... --json --config serve.yaml` on the same store; its stdout.
  static std::string cliJson(std::vector<std::string> words) {
    words.insert(words.end(), {"--json", "--config", config("serve.yaml")});
    Result r = runAimass(dir_->path(), words);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }

  /// The error message of an error reply, after checking its status and shape.
  static std::string errorOf(const Reply& reply) {
    auto body = object(reply.body);
    EXPECT_TRUE(body->has("error")) << reply.body;
    return body->optValue<std::string>("error", "");
  }

  static std::unique_ptr<aimass::testing::TempDir> dir_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

std::unique_ptr<aimass::testing::TempDir> RegistryApi::dir_;

TEST_F(RegistryApi, ReadsAnswerWhatTheCommandLinePrints) {
  Reply models = call("GET", "/api/v1/models");
  ASSERT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(models.body, cliJson({"models", "list"}));
  ASSERT_EQ(array(models.body)->size(), 1u);
  EXPECT_EQ(array(models.body)->getObject(0)->getValue<int>("versions"), 2);

  Reply model = call("GET", "/api/v1/models/pump_state");
  ASSERT_EQ(model.status, 200) << model.body;
  EXPECT_EQ(model.body, cliJson({"models", "show", "pump_state"}));

  Reply version = call("GET", "/api/v1/models/pump_state/versions/2");
  ASSERT_EQ(version.status, 200) << version.body;
  EXPECT_EQ(version.body, cliJson({"models", "show", "pump_state/2"}));
  EXPECT_EQ(object(version.body)->getValue<int>("version"), 2);

  Reply datasets = call("GET", "/api/v1/datasets");
  ASSERT_EQ(datasets.status, 200) << datasets.body;
  EXPECT_EQ(datasets.body, cliJson({"datasets", "list"}));
  ASSERT_GE(array(datasets.body)->size(), 1u);
  const std::string dataset = array(datasets.body)->getObject(0)->getValue<std::string>("name");
  Reply dataset_versions = call("GET", "/api/v1/datasets/" + dataset);
  ASSERT_EQ(dataset_versions.status, 200) << dataset_versions.body;
  EXPECT_EQ(dataset_versions.body, cliJson({"datasets", "show", dataset}));
  Reply dataset_version = call("GET", "/api/v1/datasets/" + dataset + "/versions/1");
  ASSERT_EQ(dataset_version.status, 200) << dataset_version.body;
  EXPECT_EQ(dataset_version.body, cliJson({"datasets", "show", dataset + "/1"}));

  Reply runs = call("GET", "/api/v1/runs");
  ASSERT_EQ(runs.status, 200) << runs.body;
  EXPECT_EQ(runs.body, cliJson({"runs", "list"}));
  EXPECT_EQ(object(runs.body)->getValue<int>("matched"), 2);
  Reply run = call("GET", "/api/v1/runs/1");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.body, cliJson({"runs", "show", "1"}));
}

TEST_F(RegistryApi, EventsAndProfilesAnswerWhatTheCommandLinePrints) {
  Reply events = call("GET", "/api/v1/models/pump_state/events");
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_EQ(events.body, cliJson({"models", "history", "pump_state"}));
  auto all = object(events.body)->getArray("events");
  ASSERT_GE(all->size(), 2u);
  EXPECT_EQ(all->getObject(0)->getValue<std::string>("kind"), "registered");
  Reply page = call("GET", "/api/v1/models/pump_state/events?after=1&limit=1&kind=registered");
  ASSERT_EQ(page.status, 200) << page.body;
  auto one = object(page.body)->getArray("events");
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->getObject(0)->getValue<int>("sequence"), 2);
  EXPECT_EQ(one->getObject(0)->getValue<int>("version"), 2);
  for (const char* bad : {"limit=0", "limit=1001", "after=-1", "since=3"}) {
    Reply refused = call("GET", std::string("/api/v1/models/pump_state/events?") + bad);
    EXPECT_EQ(refused.status, 400) << bad << ": " << refused.body;
    EXPECT_THAT(errorOf(refused), HasSubstr(std::string(bad).substr(0, 4))) << bad;
  }
  EXPECT_EQ(call("GET", "/api/v1/models/nosuch/events").status, 404);

  Reply profile = call("GET", "/api/v1/models/pump_state/versions/1/profile");
  ASSERT_EQ(profile.status, 200) << profile.body;
  auto body = object(profile.body);
  EXPECT_GT(body->getValue<int>("rows"), 0);
  auto features = body->getArray("features");
  ASSERT_GT(features->size(), 0u);
  EXPECT_EQ(features->getObject(0)->getValue<std::string>("type"), "number");
  EXPECT_TRUE(features->getObject(0)->has("quantiles"));
  Reply version = call("GET", "/api/v1/models/pump_state/versions/1");
  ASSERT_EQ(version.status, 200) << version.body;
  EXPECT_THAT(object(version.body)->getValue<std::string>("profile"), HasSubstr(".profile"));
  EXPECT_EQ(call("GET", "/api/v1/models/pump_state/versions/9/profile").status, 404);
}

TEST_F(RegistryApi, RunQueriesUseTheCommandLineParsers) {
  Reply sorted = call("GET", "/api/v1/runs?sort=val_accuracy&desc=true&limit=1&status=finished");
  ASSERT_EQ(sorted.status, 200) << sorted.body;
  EXPECT_EQ(sorted.body, cliJson({"runs", "list", "--sort", "val_accuracy", "--desc", "--limit",
                                  "1", "--status", "finished"}));
  auto body = object(sorted.body);
  EXPECT_EQ(body->getValue<int>("matched"), 2);
  EXPECT_EQ(body->getArray("runs")->size(), 1u);
  Reply second = call("GET", "/api/v1/runs?sort=val_accuracy&desc=true&limit=1&offset=1");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.body, cliJson({"runs", "list", "--sort", "val_accuracy", "--desc", "--limit",
                                  "1", "--offset", "1"}));
  EXPECT_NE(object(second.body)->getArray("runs")->getObject(0)->getValue<int>("id"),
            body->getArray("runs")->getObject(0)->getValue<int>("id"));
  Reply bad_offset = call("GET", "/api/v1/runs?offset=first");
  EXPECT_EQ(bad_offset.status, 400);
  EXPECT_THAT(errorOf(bad_offset), HasSubstr("'offset'"));

  Reply none = call("GET", "/api/v1/runs?filter=val_accuracy%3E2");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(object(none.body)->getValue<int>("matched"), 0);

  Reply bad_filter = call("GET", "/api/v1/runs?filter=val_accuracy%3E%3Ex");
  EXPECT_EQ(bad_filter.status, 400) << bad_filter.body;
  EXPECT_THAT(errorOf(bad_filter), HasSubstr("query parameter 'filter'"));
  Reply bad_status = call("GET", "/api/v1/runs?status=sleeping");
  EXPECT_EQ(bad_status.status, 400);
  EXPECT_THAT(errorOf(bad_status), HasSubstr("sleeping"));
  Reply bad_limit = call("GET", "/api/v1/runs?limit=-3");
  EXPECT_EQ(bad_limit.status, 400);
  EXPECT_THAT(errorOf(bad_limit), HasSubstr("'limit'"));
  Reply desc_alone = call("GET", "/api/v1/runs?desc=true");
  EXPECT_EQ(desc_alone.status, 400);
  EXPECT_THAT(errorOf(desc_alone), HasSubstr("'sort'"));
  Reply unknown = call("GET", "/api/v1/runs?colour=red");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(errorOf(unknown), HasSubstr("'colour'"));
  Reply no_experiment = call("GET", "/api/v1/runs?experiment=nosuch");
  EXPECT_EQ(no_experiment.status, 404) << no_experiment.body;
}

TEST_F(RegistryApi, MetricHistoryAnswersWhatTheCommandLinePrints) {
  Reply loss = call("GET", "/api/v1/runs/1/metrics/loss");
  ASSERT_EQ(loss.status, 200) << loss.body;
  EXPECT_EQ(loss.body, cliJson({"runs", "metric", "1", "loss"}));
  auto body = object(loss.body);
  const auto total = body->getValue<std::size_t>("total");
  ASSERT_GE(total, 2u) << loss.body;
  EXPECT_EQ(body->getArray("points")->size(), total);
  // Paged by step: a page of one, then what follows its step.
  Reply first = call("GET", "/api/v1/runs/1/metrics/loss?limit=1");
  ASSERT_EQ(first.status, 200) << first.body;
  auto page = object(first.body);
  EXPECT_TRUE(page->getValue<bool>("more"));
  ASSERT_EQ(page->getArray("points")->size(), 1u);
  const auto step = page->getArray("points")->getObject(0)->getValue<std::int64_t>("step");
  Reply rest = call("GET", "/api/v1/runs/1/metrics/loss?after_step=" + std::to_string(step));
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(rest.body,
            cliJson({"runs", "metric", "1", "loss", "--after-step", std::to_string(step)}));
  EXPECT_EQ(object(rest.body)->getArray("points")->size(), total - 1);

  Reply never = call("GET", "/api/v1/runs/1/metrics/bleu");
  ASSERT_EQ(never.status, 200) << never.body;
  EXPECT_EQ(object(never.body)->getValue<int>("total"), 0);
  Reply no_run = call("GET", "/api/v1/runs/99/metrics/loss");
  EXPECT_EQ(no_run.status, 404) << no_run.body;
  Reply bad_name = call("GET", "/api/v1/runs/1/metrics/val%20loss");
  EXPECT_EQ(bad_name.status, 400) << bad_name.body;
  EXPECT_THAT(errorOf(bad_name), HasSubstr("the metric in the path"));
  Reply bad_limit = call("GET", "/api/v1/runs/1/metrics/loss?limit=0");
  EXPECT_EQ(bad_limit.status, 400);
  EXPECT_THAT(errorOf(bad_limit), HasSubstr("'limit' must be at least 1"));
  Reply big_limit = call("GET", "/api/v1/runs/1/metrics/loss?limit=100001");
  EXPECT_EQ(big_limit.status, 400);
  Reply bad_step = call("GET", "/api/v1/runs/1/metrics/loss?after_step=x");
  EXPECT_EQ(bad_step.status, 400);
  EXPECT_THAT(errorOf(bad_step), HasSubstr("'after_step'"));
  Reply unknown = call("GET", "/api/v1/runs/1/metrics/loss?colour=red");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(errorOf(unknown), HasSubstr("'colour'"));
}

TEST_F(RegistryApi, ReadErrorsNameWhatWasNotFoundOrWrong) {
  Reply no_model = call("GET", "/api/v1/models/nosuch");
  EXPECT_EQ(no_model.status, 404) << no_model.body;
  EXPECT_THAT(errorOf(no_model), HasSubstr("nosuch"));
  Reply no_version = call("GET", "/api/v1/models/pump_state/versions/9");
  EXPECT_EQ(no_version.status, 404) << no_version.body;
  Reply bad_version = call("GET", "/api/v1/models/pump_state/versions/two");
  EXPECT_EQ(bad_version.status, 400);
  EXPECT_THAT(errorOf(bad_version), HasSubstr("'two'"));
  Reply alias_as_name = call("GET", "/api/v1/models/pump_state@champion");
  EXPECT_EQ(alias_as_name.status, 400) << alias_as_name.body;
  Reply no_dataset = call("GET", "/api/v1/datasets/nosuch");
  EXPECT_EQ(no_dataset.status, 404) << no_dataset.body;
  Reply no_dataset_version = call("GET", "/api/v1/datasets/pumps/versions/99");
  EXPECT_EQ(no_dataset_version.status, 404) << no_dataset_version.body;
  Reply no_run = call("GET", "/api/v1/runs/99");
  EXPECT_EQ(no_run.status, 404) << no_run.body;
  Reply bad_run = call("GET", "/api/v1/runs/0");
  EXPECT_EQ(bad_run.status, 400) << bad_run.body;
}

TEST_F(RegistryApi, PromoteRollbackTagAndDeleteChangeTheStore) {
  // Promote over HTTP; the command line on the same store sees it.
  Reply promoted = call("POST", "/api/v1/models/pump_state/aliases/champion", R"({"version": 1})");
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(object(promoted.body)->getValue<int>("version"), 1);
  Result shown = runAimass(
      dir_->path(), {"models", "show", "pump_state@champion", "--config", config("serve.yaml")});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("version   1\n"));
  EXPECT_THAT(shown.out, HasSubstr("aliases   champion\n"));
  Reply nothing_earlier = call("POST", "/api/v1/models/pump_state/aliases/champion/rollback");
  EXPECT_EQ(nothing_earlier.status, 409) << nothing_earlier.body;
  EXPECT_THAT(errorOf(nothing_earlier), HasSubstr("no previous version"));

  Reply again = call("POST", "/api/v1/models/pump_state/aliases/champion", R"({"version": 2})");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(object(again.body)->getValue<int>("version"), 2);
  Reply rolled = call("POST", "/api/v1/models/pump_state/aliases/champion/rollback");
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  EXPECT_EQ(object(rolled.body)->getValue<int>("version"), 1);
  EXPECT_EQ(object(call("GET", "/api/v1/models/pump_state").body)
                ->getObject("aliases")
                ->getValue<int>("champion"),
            1);

  // Bad promote bodies and targets.
  Reply no_body = call("POST", "/api/v1/models/pump_state/aliases/champion");
  EXPECT_EQ(no_body.status, 400);
  EXPECT_THAT(errorOf(no_body), HasSubstr("empty"));
  Reply not_json = call("POST", "/api/v1/models/pump_state/aliases/champion", "{version: 1");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_THAT(errorOf(not_json), HasSubstr("not valid JSON"));
  Reply text_version =
      call("POST", "/api/v1/models/pump_state/aliases/champion", R"({"version": "1"})");
  EXPECT_EQ(text_version.status, 400);
  EXPECT_THAT(errorOf(text_version), HasSubstr("\"version\""));
  Reply extra = call("POST", "/api/v1/models/pump_state/aliases/champion",
                     R"({"version": 1, "force": true})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_THAT(errorOf(extra), HasSubstr("'force'"));
  Reply missing_version =
      call("POST", "/api/v1/models/pump_state/aliases/champion", R"({"version": 7})");
  EXPECT_EQ(missing_version.status, 404) << missing_version.body;
  Reply no_history = call("POST", "/api/v1/models/pump_state/aliases/challenger/rollback");
  EXPECT_EQ(no_history.status, 404) << no_history.body;

  // Tags: PATCH sets and removes, PUT replaces the whole set.
  Reply patched = call("PATCH", "/api/v1/models/pump_state/versions/2/tags",
                       R"({"set": {"stage": "review", "owner": "ops"}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(object(patched.body)->getObject("tags")->getValue<std::string>("stage"), "review");
  Reply removed =
      call("PATCH", "/api/v1/models/pump_state/versions/2/tags", R"({"remove": ["owner"]})");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_FALSE(object(removed.body)->getObject("tags")->has("owner"));
  Reply put = call("PUT", "/api/v1/models/pump_state/versions/2/tags", R"({"team": "pumps"})");
  ASSERT_EQ(put.status, 200) << put.body;
  auto tags = object(put.body)->getObject("tags");
  EXPECT_EQ(tags->size(), 1u);
  EXPECT_EQ(tags->getValue<std::string>("team"), "pumps");
  EXPECT_EQ(object(cliJson({"models", "show", "pump_state/2"}))
                ->getObject("tags")
                ->getValue<std::string>("team"),
            "pumps");
  Reply number_tag =
      call("PATCH", "/api/v1/models/pump_state/versions/2/tags", R"({"set": {"n": 3}})");
  EXPECT_EQ(number_tag.status, 400);
  EXPECT_THAT(errorOf(number_tag), HasSubstr("tag 'n'"));
  Reply empty_patch = call("PATCH", "/api/v1/models/pump_state/versions/2/tags", "{}");
  EXPECT_EQ(empty_patch.status, 400);
  Reply absent_key =
      call("PATCH", "/api/v1/models/pump_state/versions/2/tags", R"({"remove": ["nosuch"]})");
  EXPECT_EQ(absent_key.status, 404) << absent_key.body;
  Reply tag_missing_version =
      call("PUT", "/api/v1/models/pump_state/versions/9/tags", R"({"a": "b"})");
  EXPECT_EQ(tag_missing_version.status, 404) << tag_missing_version.body;

  // Delete: refused (409) while champion points at version 1, done with force=true.
  Reply refused = call("DELETE", "/api/v1/models/pump_state/versions/1");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_THAT(errorOf(refused), HasSubstr("champion"));
  Reply bad_force = call("DELETE", "/api/v1/models/pump_state/versions/1?force=yes");
  EXPECT_EQ(bad_force.status, 400);
  EXPECT_THAT(errorOf(bad_force), HasSubstr("'force'"));
  Reply forced = call("DELETE", "/api/v1/models/pump_state/versions/1?force=true");
  ASSERT_EQ(forced.status, 200) << forced.body;
  EXPECT_TRUE(object(forced.body)->getValue<bool>("deleted"));
  Reply gone = call("GET", "/api/v1/models/pump_state/versions/1");
  EXPECT_EQ(gone.status, 404) << gone.body;
  Reply again_deleted = call("DELETE", "/api/v1/models/pump_state/versions/1");
  EXPECT_EQ(again_deleted.status, 404) << again_deleted.body;
  EXPECT_EQ(array(cliJson({"models", "list"}))->getObject(0)->getValue<int>("versions"), 1);
}

}  // namespace

TEST_F(RegistryApi, ServesTheServingRepositoryElseTheOnlyStorage) {
  ASSERT_EQ(server_->stop(), 0) << server_->err();
  server_.reset();
  // Two storage nodes: the one serving.runtime names as `repository` is served, not the first.
  std::ofstream(dir_->path() / "two.yaml") << "nodes:\n"
                                              "  empty: {type: storage.sqlite, path: empty.db}\n"
                                              "  store: {type: storage.sqlite, path: store.db}\n"
                                              "  serving: {type: serving.runtime, "
                                              "repository: store}\n"
                                              "  web: {type: frontend.http, host: 127.0.0.1, "
                                              "port: 0}\n";
  server_ = std::make_unique<Server>(config("two.yaml"));
  port_ = server_->waitForPort();
  ASSERT_GT(port_, 0) << server_->err();
  EXPECT_THAT(server_->err(), HasSubstr("frontends serve the registry of storage 'store'"));
  Reply models = call("GET", "/api/v1/models");
  ASSERT_EQ(models.status, 200) << models.body;
  EXPECT_EQ(array(models.body)->getObject(0)->getValue<std::string>("model"), "pump_state");
  ASSERT_EQ(server_->stop(), 0) << server_->err();

  // Two storage nodes and no `repository`: which one is ambiguous, so there is no /api/v1.
  std::ofstream(dir_->path() / "ambiguous.yaml")
      << "nodes:\n"
         "  empty: {type: storage.sqlite, path: empty.db}\n"
         "  store: {type: storage.sqlite, path: store.db}\n"
         "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
  server_ = std::make_unique<Server>(config("ambiguous.yaml"));
  port_ = server_->waitForPort();
  ASSERT_GT(port_, 0) << server_->err();
  EXPECT_EQ(call("GET", "/api/v1/models").status, 404);
}

TEST_F(RegistryApi, ReadersReadAndOperatorsChange) {
  ASSERT_EQ(server_->stop(), 0) << server_->err();
  server_.reset();
  // Keys "foo" (reader) and "bar" (operator), given by their SHA-256.
  std::ofstream(dir_->path() / "auth.yaml")
      << "nodes:\n"
         "  store: {type: storage.sqlite, path: store.db}\n"
         "  web:\n"
         "    type: frontend.http\n"
         "    host: 127.0.0.1\n"
         "    port: 0\n"
         "    auth: on\n"
         "    api_keys:\n"
         "      - {name: dashboard, role: reader,\n"
         "         sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae}\n"
         "      - {name: deployer, role: operator,\n"
         "         sha256: fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9}\n";
  server_ = std::make_unique<Server>(config("auth.yaml"));
  port_ = server_->waitForPort();
  ASSERT_GT(port_, 0) << server_->err();

  EXPECT_EQ(call("GET", "/api/v1/models").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/models", "", "foo").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/runs", "", "foo").status, 200);
  const std::string promote = "/api/v1/models/pump_state/aliases/champion";
  Reply refused = call("POST", promote, R"({"version": 2})", "foo");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(call("DELETE", "/api/v1/models/pump_state/versions/1", "", "foo").status, 403);
  EXPECT_EQ(
      call("PATCH", "/api/v1/models/pump_state/versions/1/tags", R"({"set": {"a": "b"}})", "foo")
          .status,
      403);
  Reply promoted = call("POST", promote, R"({"version": 2})", "bar");
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(object(promoted.body)->getValue<int>("version"), 2);
}
