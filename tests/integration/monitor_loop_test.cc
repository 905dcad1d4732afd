// SPDX-License-Identifier: Apache-2.0
// The automatic update loop end to end, over real sockets: `aimass serve` with serving.runtime
// logging every request, a job service and a service.monitor watching model `toy`. Made-up
// data of two classes whose inputs then shift: the monitor finds the drift, retrains (a job),
// the challenger passes the gate on shifted held-out rows and is promoted, and serving's answers
// change; a bad version promoted by hand is watched with ground truth and rolled back.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aimass/util/number_text.h"
#include "aimass_server.h"
#include "http_call.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;
using ::testing::HasSubstr;
using ::testing::Not;

/// One row: two features and its class.
struct Row {
  double x0, x1;
  std::string label;
};

/// Class a around (0, 0), b around (2, 2); `shift` moves both along x0.
std::vector<Row> rows(int n, double shift, unsigned seed, bool flip_labels = false) {
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0.0, 0.4);
  std::vector<Row> out;
  for (int i = 0; i < n; ++i) {
    const bool b = i % 2 == 1;
    const double centre = b ? 2.0 : 0.0;
    Row row{centre + shift + noise(random), centre + noise(random), b ? "b" : "a"};
    if (flip_labels) row.label = b ? "a" : "b";
    out.push_back(row);
  }
  return out;
}

void writeCsv(const fs::path& path, const std::vector<Row>& data) {
  std::ofstream out(path);
  out << "x0,x1,label\n";
  for (const Row& r : data) out << r.x0 << "," << r.x1 << "," << r.label << "\n";
}

Poco::JSON::Object::Ptr json(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

class MonitorLoopTest : public ::testing::Test {
 protected:
  fs::path path(const std::string& name) const { return temp_.path() / name; }

  /// A graph training `toy` on `csv` for `epochs` and registering it in the store.
  void writeTrainGraph(const std::string& name, const std::string& csv, int epochs = 30) {
    std::ofstream(path(name))
        << "nodes:\n"
           "  store: {type: storage.sqlite, path: " << path("store.db").string() << "}\n"
           "  data: {type: dataset.csv, path: " << path(csv).string() << ", label: label}\n"
           "  toy: {type: model.softmax}\n"
           "  sgd: {type: optimizer.sgd, learning_rate: 0.1, momentum: 0.9}\n"
           "  train: {type: job.train, model: toy, dataset: data, optimizer: sgd, epochs: "
        << epochs << ",\n"
           "          batch_size: 32, seed: 3, storage: store}\n";
  }

  void writeServeGraph(const std::string& monitor_extra = "") {
    std::ofstream(path("serve.yaml"))
        << "nodes:\n"
           "  store: {type: storage.sqlite, path: " << path("store.db").string() << "}\n"
           "  serving: {type: serving.runtime, repository: store, load: [toy@champion],\n"
           "            payload_sample: 1.0}\n"
           "  jobs: {type: service.jobs, storage: store, work_dir: " << path("jobs").string()
        << ", poll_interval_ms: 100}\n"
           "  holdout: {type: dataset.csv, path: " << path("holdout.csv").string()
        << ", label: label}\n"
           "  monitor: {type: service.monitor, model: toy, repository: store, jobs: jobs,\n"
           "            holdout: holdout, interval_ms: 200, window: 100, alpha: 0.0001,\n"
           "            retrain_on_drift: true, retrain_graph: retrain.yaml, cooldown_s: 0,\n"
           "            gate_margin: 0.1, min_feedback: 20, feedback_window: 100,\n"
           "            watch_labels: 40, watch_tolerance: 0.1" << monitor_extra << "}\n"
           "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
  }

  /// Replaces `from` (which must be there) with `to` in serve.yaml.
  void editServeGraph(const std::string& from, const std::string& to) {
    std::string text;
    {
      std::ifstream in(path("serve.yaml"));
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(path("serve.yaml")) << text;
  }

  aimass::testing::AimassResult aimass(std::vector<std::string> words) {
    return aimass::testing::runAimass(temp_.path(), std::move(words));
  }

  /// Points `champion` at `version`, as an operator would.
  void promote(const std::string& version) {
    auto promoted = aimass({"models", "promote", "toy", version, "--alias", "champion",
                            "--config", path("train.yaml").string()});
    ASSERT_EQ(promoted.code, 0) << promoted.err;
  }

  /// Sends `row` as request `id`; the version that answered and the class it gave.
  std::pair<std::string, std::string> infer(const Row& row, const std::string& id) {
    const std::string body = R"({"id":")" + id +
                             R"(","inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[)" +
                             std::to_string(row.x0) + "," + std::to_string(row.x1) + "]}]}";
    HttpReply reply = httpCall(port_, "POST", "/v2/models/toy/infer", body);
    EXPECT_EQ(reply.status, 200) << reply.body;
    if (reply.status != 200) return {};
    auto answer = json(reply.body);
    EXPECT_EQ(answer->getValue<std::string>("id"), id);
    std::string label;
    auto outputs = answer->getArray("outputs");
    for (unsigned i = 0; i < outputs->size(); ++i) {
      auto output = outputs->getObject(i);
      if (output->getValue<std::string>("name") == "class") {
        label = output->getArray("data")->getElement<std::string>(0);
      }
    }
    return {answer->getValue<std::string>("model_version"), label};
  }

  /// Sends `data` as requests PREFIX-0, PREFIX-1, ... and posts their true classes.
  std::vector<std::string> serveAndLabel(const std::vector<Row>& data, const std::string& prefix,
                                         bool post_truth = true) {
    std::vector<std::string> versions;
    std::string truth = R"({"ground_truth":[)";
    for (std::size_t i = 0; i < data.size(); ++i) {
      const std::string id = prefix + "-" + std::to_string(i);
      versions.push_back(infer(data[i], id).first);
      truth += (i ? "," : "") + std::string(R"({"id":")") + id + R"(","label":")" +
               data[i].label + "\"}";
    }
    truth += "]}";
    if (post_truth) {
      HttpReply posted = httpCall(port_, "POST", "/v2/models/toy/ground_truth", truth);
      EXPECT_EQ(posted.status, 200) << posted.body;
    }
    return versions;
  }

  /// Waits (up to `seconds`) until the served version of `row` is `version`.
  bool waitForVersion(const std::string& version, int seconds) {
    const Row probe = rows(1, 4.0, 99)[0];
    for (int i = 0; i < seconds * 10; ++i) {
      if (infer(probe, "probe").first == version) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  /// Waits until /metrics has at least `rows` labelled rows joined for `version`.
  bool waitForLabels(const std::string& version, int rows_wanted) {
    const std::string metric =
        "aimass_live_labelled_rows_total{model=\"toy\",version=\"" + version + "\"} ";
    for (int i = 0; i < 300; ++i) {
      HttpReply metrics = httpCall(port_, "GET", "/metrics");
      auto at = metrics.body.find(metric);
      if (at != std::string::npos && std::stoi(metrics.body.substr(at + metric.size())) >= rows_wanted) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  /// Waits until /metrics counts at least `windows` drift windows tested.
  bool waitForWindows(int windows) {
    const std::string metric = "aimass_drift_windows_total{model=\"toy\"} ";
    for (int i = 0; i < 300; ++i) {
      HttpReply metrics = httpCall(port_, "GET", "/metrics");
      auto at = metrics.body.find(metric);
      if (at != std::string::npos &&
          std::stoi(metrics.body.substr(at + metric.size())) >= windows) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  aimass::testing::TempDir temp_;
  std::uint16_t port_ = 0;
};

TEST_F(MonitorLoopTest, DriftRetrainsGatesAndPromotesThenABadVersionIsRolledBack) {
  writeCsv(path("train.csv"), rows(400, 0.0, 1));
  writeCsv(path("train_shift.csv"), rows(400, 4.0, 2));
  writeCsv(path("holdout.csv"), rows(200, 4.0, 3));
  writeCsv(path("bad.csv"), rows(400, 4.0, 4, /*flip_labels=*/true));
  writeTrainGraph("train.yaml", "train.csv");
  writeTrainGraph("retrain.yaml", "train_shift.csv");
  writeTrainGraph("bad.yaml", "bad.csv");
  writeServeGraph();
  auto trained = aimass({"run", path("train.yaml").string()});
  ASSERT_EQ(trained.code, 0) << trained.err;
  promote("1");

  AimassServer server(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(server.waitForPort());
  ASSERT_GT(port_, 0) << server.err();

  // Unshifted traffic: answered by version 1, mostly right, no drift.
  auto before = serveAndLabel(rows(150, 0.0, 5), "plain");
  EXPECT_EQ(before.front(), "1");
  ASSERT_TRUE(waitForLabels("1", 150)) << server.err();
  const Row shifted_a = rows(1, 4.0, 6)[0];  // class a, moved along x0
  EXPECT_EQ(infer(shifted_a, "x").second, "b") << "version 1 never saw inputs like these";

  // Shifted traffic: a drifted window, a retraining, a gate, a promotion, and new answers.
  serveAndLabel(rows(150, 4.0, 7), "shifted", /*post_truth=*/false);
  ASSERT_TRUE(waitForVersion("2", 90)) << server.err();
  EXPECT_EQ(infer(shifted_a, "y").second, "a") << "version 2 learned the shifted inputs";

  // Version 2 earns a live accuracy; then a bad version is promoted by hand and rolled back.
  serveAndLabel(rows(60, 4.0, 8), "good");
  ASSERT_TRUE(waitForLabels("2", 60)) << server.err();
  auto bad = aimass({"run", path("bad.yaml").string()});
  ASSERT_EQ(bad.code, 0) << bad.err;
  promote("3");
  ASSERT_TRUE(waitForVersion("3", 30)) << server.err();
  serveAndLabel(rows(60, 4.0, 9), "bad");
  ASSERT_TRUE(waitForVersion("2", 60)) << server.err();

  auto shown = aimass({"models", "show", "toy/2", "--config", path("train.yaml").string()});
  EXPECT_THAT(shown.out, ::testing::ContainsRegex(
                             "\nlive +accuracy (1|0\\.9[0-9]*) over the last [0-9]+ labelled rows"))
      << shown.out;
  auto history = aimass({"models", "history", "toy", "--json", "--config",
                         path("train.yaml").string()});
  ASSERT_EQ(history.code, 0) << history.err;
  std::vector<std::string> kinds;
  auto events = json(history.out)->getArray("events");
  for (unsigned i = 0; i < events->size(); ++i) {
    kinds.push_back(events->getObject(i)->getValue<std::string>("kind"));
  }
  const std::vector<std::string> expected = {"drift",     "trigger",       "retrain_job", "gate",
                                             "promotion", "watch_started", "rollback"};
  std::size_t next = 0;
  for (const auto& kind : kinds) {
    if (next < expected.size() && kind == expected[next]) ++next;
  }
  EXPECT_EQ(next, expected.size()) << "the history, in order: " << history.out;
  // Each window holds exactly `window` rows however many one read of the log brought, and
  // names the requests it held: the first drifted one closed on a shifted request.
  for (unsigned i = 0; i < events->size(); ++i) {
    auto event = events->getObject(i);
    if (event->getValue<std::string>("kind") != "drift") continue;
    auto details = event->getObject("details");
    EXPECT_EQ(details->getValue<int>("rows"), 100) << history.out;
    EXPECT_THAT(details->getValue<std::string>("last_request_id"),
                ::testing::StartsWith("shifted-"));
    EXPECT_FALSE(details->getValue<std::string>("first_request_id").empty());
    EXPECT_LE(details->getValue<std::int64_t>("first_unix_ns"),
              details->getValue<std::int64_t>("last_unix_ns"));
    break;
  }
  // Drift is one event per episode: version 1's shifted windows drifted until it was
  // replaced, and made one event.
  int version_1_drift_events = 0;
  for (unsigned i = 0; i < events->size(); ++i) {
    auto event = events->getObject(i);
    version_1_drift_events += event->getValue<std::string>("kind") == "drift" &&
                              event->getValue<std::int64_t>("version") == 1;
  }
  EXPECT_EQ(version_1_drift_events, 1) << history.out;
  // Version 1 answered the shifted rows with "b" only, unlike its first window of answers.
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "prediction_drift"), kinds.end())
      << history.out;
  HttpReply metrics = httpCall(port_, "GET", "/metrics");
  EXPECT_THAT(metrics.body,
              ::testing::ContainsRegex(
                  "aimass_drift_windows_drifted_total\\{model=\"toy\"\\} ([2-9]|[1-9][0-9])"))
      << "version 1's windows of shifted rows drifted";
  EXPECT_THAT(metrics.body, HasSubstr("aimass_monitor_decisions_total{model=\"toy\","
                                      "decision=\"rollback\"} 1"));
  // A few hundred requests are read in one cycle: the monitor is not behind the log.
  EXPECT_THAT(metrics.body, HasSubstr("aimass_monitor_log_lag_seconds{model=\"toy\"} 0\n"));
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(MonitorLoopTest, ADriftEpisodeIsOneEventWhenItStartsAndOneWhenItClears) {
  writeCsv(path("train.csv"), rows(400, 0.0, 1));
  writeCsv(path("holdout.csv"), rows(50, 0.0, 3));
  writeTrainGraph("train.yaml", "train.csv");
  writeServeGraph();
  for (const std::string from : {"retrain_on_drift: true,", "retrain_graph: retrain.yaml,"}) {
    editServeGraph(from, "");
  }
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  promote("1");
  AimassServer server(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(server.waitForPort());
  ASSERT_GT(port_, 0) << server.err();
  // Windows of 100 rows: 2 plain, 3 shifted, 2 plain, 1 shifted.
  serveAndLabel(rows(200, 0.0, 5), "plain", /*post_truth=*/false);
  serveAndLabel(rows(300, 4.0, 6), "shifted", /*post_truth=*/false);
  serveAndLabel(rows(200, 0.0, 7), "again", /*post_truth=*/false);
  serveAndLabel(rows(100, 4.0, 8), "later", /*post_truth=*/false);
  ASSERT_TRUE(waitForWindows(8)) << server.err();
  HttpReply metrics = httpCall(port_, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_drift_windows_drifted_total{model=\"toy\"} 4\n"))
      << "every window's result is still counted";
  auto history =
      aimass({"models", "history", "toy", "--json", "--config", path("train.yaml").string()});
  ASSERT_EQ(history.code, 0) << history.err;
  // One event when the drift starts and one when it clears, each with its window's details;
  // not one per drifted window.
  std::vector<std::string> episode;
  auto events = json(history.out)->getArray("events");
  for (unsigned i = 0; i < events->size(); ++i) {
    auto event = events->getObject(i);
    const auto kind = event->getValue<std::string>("kind");
    if (kind != "drift" && kind != "drift_cleared") continue;
    auto details = event->getObject("details");
    EXPECT_EQ(details->getValue<bool>("drifted"), kind == "drift") << history.out;
    episode.push_back(kind + " " + details->getValue<std::string>("last_request_id"));
  }
  EXPECT_THAT(episode, ::testing::ElementsAre("drift shifted-99", "drift_cleared again-99",
                                              "drift later-99"))
      << history.out;
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(MonitorLoopTest, AChallengerThatIsNotBetterFailsTheGateAndIsKeptAside) {
  writeCsv(path("train.csv"), rows(400, 0.0, 1));
  writeCsv(path("holdout.csv"), rows(200, 4.0, 3));
  writeTrainGraph("train.yaml", "train.csv");
  writeTrainGraph("retrain.yaml", "train.csv");  // retrains on the old inputs: no better
  writeServeGraph();
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  promote("1");
  AimassServer server(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(server.waitForPort());
  ASSERT_GT(port_, 0) << server.err();
  serveAndLabel(rows(150, 4.0, 7), "shifted", /*post_truth=*/false);
  ASSERT_TRUE(server.waitForLog("gate: version 2 failed the gate against version 1"))
      << server.err();
  EXPECT_EQ(infer(rows(1, 4.0, 6)[0], "after").first, "1") << "the champion stays";
  auto shown = aimass({"models", "show", "toy/2", "--json", "--config",
                       path("train.yaml").string()});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(json(shown.out)->getObject("tags")->getValue<std::string>("gate"), "failed");
  auto history = aimass({"models", "history", "toy", "--json", "--config",
                         path("train.yaml").string()});
  EXPECT_THAT(history.out, HasSubstr("\"passed\": false"));
  EXPECT_THAT(history.out, Not(HasSubstr("\"promotion\"")));
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(MonitorLoopTest, AChallengerWorseOnShadowTrafficFailsTheGateThoughBetterOnHeldOutRows) {
  // The held-out rows are shifted, the live traffic is not: a challenger trained on shifted
  // rows wins on the former and loses on the latter, which gate_shadow_rows also judges on.
  writeCsv(path("train.csv"), rows(400, 0.0, 1));
  writeCsv(path("train_shift.csv"), rows(400, 4.0, 2));
  writeCsv(path("holdout.csv"), rows(200, 4.0, 3));
  writeTrainGraph("train.yaml", "train.csv");
  writeTrainGraph("retrain.yaml", "train_shift.csv");
  writeServeGraph();
  editServeGraph("retrain_on_drift: true",
                 "retrain_after_labels: 120, feedback_csv: feedback.csv, gate_shadow_rows: 100");
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  promote("1");
  AimassServer server(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(server.waitForPort());
  ASSERT_GT(port_, 0) << server.err();
  serveAndLabel(rows(160, 0.0, 7), "live");
  ASSERT_TRUE(server.waitForLog("gate: version 2 failed the gate against version 1"))
      << server.err();
  EXPECT_THAT(server.err(), HasSubstr("on shadow traffic: accuracy")) << server.err();
  EXPECT_EQ(infer(rows(1, 0.0, 6)[0], "after").first, "1") << "the champion stays";
  auto history = aimass({"models", "history", "toy", "--json", "--config",
                         path("train.yaml").string()});
  ASSERT_EQ(history.code, 0) << history.err;
  auto events = json(history.out)->getArray("events");
  bool judged = false;
  for (unsigned i = 0; i < events->size(); ++i) {
    auto event = events->getObject(i);
    if (event->getValue<std::string>("kind") != "gate") continue;
    auto details = event->getObject("details");
    EXPECT_FALSE(details->getValue<bool>("passed"));
    auto shadow = details->getObject("shadow");
    ASSERT_TRUE(shadow) << history.out;
    EXPECT_FALSE(shadow->getValue<bool>("passed"));
    EXPECT_EQ(shadow->getValue<int>("rows"), 100);
    EXPECT_GT(shadow->getValue<double>("champion"), shadow->getValue<double>("challenger"));
    EXPECT_LT(details->getValue<double>("champion"), details->getValue<double>("challenger"))
        << "on the held-out rows the challenger is better";
    judged = true;
  }
  EXPECT_TRUE(judged) << history.out << server.err();
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(MonitorLoopTest, GroundTruthMistakesAre400sNamingThePlace) {
  writeCsv(path("train.csv"), rows(100, 0.0, 1));
  writeCsv(path("holdout.csv"), rows(50, 0.0, 3));
  writeTrainGraph("train.yaml", "train.csv");
  writeTrainGraph("retrain.yaml", "train.csv");
  writeServeGraph();
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  promote("1");
  AimassServer server(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(server.waitForPort());
  ASSERT_GT(port_, 0) << server.err();
  HttpReply bad = httpCall(port_, "POST", "/v2/models/toy/ground_truth",
                           R"({"ground_truth": [{"id": "a", "label": "x"}, {"id": "b"}]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(json(bad.body)->getValue<std::string>("error"), HasSubstr("ground_truth[1]"));
  HttpReply not_json = httpCall(port_, "POST", "/v2/models/toy/ground_truth", "{oops");
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  HttpReply good = httpCall(port_, "POST", "/v2/models/toy/ground_truth",
                            R"({"ground_truth": [{"id": "a", "label": "x"}]})");
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(json(good.body)->getValue<int>("accepted"), 1);
  // New labelled rows need a place to be kept: this monitor has no feedback_csv.
  HttpReply unkept = httpCall(port_, "POST", "/v2/models/toy/ground_truth",
                              R"({"rows": [{"input": [1, 2], "label": "a"}]})");
  EXPECT_EQ(unkept.status, 409) << unkept.body;
  EXPECT_THAT(json(unkept.body)->getValue<std::string>("error"), HasSubstr("feedback_csv"));
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(MonitorLoopTest, ConfigurationMistakesAreRefusedNamingTheNode) {
  writeCsv(path("train.csv"), rows(100, 0.0, 1));
  writeCsv(path("holdout.csv"), rows(50, 0.0, 3));
  writeTrainGraph("train.yaml", "train.csv");
  writeTrainGraph("retrain.yaml", "train.csv");
  // The serve graph with `from` replaced by `to`: refused, naming the monitor's mistake.
  auto refused = [&](const std::string& from, const std::string& to) {
    writeServeGraph();
    editServeGraph(from, to);
    auto run = aimass({"serve", path("serve.yaml").string()});
    EXPECT_NE(run.code, 0) << to << ": " << run.err;
    EXPECT_THAT(run.err, HasSubstr("monitor")) << to;
    return run.err;
  };
  EXPECT_THAT(refused("retrain_graph: retrain.yaml", "retrain_graph: missing.yaml"),
              HasSubstr("cannot be read"));
  EXPECT_THAT(refused("cooldown_s: 0", "cooldown_s: 0, retrain_schedule: 'every day'"),
              HasSubstr("retrain_schedule"));
  EXPECT_THAT(refused("jobs: jobs,\n", "\n"), HasSubstr("`jobs`"));
  EXPECT_THAT(refused("retrain_on_drift: true", "retrain_on_drift: false"),
              HasSubstr("no retrain trigger"));
  EXPECT_THAT(refused("watch_tolerance: 0.1", "watch_tolerance: 0.1, gate_shadow_rows: 50"),
              HasSubstr("gate_shadow_rows needs feedback_csv"));
  // Without any policy a monitor needs neither a retrain graph nor a job service.
  writeServeGraph();
  for (const std::string from : {"retrain_on_drift: true,", "retrain_graph: retrain.yaml,",
                                 "jobs: jobs,", "holdout: holdout,"}) {
    editServeGraph(from, "");
  }
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  promote("1");
  AimassServer server(path("serve.yaml").string(), "serve");
  EXPECT_GT(server.waitForPort(), 0) << server.err();
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(MonitorLoopTest, ARestartedServerFollowsTheRetrainingItStarted) {
  writeCsv(path("train.csv"), rows(400, 0.0, 1));
  writeCsv(path("train_shift.csv"), rows(400, 4.0, 2));
  writeCsv(path("holdout.csv"), rows(200, 4.0, 3));
  writeTrainGraph("train.yaml", "train.csv");
  writeTrainGraph("retrain.yaml", "train_shift.csv", /*epochs=*/3000);  // still running at stop
  writeServeGraph();
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  promote("1");
  {
    AimassServer server(path("serve.yaml").string(), "serve");
    port_ = static_cast<std::uint16_t>(server.waitForPort());
    ASSERT_GT(port_, 0) << server.err();
    serveAndLabel(rows(150, 4.0, 7), "shifted", /*post_truth=*/false);
    ASSERT_TRUE(server.waitForLog("retraining submitted as job 1")) << server.err();
    EXPECT_EQ(server.stop(), 0) << server.err();
    EXPECT_THAT(server.err(), Not(HasSubstr("promotion:")));
  }
  AimassServer again(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(again.waitForPort());
  ASSERT_GT(port_, 0) << again.err();
  ASSERT_TRUE(again.waitForLog("resumed following retraining job 1")) << again.err();
  ASSERT_TRUE(waitForVersion("2", 110)) << again.err();
  EXPECT_EQ(again.stop(), 0) << again.err();
}

TEST_F(MonitorLoopTest, LabelledRowsBecomeADatasetThatARetrainingLearnsFrom) {
  writeCsv(path("train.csv"), rows(400, 0.0, 1));
  writeCsv(path("holdout.csv"), rows(200, 4.0, 3));
  writeTrainGraph("train.yaml", "train.csv");
  writeTrainGraph("retrain.yaml", "feedback.csv");  // the rows ground truth labelled
  writeServeGraph();
  editServeGraph("retrain_on_drift: true", "retrain_after_labels: 120, feedback_csv: feedback.csv");
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  promote("1");
  AimassServer server(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(server.waitForPort());
  ASSERT_GT(port_, 0) << server.err();
  // 60 labelled rows posted without a request, then 100 served requests labelled: together
  // past retrain_after_labels (120), and all of them in the feedback CSV.
  const std::vector<Row> posted = rows(60, 4.0, 11);
  std::string body = R"({"rows": [)";
  for (std::size_t i = 0; i < posted.size(); ++i) {
    body += (i ? "," : "") + std::string(R"({"input": [)") + std::to_string(posted[i].x0) + "," +
            std::to_string(posted[i].x1) + R"(], "label": ")" + posted[i].label + "\"}";
  }
  body += "]}";
  HttpReply refused = httpCall(port_, "POST", "/v2/models/toy/ground_truth",
                               R"({"rows": [{"input": [1, 2, 3], "label": "a"}]})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_THAT(json(refused.body)->getValue<std::string>("error"),
              HasSubstr("rows[0].input holds 3 values; the model has 2 number features"));
  HttpReply accepted = httpCall(port_, "POST", "/v2/models/toy/ground_truth", body);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(json(accepted.body)->getValue<int>("rows"), 60);
  serveAndLabel(rows(100, 4.0, 7), "labelled");
  ASSERT_TRUE(waitForVersion("2", 90)) << server.err();

  std::ifstream csv(path("feedback.csv"));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "x0,x1,label");
  int lines = 0;
  std::string text;
  for (std::string line; std::getline(csv, line);) {
    ++lines;
    text += line + "\n";
  }
  EXPECT_GE(lines, 120);
  EXPECT_THAT(text, HasSubstr(aimass::formatNumber(std::stod(std::to_string(posted[0].x0))) +
                              "," +
                              aimass::formatNumber(std::stod(std::to_string(posted[0].x1))) +
                              "," + posted[0].label + "\n"));
  HttpReply metrics = httpCall(port_, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_labelled_rows_posted_total{model=\"toy\"} 60"));
  auto dataset = aimass({"datasets", "show", "toy.feedback", "--json", "--config",
                         path("train.yaml").string()});
  ASSERT_EQ(dataset.code, 0) << dataset.err;
  EXPECT_THAT(dataset.out, HasSubstr("ground truth joined by the monitor of 'toy'"));
  auto history = aimass({"models", "history", "toy", "--json", "--config",
                         path("train.yaml").string()});
  EXPECT_THAT(history.out, HasSubstr("\"trigger\": \"new_rows\""));
  EXPECT_THAT(history.out, HasSubstr("\"dataset\": \"toy.feedback/1\""));
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(MonitorLoopTest, ABatchDriftReportTestsACsvAgainstAVersionsProfile) {
  writeCsv(path("train.csv"), rows(400, 0.0, 1));
  writeCsv(path("same.csv"), rows(300, 0.0, 11));
  writeCsv(path("shifted.csv"), rows(300, 4.0, 12));
  writeTrainGraph("train.yaml", "train.csv");
  ASSERT_EQ(aimass({"run", path("train.yaml").string()}).code, 0);
  auto drift = [&](const std::string& csv, std::vector<std::string> more = {}) {
    std::vector<std::string> words = {"models", "drift", "toy/1", "--data", path(csv).string(),
                                      "--config", path("train.yaml").string()};
    words.insert(words.end(), more.begin(), more.end());
    return aimass(words);
  };
  auto same = drift("same.csv", {"--alpha", "0.001"});
  ASSERT_EQ(same.code, 0) << same.err;
  EXPECT_THAT(same.out, HasSubstr("no drift: 0 of 2 features drifted over 300 rows"));
  auto shifted = drift("shifted.csv");
  ASSERT_EQ(shifted.code, 0) << shifted.err;
  EXPECT_THAT(shifted.out, ::testing::ContainsRegex("\nx0 +ks +[0-9.e-]+ .* yes\n"));
  EXPECT_THAT(shifted.out, HasSubstr("drifted: 1 of 2 features"));
  // The CSV is read and tested on as many threads as asked, with the same report.
  EXPECT_EQ(drift("shifted.csv", {"--threads", "3"}).out, shifted.out);
  EXPECT_EQ(drift("shifted.csv", {"--threads", "1"}).out, shifted.out);
  EXPECT_THAT(drift("shifted.csv", {"--threads", "0"}).err, HasSubstr("--threads '0'"));
  auto as_json = drift("shifted.csv", {"--json", "--number-test", "psi"});
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  EXPECT_TRUE(json(as_json.out)->getValue<bool>("drifted"));
  EXPECT_THAT(as_json.out, HasSubstr("\"test\": \"psi\""));

  std::ofstream(path("bad.csv")) << "x0,x1,label\n1,2,a\n1,oops,b\n";
  auto bad = drift("bad.csv");
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("bad.csv:3: column 'x1'"));
  std::ofstream(path("narrow.csv")) << "x0,label\n1,a\n";
  EXPECT_THAT(drift("narrow.csv").err, HasSubstr("'x1'"));
  EXPECT_EQ(drift("same.csv", {"--number-test", "t"}).code, 2);
  auto no_data = aimass({"models", "drift", "toy/1", "--config", path("train.yaml").string()});
  EXPECT_EQ(no_data.code, 2);
  EXPECT_THAT(no_data.err, HasSubstr("--data"));
}

}  // namespace
