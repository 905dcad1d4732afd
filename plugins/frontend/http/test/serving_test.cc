// SPDX-License-Identifier: Apache-2.0
// The serving runtime (core/include/aimass/core/serving.h) behind frontend.http, over real
// sockets on 127.0.0.1: dynamic batching, back-pressure, queue timeouts, hot swap from the
// model registry, the repository and statistics extensions, /metrics, and memory released on
// unload.
#include "aimass/core/serving.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "fs.h"
#include "http_call.h"
#include "http_frontend.h"
#include "promtool.h"
#include "scaled_model.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

namespace aimass::plugins::frontend {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;
using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  Object::Ptr json() const {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
  }
  std::string error() const { return json()->getValue<std::string>("error"); }
};

std::int64_t residentBytes() { return core::residentMemoryBytes(); }

class ServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().setModelFactory(
        [this](const std::string& type) -> Expected<std::shared_ptr<Model>> {
          if (fail_factory_) {
            return internalError("the factory refused");
          }
          if (type != "model.scaled") {
            return notFound("no plugin offers the model type '" + type + "'");
          }
          auto model = std::make_shared<ScaledModel>();
          model->gate = &gate_;
          return std::shared_ptr<Model>(model);
        });
    auto storage = plugins::storage::FsStorage::create(dir_.path(), false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::shared_ptr<Storage>(std::move(storage).value());
  }
  void TearDown() override {
    gate_.open();
    if (frontend_) {
      frontend_->stop();
    }
    host_.servingRuntime().clear();
  }

  void start(HttpFrontendOptions options = {}) {
    options.port = 0;
    options.threads = 32;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    auto endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  /// Saves a ScaledModel with `factor` and registers it as the next version of "scaled".
  std::int64_t registerScaled(float factor, std::size_t ballast_bytes = 0) {
    ScaledModel model(factor, ballast_bytes);
    std::string key = "models/scaled/artifacts/" + std::to_string(++artifacts_) + ".aimass";
    Status saved = core::saveModel(model, "model.scaled", *storage_, key);
    EXPECT_TRUE(saved.ok()) << saved.toString();
    core::ModelRegistry registry(*storage_);
    core::NewModelVersion info;
    info.artifact_key = key;
    info.node = "train";
    info.node_type = "model.scaled";
    auto version = registry.registerVersion("scaled", info);
    EXPECT_TRUE(version.ok()) << version.status().toString();
    last_artifact_ = key;
    return version.ok() ? version->version : 0;
  }

  Reply call(const std::string& method, const std::string& path, const std::string& body = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!body.empty() || method == "POST") {
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      request.setContentType("application/json");
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = response.getStatus();
    reply.content_type = response.getContentType();
    Poco::StreamCopier::copyToString(in, reply.body);
    testing::recordPocoExchange(request, body, response, reply.body);
    return reply;
  }

  static std::string row(float a, float b) {
    return R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[)" +
           std::to_string(a) + "," + std::to_string(b) + "]}]}";
  }

  Object::Ptr statsOf(const std::string& path) {
    Reply r = call("GET", path);
    EXPECT_EQ(r.status, 200) << r.body;
    auto list = r.json()->getArray("model_stats");
    EXPECT_EQ(list->size(), 1u) << r.body;
    return list->getObject(0);
  }

  /// Polls the statistics until `n` requests wait in the queue of scaled's latest version.
  void awaitPending(int n) {
    while (statsOf("/v2/models/scaled/stats")->getValue<int>("pending_requests") < n) {
      std::this_thread::yield();
    }
  }

  testing::TempDir dir_{"aimass-serving"};
  std::shared_ptr<Storage> storage_;
  core::HostServices host_{".", 1};
  Gate gate_;
  bool fail_factory_ = false;
  int artifacts_ = 0;
  std::string last_artifact_;
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(ServingTest, ConcurrentRequestsAreBatchedAndEachGetsItsOwnRows) {
  auto model = std::make_shared<ScaledModel>(3);
  model->gate = &gate_;
  host_.servingRuntime().add("scaled", "1", model);
  HttpFrontendOptions options;
  BatchingOptions batching;
  batching.max_batch_size = 16;
  batching.max_queue_delay_us = 0;
  host_.servingRuntime().setBatching("", batching);
  start(options);

  // The first request is taken alone and held inside predict(); the next 15 queue behind it
  // and must then go to the model as one batch.
  gate_.close();
  std::vector<Reply> replies(16);
  std::vector<std::thread> clients;
  clients.emplace_back([&] { replies[0] = call("POST", "/v2/models/scaled/infer", row(0, 1)); });
  ASSERT_TRUE(gate_.awaitWaiters(1));
  for (int i = 1; i < 16; ++i) {
    clients.emplace_back([&, i] {
      replies[i] = call("POST", "/v2/models/scaled/infer",
                        row(static_cast<float>(i), static_cast<float>(i + 1)));
    });
  }
  awaitPending(15);
  gate_.open();
  for (auto& c : clients) {
    c.join();
  }
  for (int i = 0; i < 16; ++i) {
    ASSERT_EQ(replies[i].status, 200) << replies[i].body;
    auto output = replies[i].json()->getArray("outputs")->getObject(0);
    ASSERT_EQ(output->getValue<std::string>("name"), "output");
    auto data = output->getArray("data");
    EXPECT_EQ(output->getArray("shape")->getElement<int>(0), 1);
    EXPECT_FLOAT_EQ(data->getElement<float>(0), 3.0f * static_cast<float>(i));
    EXPECT_FLOAT_EQ(data->getElement<float>(1), 3.0f * static_cast<float>(i + 1));
  }
  EXPECT_EQ(model->executions.load(), 2);
  EXPECT_EQ(model->largest_batch.load(), 15);

  auto stats = statsOf("/v2/models/scaled/versions/1/stats");
  EXPECT_EQ(stats->getValue<std::string>("name"), "scaled");
  EXPECT_EQ(stats->getValue<std::string>("version"), "1");
  EXPECT_EQ(stats->getValue<int>("inference_count"), 16);
  EXPECT_EQ(stats->getValue<int>("execution_count"), 2);
  EXPECT_LT(stats->getValue<int>("execution_count"), stats->getValue<int>("inference_count"));
  auto inference = stats->getObject("inference_stats");
  EXPECT_EQ(inference->getObject("success")->getValue<int>("count"), 16);
  EXPECT_EQ(inference->getObject("fail")->getValue<int>("count"), 0);
  EXPECT_EQ(inference->getObject("queue")->getValue<int>("count"), 16);
  EXPECT_GT(stats->getValue<std::int64_t>("last_inference"), 0);
  auto batches = stats->getArray("batch_stats");
  ASSERT_EQ(batches->size(), 2u);
  EXPECT_EQ(batches->getObject(0)->getValue<int>("batch_size"), 1);
  EXPECT_EQ(batches->getObject(1)->getValue<int>("batch_size"), 15);
  EXPECT_EQ(batches->getObject(1)->getObject("compute_infer")->getValue<int>("count"), 1);
}

TEST_F(ServingTest, AFullQueueAnswers503AndTheQueuedRequestsStillSucceed) {
  auto model = std::make_shared<ScaledModel>(1);
  model->gate = &gate_;
  host_.servingRuntime().add("scaled", "1", model);
  HttpFrontendOptions options;
  BatchingOptions batching;
  batching.max_batch_size = 4;
  batching.max_queue_delay_us = 0;
  batching.max_queue_size = 2;
  host_.servingRuntime().setBatching("", batching);
  start(options);

  gate_.close();
  std::vector<Reply> replies(3);
  std::vector<std::thread> clients;
  clients.emplace_back([&] { replies[0] = call("POST", "/v2/models/scaled/infer", row(1, 2)); });
  ASSERT_TRUE(gate_.awaitWaiters(1));
  for (int i = 1; i < 3; ++i) {
    clients.emplace_back(
        [&, i] { replies[i] = call("POST", "/v2/models/scaled/infer", row(1, 2)); });
  }
  awaitPending(2);
  Reply refused = call("POST", "/v2/models/scaled/infer", row(1, 2));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.content_type, "application/json");
  EXPECT_THAT(refused.error(), HasSubstr("queue is full"));
  EXPECT_THAT(refused.error(), HasSubstr("max_queue_size 2"));
  gate_.open();
  for (auto& c : clients) {
    c.join();
  }
  for (const auto& r : replies) {
    EXPECT_EQ(r.status, 200) << r.body;
  }
  auto stats = statsOf("/v2/models/scaled/stats");
  EXPECT_EQ(stats->getObject("failure_reasons")->getValue<int>("rejected"), 1);
  EXPECT_EQ(stats->getObject("inference_stats")->getObject("fail")->getValue<int>("count"), 1);
}

TEST_F(ServingTest, ARequestWaitingPastItsTimeoutFailsWith503) {
  auto model = std::make_shared<ScaledModel>(1);
  model->gate = &gate_;
  host_.servingRuntime().add("scaled", "1", model);
  HttpFrontendOptions options;
  BatchingOptions batching;
  batching.max_batch_size = 4;
  batching.max_queue_delay_us = 0;
  host_.servingRuntime().setBatching("", batching);
  BatchingOptions scaled = batching;
  scaled.timeout_ms = 50;
  host_.servingRuntime().setBatching("scaled", scaled);
  start(options);

  gate_.close();
  Reply first;
  std::thread holder([&] { first = call("POST", "/v2/models/scaled/infer", row(1, 2)); });
  ASSERT_TRUE(gate_.awaitWaiters(1));
  Reply late = call("POST", "/v2/models/scaled/infer", row(1, 2));
  EXPECT_EQ(late.status, 503);
  EXPECT_THAT(late.error(), HasSubstr("50 ms timeout"));
  gate_.open();
  holder.join();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(
      statsOf("/v2/models/scaled/stats")->getObject("failure_reasons")->getValue<int>("timeout"),
      1);
}

TEST_F(ServingTest, HotSwapUnderLoadDropsNoRequestAndNeverMixesVersions) {
  registerScaled(1);
  HttpFrontendOptions options;
  BatchingOptions batching;
  batching.max_batch_size = 8;
  batching.max_queue_delay_us = 200;
  host_.servingRuntime().setBatching("", batching);
  ASSERT_TRUE(host_.servingRuntime().setRepository(storage_).ok());
  ASSERT_TRUE(host_.servingRuntime().load("scaled").ok());
  start(options);

  std::atomic<bool> done{false};
  std::atomic<int> failures{0}, mixed{0}, answered{0};
  std::mutex seen_mutex;
  std::set<std::string> seen_versions;
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; !done.load() || i < 20; ++i) {
        const float a = static_cast<float>(c + 1), b = static_cast<float>(i);
        Reply r = call("POST", "/v2/models/scaled/infer", row(a, b));
        if (r.status != 200) {
          ++failures;
          continue;
        }
        ++answered;
        auto json = r.json();
        std::string version = json->getValue<std::string>("model_version");
        auto outputs = json->getArray("outputs");
        for (std::size_t k = 0; k < outputs->size(); ++k) {
          auto out = outputs->getObject(static_cast<unsigned>(k));
          auto data = out->getArray("data");
          float factor = std::stof(version);
          if (out->getValue<std::string>("name") == "version") {
            mixed += data->getElement<std::int64_t>(0) != static_cast<std::int64_t>(factor);
          } else {
            mixed += data->getElement<float>(0) != a * factor ||
                     data->getElement<float>(1) != b * factor;
          }
        }
        std::lock_guard lock(seen_mutex);
        seen_versions.insert(version);
      }
    });
  }
  for (int next = 2; next <= 4; ++next) {
    while (answered.load() < 30 * (next - 1)) {
      std::this_thread::yield();
    }
    registerScaled(static_cast<float>(next));
    Reply loaded = call("POST", "/v2/repository/models/scaled/load");
    ASSERT_EQ(loaded.status, 200) << loaded.body;
  }
  // Traffic after the last load is answered by version 4: wait for some of it (counting from
  // the load's reply, since the clients kept going while the load ran).
  const int answered_at_last_load = answered.load();
  while (answered.load() < answered_at_last_load + 30) {
    std::this_thread::yield();
  }
  done = true;
  for (auto& c : clients) {
    c.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_TRUE(seen_versions.count("1"));
  EXPECT_TRUE(seen_versions.count("4"));
  // latest:1: only the newest version is left.
  Reply index = call("POST", "/v2/repository/index", R"({"ready":true})");
  ASSERT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr(R"("name":"scaled","version":"4","state":"READY")"));
  EXPECT_THAT(index.body, ::testing::Not(HasSubstr(R"("version":"3")")));
}

TEST_F(ServingTest, AFailedLoadLeavesTheOldVersionServing) {
  registerScaled(2);
  HttpFrontendOptions options;
  ASSERT_TRUE(host_.servingRuntime().setRepository(storage_).ok());
  ASSERT_TRUE(host_.servingRuntime().load("scaled").ok());
  start(options);
  registerScaled(5);
  // Corrupt the new artifact after registration: its checksum no longer matches.
  {
    auto writer = storage_->openWrite(last_artifact_);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write("AIMASSM garbage").ok());
    ASSERT_TRUE((*writer)->commit().ok());
  }
  Reply failed = call("POST", "/v2/repository/models/scaled/load");
  EXPECT_EQ(failed.status, 400);
  EXPECT_EQ(failed.content_type, "application/json");
  EXPECT_THAT(failed.error(), HasSubstr("cannot load 'scaled'"));
  EXPECT_THAT(failed.error(), HasSubstr("keep serving"));

  Reply still = call("POST", "/v2/models/scaled/infer", row(1, 1));
  ASSERT_EQ(still.status, 200) << still.body;
  EXPECT_EQ(still.json()->getValue<std::string>("model_version"), "1");

  fail_factory_ = true;
  Reply refused = call("POST", "/v2/repository/models/scaled@nothing/load");
  EXPECT_EQ(refused.status, 404);
  EXPECT_THAT(refused.error(), HasSubstr("nothing"));
  EXPECT_EQ(call("POST", "/v2/models/scaled/infer", row(1, 1)).status, 200);
}

TEST_F(ServingTest, RepositoryIndexLoadAndUnload) {
  host_.servingRuntime().add("graph_model", "1", std::make_shared<ScaledModel>(1));
  registerScaled(1);
  registerScaled(2);
  HttpFrontendOptions options;
  ASSERT_TRUE(host_.servingRuntime().setRepository(storage_).ok());
  start(options);

  Reply index = call("POST", "/v2/repository/index");
  ASSERT_EQ(index.status, 200) << index.body;
  Poco::JSON::Parser parser;
  auto entries = parser.parse(index.body).extract<Array::Ptr>();
  ASSERT_EQ(entries->size(), 2u) << index.body;
  EXPECT_EQ(entries->getObject(0)->getValue<std::string>("name"), "graph_model");
  EXPECT_EQ(entries->getObject(0)->getValue<std::string>("state"), "READY");
  EXPECT_EQ(entries->getObject(1)->getValue<std::string>("name"), "scaled");
  EXPECT_EQ(entries->getObject(1)->getValue<std::string>("state"), "UNAVAILABLE");
  EXPECT_EQ(entries->getObject(1)->getValue<std::string>("reason"), "unloaded");
  EXPECT_EQ(call("POST", "/v2/models/scaled/infer", row(1, 1)).status, 404);

  Reply loaded = call("POST", "/v2/repository/models/scaled/load",
                      R"({"parameters":{"version_policy":"all"}})");
  ASSERT_EQ(loaded.status, 200) << loaded.body;
  Reply metadata = call("GET", "/v2/models/scaled");
  ASSERT_EQ(metadata.status, 200);
  EXPECT_EQ(metadata.json()->getArray("versions")->size(), 2u);
  Reply v1 = call("POST", "/v2/models/scaled/versions/1/infer", row(2, 3));
  ASSERT_EQ(v1.status, 200);
  EXPECT_EQ(v1.json()->getValue<std::string>("model_version"), "1");
  EXPECT_EQ(call("POST", "/v2/models/scaled/infer", row(2, 3))
                .json()
                ->getValue<std::string>("model_version"),
            "2");

  Reply pinned = call("POST", "/v2/repository/models/scaled@champion/load");
  EXPECT_EQ(pinned.status, 404) << pinned.body;

  EXPECT_EQ(call("POST", "/v2/repository/models/scaled/unload").status, 200);
  EXPECT_EQ(call("POST", "/v2/models/scaled/infer", row(1, 1)).status, 404);
  Reply again = call("POST", "/v2/repository/models/scaled/unload");
  EXPECT_EQ(again.status, 404);
  EXPECT_THAT(again.error(), HasSubstr("no such model is loaded"));

  Reply unknown = call("POST", "/v2/repository/models/nope/load");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.error(), HasSubstr("nope"));
  Reply bad_body = call("POST", "/v2/repository/models/scaled/load", "{oops");
  EXPECT_EQ(bad_body.status, 400);
  EXPECT_THAT(bad_body.error(), HasSubstr("the body of repository load is not valid JSON"));
  Reply bad_param =
      call("POST", "/v2/repository/models/scaled/load", R"({"parameters":{"config":"{}"}})");
  EXPECT_EQ(bad_param.status, 400);
  EXPECT_THAT(bad_param.error(), HasSubstr("unsupported load parameter 'config'"));
  Reply bad_policy = call("POST", "/v2/repository/models/scaled/load",
                          R"({"parameters":{"version_policy":"newest"}})");
  EXPECT_EQ(bad_policy.status, 400);
  EXPECT_THAT(bad_policy.error(), HasSubstr("version policy 'newest'"));
  EXPECT_EQ(call("GET", "/v2/repository/index").status, 405);
}

TEST_F(ServingTest, LoadWithoutARepositoryIsRefused) {
  start();
  Reply r = call("POST", "/v2/repository/models/scaled/load");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.error(), HasSubstr("no model repository is configured"));
}

TEST_F(ServingTest, StatisticsRoutes) {
  host_.servingRuntime().add("a", "1", std::make_shared<ScaledModel>(1));
  host_.servingRuntime().add("b", "1", std::make_shared<ScaledModel>(1));
  host_.servingRuntime().add("b", "2", std::make_shared<ScaledModel>(2));
  start();
  ASSERT_EQ(call("POST", "/v2/models/b/infer", row(1, 2)).status, 200);
  Reply bad = call("POST", "/v2/models/b/infer", R"({"inputs":[]})");
  EXPECT_EQ(bad.status, 400);

  Reply all = call("GET", "/v2/models/stats");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.json()->getArray("model_stats")->size(), 3u);
  Reply b = call("GET", "/v2/models/b/stats");
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(b.json()->getArray("model_stats")->size(), 2u);
  auto b2 = statsOf("/v2/models/b/versions/2/stats");
  EXPECT_EQ(b2->getValue<int>("inference_count"), 1);
  EXPECT_EQ(b2->getValue<int>("execution_count"), 1);
  EXPECT_EQ(b2->getObject("inference_stats")->getObject("success")->getValue<int>("count"), 1);
  EXPECT_EQ(b2->getObject("failure_reasons")->getValue<int>("invalid"), 1);
  EXPECT_EQ(call("GET", "/v2/models/nope/stats").status, 404);
  Reply no_version = call("GET", "/v2/models/b/versions/7/stats");
  EXPECT_EQ(no_version.status, 404);
  EXPECT_THAT(no_version.error(), HasSubstr("version '7'"));
}

TEST_F(ServingTest, MetricsPassPromtool) {
  host_.servingRuntime().add("clf", "1", std::make_shared<ScaledModel>(1));
  start();
  ASSERT_EQ(call("POST", "/v2/models/clf/infer", row(1, 2)).status, 200);
  EXPECT_EQ(call("POST", "/v2/models/clf/infer", "{").status, 400);
  Reply metrics = call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(metrics.body, HasSubstr("aimass_inference_request_success_total{model=\"clf\","
                                      "version=\"1\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("aimass_inference_request_failure_total{model=\"clf\","
                                      "version=\"1\",reason=\"invalid\"} 1\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("aimass_inference_count_total{model=\"clf\",version=\"1\"} 1\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("aimass_inference_exec_count_total{model=\"clf\",version=\"1\"} 1\n"));
  EXPECT_THAT(metrics.body, HasSubstr("aimass_inference_pending_requests{"));
  EXPECT_THAT(metrics.body, HasSubstr("aimass_inference_queue_duration_seconds_total{"));
  EXPECT_THAT(metrics.body, HasSubstr("aimass_inference_compute_infer_duration_seconds_total{"));
  EXPECT_THAT(metrics.body, HasSubstr("\nprocess_cpu_seconds_total "));
  EXPECT_THAT(metrics.body, HasSubstr("\nprocess_resident_memory_bytes "));

  auto promtool = checkWithPromtool(metrics.body, dir_.path());
  if (!promtool) {
    AIMASS_SKIP_OR_FAIL(aimass::testing::kPromtoolMissing);
  }
  EXPECT_EQ(promtool->code, 0) << promtool->report << "\n" << metrics.body;
  EXPECT_EQ(promtool->report, "") << metrics.body;
}

TEST_F(ServingTest, UnloadReleasesTheModelsMemory) {
  constexpr std::size_t kBallast = 48u << 20;
  registerScaled(1, kBallast);
  HttpFrontendOptions options;
  ASSERT_TRUE(host_.servingRuntime().setRepository(storage_).ok());
  start(options);
  // One cycle first, so buffers the runtime and the server keep are already counted.
  ASSERT_EQ(call("POST", "/v2/repository/models/scaled/load").status, 200);
  ASSERT_EQ(call("POST", "/v2/models/scaled/infer", row(1, 2)).status, 200);
  ASSERT_EQ(call("POST", "/v2/repository/models/scaled/unload").status, 200);
  const std::int64_t baseline = residentBytes();
  ASSERT_GT(baseline, 0);
  for (int cycle = 0; cycle < 5; ++cycle) {
    ASSERT_EQ(call("POST", "/v2/repository/models/scaled/load").status, 200);
    ASSERT_EQ(call("POST", "/v2/models/scaled/infer", row(1, 2)).status, 200);
    // The model's weights are resident while it is loaded...
    EXPECT_GT(residentBytes(), baseline + static_cast<std::int64_t>(kBallast) * 3 / 4)
        << "cycle " << cycle;
    ASSERT_EQ(call("POST", "/v2/repository/models/scaled/unload").status, 200);
    // ...and gone once it is unloaded.
    EXPECT_LT(residentBytes(), baseline + static_cast<std::int64_t>(kBallast) / 4)
        << "cycle " << cycle;
  }
}

TEST(ServingRuntimeTest, InputsAreCheckedAgainstTheSchemaBeforeTheModelSeesThem) {
  core::ServingRuntime runtime;
  auto model = std::make_shared<ScaledModel>(1);
  runtime.add("scaled", "1", model);
  auto pinned = runtime.pin("scaled", "");
  ASSERT_TRUE(pinned.ok());
  TensorMap outputs;
  InferFailure failure = InferFailure::kBackend;

  TensorMap wrong_type;
  wrong_type.set("input", Tensor(DType::kFloat64, {1, 2}));
  Status s = (*pinned)->infer(wrong_type, PredictOptions{}, outputs, &failure);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("input 'input' of model 'scaled' must be FP32"));
  EXPECT_EQ(failure, InferFailure::kInvalid);

  TensorMap wrong_shape;
  wrong_shape.set("input", Tensor(DType::kFloat32, {1, 3}));
  EXPECT_EQ((*pinned)->infer(wrong_shape, PredictOptions{}, outputs, &failure).code(), StatusCode::kInvalidArgument);
  TensorMap unknown;
  unknown.set("inputs", Tensor(DType::kFloat32, {1, 2}));
  EXPECT_THAT((*pinned)->infer(unknown, PredictOptions{}, outputs, &failure).message(),
              HasSubstr("has no input 'inputs' (inputs: input)"));
  TensorMap none;
  EXPECT_THAT((*pinned)->infer(none, PredictOptions{}, outputs, &failure).message(),
              HasSubstr("missing input 'input'"));
  EXPECT_EQ(model->executions.load(), 0);

  EXPECT_EQ(runtime.pin("nope", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime.pin("scaled", "2").status().message(), "unknown model 'scaled' version '2'");
}

TEST(ServingRuntimeTest, APinnedVersionOutlivesItsUnload) {
  core::ServingRuntime runtime;
  auto model = std::make_shared<ScaledModel>(7);
  std::weak_ptr<const Model> watch = model;
  runtime.add("scaled", "1", std::move(model));
  auto pinned = runtime.pin("scaled", "").value();
  ASSERT_TRUE(runtime.unload("scaled").ok());
  EXPECT_FALSE(watch.expired());
  TensorMap inputs, outputs;
  inputs.set("input", Tensor::fromVector<float>({1, 2}, {1, 2}));
  ASSERT_TRUE(pinned->infer(inputs, PredictOptions{}, outputs, nullptr).ok());
  EXPECT_FLOAT_EQ(outputs.find("output")->data<float>()[1], 14.0f);
  pinned.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(VersionPolicyText, ParsesSpecificVersions) {
  auto all = parseVersionPolicy("specific:1,3");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->kind, VersionPolicy::Kind::kSpecific);
  EXPECT_EQ(all->versions, (std::vector<std::int64_t>{1, 3}));
}

}  // namespace
}  // namespace aimass::plugins::frontend
