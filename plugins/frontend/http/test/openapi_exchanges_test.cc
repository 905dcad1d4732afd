// SPDX-License-Identifier: Apache-2.0
// docs/openapi.yaml checked the other way from openapi_test.cc: every documented operation is
// exercised on a real socket, with valid and invalid requests, and every exchange is checked
// against the document (tests/support/openapi_contract.h): its status is documented for the
// operation, a 500 never passes, an accepted request body matches the request schema and the
// answer's body the response schema.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/evaluation.h"
#include "aimass/core/host_services.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "aimass/core/tracking.h"
#include "aimass/core/type_registry.h"
#include "annotation/annotation_node.h"
#include "annotation_fixtures.h"
#include "console_api/console_routes.h"
#include "console_records.h"
#include "data_profile.h"
#include "evaluation_record.h"
#include "evaluation_routes.h"
#include "fake_models.h"
#include "fs.h"
#include "http_exchange_log.h"
#include "http_frontend.h"
#include "jobs/jobs_node.h"
#include "openapi_contract.h"
#include "temp_dir.h"
#include "version_runs.h"

namespace aimass::plugins::frontend {
namespace {

using testing::HttpExchange;
using testing::OpenApiContract;

constexpr const char* kOpenApiPath = AIMASS_SOURCE_DIR "/docs/openapi.yaml";

const char* kClfRow =
    R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[3,1]}]})";
const char* kFeedback =
    R"({"inputs":[{"name":"user","datatype":"BYTES","shape":[1],"data":["u1"]},)"
    R"({"name":"item","datatype":"BYTES","shape":[1],"data":["a"]}]})";

/// Served: the classifier "clf" (MLflow's scoring model too) and the online recommender "rec";
/// a storage.fs as the model repository and the /api/v1 registry, holding the classifier as
/// registered model "reg" (two versions), the dataset "pumps" and one tracked run.
class OpenApiExchangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    auto storage = plugins::storage::FsStorage::create(dir_.path(), false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::shared_ptr<Storage>(std::move(storage).value());
    host_.servingRuntime().setModelFactory(
        [](const std::string& type) -> Expected<std::shared_ptr<Model>> {
          if (type != "model.two_feature") {
            return notFound("no plugin offers the model type '" + type + "'");
          }
          return std::shared_ptr<Model>(std::make_shared<TwoFeatureClassifier>());
        });
    host_.servingRuntime().add("clf", "1", std::make_shared<TwoFeatureClassifier>());
    host_.servingRuntime().add("rec", "1", std::make_shared<FakeRecommender>());
    ASSERT_TRUE(host_.servingRuntime().setRepository(storage_).ok());
    host_.setApiStorage(storage_);
    core::addEvaluationRoutes(host_, storage_);
    populateStorage();
    testing::putStudy(*storage_);
    testing::putMonitoring(*storage_);
    // The console's routes, as `aimass run` adds them for a graph with a frontend.
    core::registerBuiltinTypes(types_);
    ASSERT_TRUE(core::addConsoleApiRoutes(host_, {&types_, storage_, dir_.path()}).ok());
    addAnnotationProject();
    // A job service on the same store whose workers are the aimass under test; the job the
    // tests submit trains long enough to be cancelled while queued or running.
    core::jobs::JobServiceOptions jobs;
    jobs.capacity = {1, std::int64_t{4} << 30, 0};
    jobs.queues.push_back({});
    jobs.queues.back().name = "default";
    jobs.queues.back().nominal = jobs.capacity;
    jobs.work_dir = dir_.path() / "jobs";
    jobs.grace_period = std::chrono::milliseconds(2000);
    jobs.worker.executable = AIMASS_EXECUTABLE;
    jobs_ = std::make_unique<core::jobs::JobsServiceNode>(storage_, jobs, nullptr, dir_.path());
    ASSERT_TRUE(jobs_->start().ok());
    host_.setJobService(jobs_.get());

    HttpFrontendOptions options;
    options.port = 0;
    options.threads = 4;
    options.mlflow_model = "clf";
    options.max_body_bytes = 4096;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    const std::string endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
    if (project_) project_->stop();
    host_.setJobService(nullptr);
    jobs_.reset();
    host_.servingRuntime().clear();
  }

  void populateStorage() {
    core::ModelRegistry registry(*storage_);
    for (int i = 1; i <= 2; ++i) {
      const std::string key = "models/reg/artifacts/" + std::to_string(i) + ".aimass";
      TwoFeatureClassifier model;
      ASSERT_TRUE(core::saveModel(model, "model.two_feature", *storage_, key).ok());
      core::NewModelVersion info;
      info.artifact_key = key;
      info.node = "train";
      info.node_type = "model.two_feature";
      info.metrics = {{"accuracy", 0.5}};
      if (i == 2) {  // the second has a training-data profile
        core::DataProfile profile;
        profile.rows = 3;
        for (const char* name : {"a", "b"}) {
          core::FeatureProfile feature;
          feature.name = name;
          feature.present = 3;
          feature.max = 1;
          feature.sample_size = 3;  // format 2: the percentiles drift is tested against
          for (int p = 0; p <= 100; ++p) feature.percentiles.push_back(p / 100.0);
          profile.features.push_back(feature);
        }
        info.profile_key = core::dataProfileKey(key);
        ASSERT_TRUE(storage_->put(info.profile_key, core::encodeDataProfile(profile)).ok());
      }
      ASSERT_TRUE(registry.registerVersion("reg", info).ok());
    }
    core::DatasetRegistry datasets(*storage_);
    core::NewDatasetVersion dataset;
    dataset.type = "dataset.csv";
    dataset.source = "dataset.csv node 'pumps'";
    dataset.sha256 = std::string(64, 'a');
    dataset.rows = 3;
    ASSERT_TRUE(datasets.registerVersion("pumps", dataset).ok());
    core::Tracking tracking(*storage_);
    core::NewRun run;
    run.experiment = "demo";
    run.node = "train";
    run.node_type = "model.two_feature";
    run.params = {{"epochs", "3"}};
    auto logger = tracking.startRun(run);
    ASSERT_TRUE(logger.ok()) << logger.status().toString();
    ASSERT_TRUE((*logger)->log("loss", 1, 0.25).ok());
    ASSERT_TRUE((*logger)->finish(core::RunStatus::kFinished).ok());
    recordEvaluation();
  }

  /// Run 2: a job.evaluate's report of "reg" version 2, a binary classifier with curves.
  void recordEvaluation() {
    core::ClassificationMetrics metrics({"no", "yes"});
    const std::vector<std::int64_t> truth = {0, 1, 1, 0};
    const std::vector<std::int64_t> predicted = {0, 1, 0, 0};
    const std::vector<float> probabilities = {0.8F, 0.2F, 0.3F, 0.7F, 0.6F, 0.4F, 0.9F, 0.1F};
    ASSERT_TRUE(metrics.add(truth, predicted, probabilities).ok());
    core::EvaluationReport report;
    report.job = "score";
    report.model = "reg";
    report.dataset = "pumps";
    auto classification = metrics.report();
    ASSERT_TRUE(classification.ok());
    report.classification = std::move(classification).value();
    core::EvaluationRecording what;
    what.experiment = "evaluation";
    what.job = "score";
    what.model = "reg";
    what.dataset = "pumps";
    what.model_version = "reg";
    what.version = 2;
    what.dataset_version = 1;
    auto run = core::recordEvaluation(*storage_, what, report);
    ASSERT_TRUE(run.ok()) << run.status().toString();
    ASSERT_EQ(*run, 2);
  }

  /// Sends one request, records the exchange ($AIMASS_HTTP_EXCHANGE_LOG) and checks it against
  /// the document; returns the status.
  int exchange(const std::string& method, const std::string& target, const std::string& body = "",
               const std::string& content_type = "application/json") {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(20, 0));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    if (method != "GET") {
      request.setContentType(content_type);
    }
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    HttpExchange x;
    x.method = method;
    x.target = target;
    x.request_content_type = method != "GET" ? content_type : "";
    x.request_body = body;
    x.status = static_cast<int>(response.getStatus());
    x.response_content_type = response.getContentType();
    Poco::StreamCopier::copyToString(in, x.response_body);
    testing::recordHttpExchange(x);
    for (const std::string& problem : contract_.violations(x)) {
      ADD_FAILURE() << problem;
    }
    const std::string operation = contract_.operationOf(method, target);
    EXPECT_FALSE(operation.empty()) << method << " " << target << " is no documented operation";
    covered_.insert(operation);
    if (x.status >= 200 && x.status < 300) {
      answered_2xx_.insert(operation);
    }
    return x.status;
  }

  void exerciseHealthAndMetadata() {
    EXPECT_EQ(exchange("GET", "/v2/health/live"), 200);
    EXPECT_EQ(exchange("GET", "/v2/health/ready"), 200);
    EXPECT_EQ(exchange("GET", "/v2"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/clf"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/nope"), 404);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/versions/1"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/versions/9"), 404);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/ready"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/nope/ready"), 404);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/versions/1/ready"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/versions/9/ready"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/session"), 200);
  }

  void exerciseInference() {
    for (const std::string prefix : {"/v2/models/clf", "/v2/models/clf/versions/1"}) {
      EXPECT_EQ(exchange("POST", prefix + "/infer", kClfRow), 200);
      EXPECT_EQ(exchange("POST", prefix + "/infer",
                         R"({"id":"r1","inputs":[{"name":"input","datatype":"FP32",)"
                         R"("shape":[2,2],"data":[[1,2],[4,3]]}],)"
                         R"("outputs":[{"name":"class"}],"parameters":{"note":"x"}})"),
                200);
      EXPECT_EQ(exchange("POST", prefix + "/infer", "{oops"), 400);
      EXPECT_EQ(exchange("POST", prefix + "/infer", R"({"inputs":[]})"), 400);
      EXPECT_EQ(exchange("POST", prefix + "/infer",
                         R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,3],)"
                         R"("data":[1,2,3]}]})"),
                400);
      EXPECT_EQ(exchange("POST", prefix + "/infer", std::string(5000, ' ')), 413);
      EXPECT_EQ(exchange("POST", prefix + "/generate_stream", kClfRow), 200);
      EXPECT_EQ(exchange("POST", prefix + "/generate_stream", "[]"), 400);
    }
    EXPECT_EQ(exchange("POST", "/v2/models/nope/infer", kClfRow), 404);
    EXPECT_EQ(exchange("POST", "/v2/models/nope/generate_stream", kClfRow), 404);
    EXPECT_EQ(exchange("POST", "/v2/models/rec/feedback", kFeedback), 200);
    EXPECT_EQ(exchange("POST", "/v2/models/rec/versions/1/feedback", kFeedback), 200);
    EXPECT_EQ(exchange("POST", "/v2/models/rec/feedback", "{}"), 400);
    EXPECT_EQ(exchange("POST", "/v2/models/clf/feedback", kClfRow), 409);
    EXPECT_EQ(exchange("POST", "/v2/models/nope/versions/1/feedback", kFeedback), 404);
  }

  void exerciseRepositoryAndStatistics() {
    EXPECT_EQ(exchange("POST", "/v2/repository/index"), 200);
    EXPECT_EQ(exchange("POST", "/v2/repository/index", R"({"ready":true})"), 200);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/reg/load"), 200);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/reg/load",
                       R"({"parameters":{"version_policy":"all"}})"),
              200);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/reg/load", "{oops"), 400);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/nope/load"), 404);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/reg/load", "{}", "text/plain"), 403);
    EXPECT_EQ(exchange("GET", "/v2/models/stats"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/stats"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/nope/stats"), 404);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/versions/1/stats"), 200);
    EXPECT_EQ(exchange("GET", "/v2/models/clf/versions/9/stats"), 404);
    EXPECT_EQ(exchange("GET", "/metrics"), 200);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/reg/unload", "[1]"), 400);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/reg/unload"), 200);
    EXPECT_EQ(exchange("POST", "/v2/repository/models/reg/unload"), 404);
  }

  void exerciseMlflow() {
    EXPECT_EQ(exchange("GET", "/ping"), 200);
    EXPECT_EQ(exchange("GET", "/health"), 200);
    EXPECT_EQ(exchange("GET", "/version"), 200);
    EXPECT_EQ(exchange("POST", "/invocations", R"({"inputs":[[3,1],[1,3]]})"), 200);
    EXPECT_EQ(exchange("POST", "/invocations",
                       R"({"dataframe_split":{"columns":["a","b"],"data":[[3,1]]}})"),
              200);
    EXPECT_EQ(exchange("POST", "/invocations", "a,b\n3,1\n", "text/csv"), 200);
    EXPECT_EQ(exchange("POST", "/invocations", "{oops"), 400);
    EXPECT_EQ(exchange("POST", "/invocations", "<x/>", "application/xml"), 415);
    EXPECT_EQ(exchange("POST", "/invocations", std::string(5000, ' ')), 413);
  }

  void exerciseRegistry() {
    EXPECT_EQ(exchange("GET", "/api/v1/models"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/nope"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/1"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/9"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/2/profile"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/1/profile"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/x/profile"), 400);
    const std::string tags = "/api/v1/models/reg/versions/1/tags";
    EXPECT_EQ(exchange("PUT", tags, R"({"stage":"test"})"), 200);
    EXPECT_EQ(exchange("PUT", tags, R"({"stage":1})"), 400);
    EXPECT_EQ(exchange("PATCH", tags, R"({"set":{"owner":"me"},"remove":["stage"]})"), 200);
    EXPECT_EQ(exchange("PATCH", tags, R"({"unset":[]})"), 400);
    EXPECT_EQ(exchange("PATCH", "/api/v1/models/reg/versions/9/tags", R"({"set":{"a":"b"}})"), 404);
    EXPECT_EQ(exchange("POST", "/api/v1/models/reg/aliases/champion", R"({"version":1})"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/models/reg/aliases/champion", R"({"version":2})"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/models/reg/aliases/champion", R"({"version":"2"})"), 400);
    EXPECT_EQ(exchange("POST", "/api/v1/models/reg/aliases/champion", R"({"version":9})"), 404);
    EXPECT_EQ(exchange("POST", "/api/v1/models/reg/aliases/champion/rollback"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/models/reg/aliases/champion/rollback"), 409);
    EXPECT_EQ(exchange("POST", "/api/v1/models/reg/aliases/nope/rollback"), 404);
    EXPECT_EQ(exchange("DELETE", "/api/v1/models/reg/versions/1"), 409);
    EXPECT_EQ(exchange("DELETE", "/api/v1/models/reg/versions/1?force=yes"), 400);
    EXPECT_EQ(exchange("DELETE", "/api/v1/models/reg/versions/1?force=true"), 200);
    EXPECT_EQ(exchange("DELETE", "/api/v1/models/reg/versions/1"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/events"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/events?after=2&limit=2&kind=alias_moved"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/events?limit=x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/models/nope/events"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/datasets"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/datasets/pumps"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/datasets/nope"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/datasets/pumps/versions/1"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/datasets/pumps/versions/x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/datasets/pumps/versions/9"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/runs"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/runs?experiment=demo&sort=loss&desc=true&limit=5"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/runs?limit=-1"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/runs?offset=1&limit=1"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/runs?offset=x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/1"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/9"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/1/metrics/loss?after_step=1&limit=5"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/1/metrics/loss?limit=0"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/9/metrics/loss"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/2/evaluation"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/1/evaluation"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/9/evaluation"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/runs/x/evaluation"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/2/evaluations"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/9/evaluations"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/x/evaluations"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/models/nope/versions/1/evaluations"), 404);
    ASSERT_TRUE(core::recordVersionRun(*storage_, "reg", 2, 1).ok());  // as job.train does
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/2/run"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/3/run"), 404);  // no run recorded
    EXPECT_EQ(exchange("GET", "/api/v1/models/reg/versions/x/run"), 400);
  }

  void exerciseJobs() {
    const std::string graph =
        "nodes:\\n  pumps: {type: dataset.csv, path: " AIMASS_SOURCE_DIR
        "/configs/data/pumps.csv, label: state}\\n  m: {type: model.mlp, hidden: [256]}\\n"
        "  sgd: {type: optimizer.sgd}\\n  train: {type: job.train, model: m, dataset: pumps, "
        "optimizer: sgd, epochs: 1000000, batch_size: 1}\\n";
    EXPECT_EQ(exchange("POST", "/api/v1/jobs",
                       R"({"config":")" + graph + R"(","queue":"default","memory":"2GiB"})"),
              201);
    EXPECT_EQ(exchange("POST", "/api/v1/jobs", R"({"config":"x","threads":0})"), 400);
    EXPECT_EQ(exchange("POST", "/api/v1/jobs", R"({"config":"x","queue":"nope"})"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs?state=queued&queue=default"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs?color=red"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/1"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/9"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/1/log?bytes=100"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/1/log?offset=0&bytes=10"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/1/log?offset=99999999"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/1/log?offset=-1"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/jobs/9/log"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/queues"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/jobs/1/cancel"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/jobs/9/cancel"), 404);
    exerciseSchedulesAndQueueEdits();
  }

  void exerciseSchedulesAndQueueEdits() {
    EXPECT_EQ(exchange("POST", "/api/v1/schedules",
                       R"({"config":"nodes: {}","cron":"0 3 * * mon-fri","overlap":"replace",)"
                       R"("name":"nightly"})"),
              201);
    EXPECT_EQ(exchange("POST", "/api/v1/schedules", R"({"config":"x","cron":"0 24 * * *"})"), 400);
    EXPECT_EQ(exchange("POST", "/api/v1/schedules", R"({"config":"x"})"), 400);
    EXPECT_EQ(exchange("POST", "/api/v1/schedules",
                       R"({"config":"x","cron":"@daily","overlap":"maybe"})"),
              400);
    EXPECT_EQ(exchange("POST", "/api/v1/schedules",
                       R"({"config":"x","cron":"@daily","queue":"nope"})"),
              404);
    EXPECT_EQ(exchange("GET", "/api/v1/schedules"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/schedules/1"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/schedules/x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/schedules/9"), 404);
    EXPECT_EQ(exchange("DELETE", "/api/v1/schedules/1"), 200);
    EXPECT_EQ(exchange("DELETE", "/api/v1/schedules/1"), 404);
    EXPECT_EQ(exchange("PUT", "/api/v1/queues/default",
                       R"({"threads":1,"memory":"3GiB","max_running":2,"ordering":"fair_share"})"),
              200);
    EXPECT_EQ(exchange("PUT", "/api/v1/queues/default", R"({"threads":-1})"), 400);
    EXPECT_EQ(exchange("PUT", "/api/v1/queues/default", R"({"colour":1})"), 400);
    EXPECT_EQ(exchange("PUT", "/api/v1/queues/default", R"({"borrow_threads":1})"), 400);
    EXPECT_EQ(exchange("PUT", "/api/v1/queues/nope", R"({"threads":1})"), 404);
  }

  void exerciseConsole() {
    EXPECT_EQ(exchange("GET", "/api/v1/studies"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/studies?x=1"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/studies/widths"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/studies/widths?top=1"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/studies/widths?top=0"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/studies/nope"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring?x=1"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring/pumps"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring/nope"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring/-x"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring/pumps/windows"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring/pumps/windows?after=999&limit=10"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring/pumps/windows?limit=5001"), 400);
    EXPECT_EQ(exchange("GET", "/api/v1/monitoring/nope/windows"), 404);
    EXPECT_EQ(exchange("GET", "/api/v1/plugins"), 200);
    EXPECT_EQ(exchange("GET", "/api/v1/plugins?x=1"), 400);
    const std::string graph =
        "nodes:\n  fit: {type: job.train, model: m, dataset: d, optimizer: o}\n";
    EXPECT_EQ(exchange("POST", "/api/v1/graphs/validate", "nodes: {}\n", "application/yaml"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/graphs/validate", graph, "text/yaml"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/graphs/validate?as=job", graph, "text/yaml"), 200);
    EXPECT_EQ(exchange("POST", "/api/v1/graphs/validate", "", "application/yaml"), 400);
    EXPECT_EQ(exchange("POST", "/api/v1/graphs/validate", "{}", "application/json"), 415);
    EXPECT_EQ(exchange("POST", "/api/v1/graphs/validate", "a", "text/plain"), 403);
    EXPECT_EQ(
        exchange("POST", "/api/v1/graphs/validate", std::string(5000, '#'), "application/yaml"),
        413);
  }

  /// Project "shapes" (classes, review on) over annotation_fixtures.h's rows, with task 2
  /// answered by "zoe" so that the caller (anonymous, without authentication) may review it.
  void addAnnotationProject() {
    core::annotation::ProjectSettings s;
    s.name = "shapes";
    s.labels.choices = {"cat", "dog", "fox"};
    s.review = true;
    s.dataset_name = "shapes.labels";
    s.export_dir = dir_.path() / "exports";
    auto data = std::make_shared<Shapes>();
    auto layout = core::annotation::makeContentLayout(data->schema(), "auto", 0, "");
    ASSERT_TRUE(layout.ok());
    project_ = std::make_shared<core::annotation::AnnotationNode>(std::move(s), *layout, data,
                                                                  storage_, nullptr, host_);
    ASSERT_TRUE(core::annotation::addAnnotationRoutes(host_, {project_}).ok());
    ASSERT_TRUE(project_->start(nullptr).ok());
    core::annotation::Annotation zoe;
    zoe.annotator = "zoe";
    zoe.label.classes = {1};
    ASSERT_TRUE(project_->book().annotate(2, zoe).ok());
  }

  void exerciseAnnotation() {
    const std::string p = "/api/v1/annotation/projects";
    EXPECT_EQ(exchange("GET", p), 200);
    EXPECT_EQ(exchange("GET", p + "/shapes"), 200);
    EXPECT_EQ(exchange("GET", p + "/nope"), 404);
    EXPECT_EQ(exchange("GET", p + "/shapes/next"), 200);
    EXPECT_EQ(exchange("GET", p + "/shapes/tasks/0"), 200);
    EXPECT_EQ(exchange("GET", p + "/shapes/tasks/x"), 400);
    EXPECT_EQ(exchange("GET", p + "/shapes/tasks/99"), 404);
    EXPECT_EQ(exchange("GET", p + "/shapes/tasks/0/image"), 200);
    EXPECT_EQ(
        exchange("PUT", p + "/shapes/tasks/0/annotation", R"({"label": "cat", "seconds": 1.5})"),
        200);
    EXPECT_EQ(exchange("PUT", p + "/shapes/tasks/1/annotation", R"({"label": "wolf"})"), 400);
    EXPECT_EQ(exchange("PUT", p + "/shapes/tasks/0/annotation", R"({"label": "dog"})"), 409);
    EXPECT_EQ(exchange("GET", p + "/shapes/review/next"), 200);
    EXPECT_EQ(exchange("POST", p + "/shapes/tasks/0/review", R"({"decision": "accept"})"), 409);
    EXPECT_EQ(exchange("POST", p + "/shapes/tasks/2/review", R"({"decision": "accept"})"), 200);
    EXPECT_EQ(exchange("POST", p + "/shapes/tasks/3/review", R"({"decision": "maybe"})"), 400);
    EXPECT_EQ(exchange("GET", p + "/shapes/agreement"), 200);
    EXPECT_EQ(exchange("POST", p + "/shapes/exports", R"({"format": "csv"})"), 200);
    EXPECT_EQ(exchange("POST", p + "/shapes/exports", R"({"format": "dataset"})"), 201);
    EXPECT_EQ(exchange("POST", p + "/shapes/exports", R"({"format": "tar"})"), 400);
    EXPECT_EQ(exchange("POST", p + "/shapes/exports", R"({"format": "csv"})", "text/plain"), 403);
  }

  std::shared_ptr<core::annotation::AnnotationNode> project_;
  testing::TempDir dir_{"aimass-openapi-exchanges"};
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<core::jobs::JobsServiceNode> jobs_;
  core::TypeRegistry types_;
  core::HostServices host_{".", 1};
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
  OpenApiContract contract_{kOpenApiPath};
  std::set<std::string> covered_;
  std::set<std::string> answered_2xx_;
};

TEST_F(OpenApiExchangesTest, HealthAndMetadataAnswerAsDocumented) { exerciseHealthAndMetadata(); }

TEST_F(OpenApiExchangesTest, InferenceAnswersAsDocumented) { exerciseInference(); }

TEST_F(OpenApiExchangesTest, RepositoryAndStatisticsAnswerAsDocumented) {
  exerciseRepositoryAndStatistics();
}

TEST_F(OpenApiExchangesTest, MlflowAnswersAsDocumented) { exerciseMlflow(); }

TEST_F(OpenApiExchangesTest, RegistryAnswersAsDocumented) { exerciseRegistry(); }

TEST_F(OpenApiExchangesTest, JobsAnswerAsDocumented) { exerciseJobs(); }

TEST_F(OpenApiExchangesTest, ConsoleRoutesAnswerAsDocumented) { exerciseConsole(); }

TEST_F(OpenApiExchangesTest, AnnotationRoutesAnswerAsDocumented) { exerciseAnnotation(); }

TEST_F(OpenApiExchangesTest, EveryDocumentedOperationIsExercisedAndSucceedsOnce) {
  exerciseHealthAndMetadata();
  exerciseInference();
  exerciseRepositoryAndStatistics();
  exerciseMlflow();
  exerciseRegistry();
  exerciseJobs();
  exerciseConsole();
  exerciseAnnotation();
  for (const std::string& operation : contract_.operations()) {
    EXPECT_TRUE(covered_.count(operation)) << operation << " is never exercised here";
    EXPECT_TRUE(answered_2xx_.count(operation)) << operation << " never succeeds here";
  }
}

}  // namespace
}  // namespace aimass::plugins::frontend
