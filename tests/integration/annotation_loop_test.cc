// SPDX-License-Identifier: Apache-2.0
// Active learning end to end, over real sockets: `aimass serve` with a job service, a serving
// runtime and a service.annotation project over a pool of made-up rows of two classes. An
// annotator labels in the order the project hands out (random: no model yet); after 20 accepted
// labels the project exports them as a dataset version and retrains the model through the job
// service; serving loads the new version, and the project ranks the rest of the pool with it:
// the next tasks come most uncertain first, with the model's suggestion.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aimass_server.h"
#include "http_call.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;

Poco::JSON::Object::Ptr json(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

class AnnotationLoopTest : public ::testing::Test {
 protected:
  fs::path path(const std::string& name) const { return temp_.path() / name; }

  /// 300 rows: class a around (0, 0), b around (2, 2); the classes are kept here, not in the
  /// file (the pool is unlabelled).
  void writePool() {
    std::mt19937 random(11);
    std::normal_distribution<double> noise(0.0, 0.6);
    std::ofstream out(path("pool.csv"));
    out << "x0,x1\n";
    for (int i = 0; i < 300; ++i) {
      const bool b = i % 2 == 1;
      const double centre = b ? 2.0 : 0.0;
      out << centre + noise(random) << "," << centre + noise(random) << "\n";
      truth_.push_back(b ? "b" : "a");
    }
  }

  void writeGraphs() {
    const std::string store = path("store.db").string();
    std::ofstream(path("retrain.yaml"))
        << "nodes:\n"
           "  store: {type: storage.sqlite, path: "
        << store
        << "}\n"
           "  labels: {type: dataset.csv, path: "
        << path("exports/toys.labels.csv").string()
        << ", label: label}\n"
           "  toy: {type: model.softmax}\n"
           "  sgd: {type: optimizer.sgd, learning_rate: 0.1, momentum: 0.9}\n"
           "  train: {type: job.train, model: toy, dataset: labels, optimizer: sgd, epochs: 40,\n"
           "          batch_size: 8, seed: 3, storage: store}\n";
    std::ofstream(path("serve.yaml"))
        << "nodes:\n"
           "  store: {type: storage.sqlite, path: "
        << store
        << "}\n"
           "  pool: {type: dataset.csv, path: "
        << path("pool.csv").string()
        << "}\n"
           "  jobs: {type: service.jobs, storage: store, work_dir: "
        << path("jobs").string()
        << ", poll_interval_ms: 100}\n"
           "  serving: {type: serving.runtime, repository: store}\n"
           "  toys: {type: service.annotation, dataset: pool, repository: store, task: class,\n"
           "         choices: [a, b], sampling: margin, model: toy, interval_ms: 200,\n"
           "         export_dir: "
        << path("exports").string()
        << ",\n"
           "         retrain_after_labels: 20, retrain_graph: retrain.yaml, jobs: jobs}\n"
           "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
  }

  /// The next task: its row, its score (NaN when unscored) and its suggestion ("" if none).
  struct Next {
    std::int64_t task = -1;
    double score = 0;
    std::string suggestion;
  };
  Next next() {
    HttpReply reply = httpCall(port_, "GET", "/api/v1/annotation/projects/toys/next");
    EXPECT_EQ(reply.status, 200) << reply.body;
    auto body = json(reply.body);
    Next out;
    if (body->isNull("task")) return out;
    out.task = body->getValue<std::int64_t>("task");
    out.score = body->isNull("score") ? std::nan("") : body->getValue<double>("score");
    if (body->has("suggestion")) {
      out.suggestion =
          body->getObject("suggestion")->getObject("answer")->getValue<std::string>("label");
    }
    return out;
  }

  /// Answers task `row` with its true class.
  void label(std::int64_t row) {
    const std::string body = R"({"label": ")" + truth_.at(static_cast<std::size_t>(row)) + "\"}";
    HttpReply reply = httpCall(
        port_, "PUT",
        "/api/v1/annotation/projects/toys/tasks/" + std::to_string(row) + "/annotation", body);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  Poco::JSON::Object::Ptr project() {
    return json(httpCall(port_, "GET", "/api/v1/annotation/projects/toys").body);
  }

  aimass::testing::TempDir temp_;
  std::vector<std::string> truth_;
  std::uint16_t port_ = 0;
};

TEST_F(AnnotationLoopTest, LabelsRetrainTheModelWhichThenChoosesTheNextTasks) {
  writePool();
  writeGraphs();
  AimassServer server(path("serve.yaml").string(), "serve");
  port_ = static_cast<std::uint16_t>(server.waitForPort());
  ASSERT_GT(port_, 0) << server.err();

  auto before = project();
  EXPECT_EQ(before->getObject("ranking")->getValue<std::string>("strategy"), "random");
  EXPECT_THAT(before->getObject("ranking")->getValue<std::string>("note"),
              ::testing::HasSubstr("not ranked yet"));
  for (int i = 0; i < 20; ++i) {
    Next task = next();
    ASSERT_GE(task.task, 0);
    EXPECT_TRUE(std::isnan(task.score));
    EXPECT_EQ(task.suggestion, "");
    label(task.task);
  }

  // The loop exports, retrains (a job), serving loads toy/1 and the pool is ranked by it.
  bool ranked = false;
  for (int i = 0; i < 900 && !ranked; ++i) {
    auto ranking = project()->getObject("ranking");
    ranked = ranking->getValue<std::string>("version") == "1" &&
             ranking->getValue<std::string>("strategy") == "margin";
    if (!ranked) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ranked) << project()->getObject("loop")->getValue<std::string>("last_error") << "\n"
                      << server.err();
  auto loop = project()->getObject("loop");
  EXPECT_EQ(loop->getValue<int>("retrains"), 1);
  EXPECT_EQ(loop->getValue<int>("since"), 0);
  HttpReply dataset = httpCall(port_, "GET", "/api/v1/datasets/toys.labels");
  ASSERT_EQ(dataset.status, 200) << dataset.body;
  EXPECT_THAT(dataset.body, ::testing::HasSubstr("annotation project 'toys'"));

  // Now the least sure rows come first, each with the model's answer as a suggestion, and
  // the model is right on most of them.
  double last = 2.0;
  int right = 0;
  for (int i = 0; i < 10; ++i) {
    Next task = next();
    ASSERT_GE(task.task, 0);
    ASSERT_FALSE(std::isnan(task.score));
    EXPECT_LE(task.score, last + 1e-9) << "tasks come least sure first";
    last = task.score;
    ASSERT_FALSE(task.suggestion.empty());
    label(task.task);
  }
  // The most certain rows the model sees are answered right: the ranking is the model's.
  for (std::int64_t row = 0; row < 300; row += 37) {
    HttpReply reply =
        httpCall(port_, "GET", "/api/v1/annotation/projects/toys/tasks/" + std::to_string(row));
    auto body = json(reply.body);
    if (!body->has("suggestion")) continue;
    right += body->getObject("suggestion")->getObject("answer")->getValue<std::string>("label") ==
                     truth_[static_cast<std::size_t>(row)]
                 ? 1
                 : 0;
  }
  EXPECT_GE(right, 6) << "of 9 rows, the model trained on 20 labels gets most right";
}

}  // namespace
