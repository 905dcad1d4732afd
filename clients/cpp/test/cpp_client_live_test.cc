// SPDX-License-Identifier: Apache-2.0
// The C++ client against a real `aimass run` (pump_state trained twice into SQLite, served by
// frontend.http), over plain HTTP and mutual TLS: every call, typed results, typed errors,
// inferAsync, and the C++ example program.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <set>
#include <vector>

#include "aimass/client/client.hpp"
#include "aimass_server.h"
#include "error_of.h"
#include "live_aimass.h"
#include "live_auth.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<float> kRows = {-1.76f, -0.42f, 1.65f, -3.06f, 2.31f, -0.67f, -0.05f, 1.19f};

/// Each row's probabilities sum to 1, label is their argmax, class its name.
void checkAnswer(const InferResult& result, std::size_t rows) {
  const std::vector<std::string> names = {"failing", "healthy", "worn"};
  auto p = result.output("probabilities").data<float>();
  auto label = result.output("label").data<std::int64_t>();
  const auto& name = result.output("class").elements();
  ASSERT_EQ(p.size(), rows * 3);
  ASSERT_EQ(label.size(), rows);
  ASSERT_EQ(name.size(), rows);
  EXPECT_EQ(result.output("probabilities").shape(),
            (Tensor::Shape{static_cast<std::int64_t>(rows), 3}));
  for (std::size_t r = 0; r < rows; ++r) {
    EXPECT_NEAR(p[3 * r] + p[3 * r + 1] + p[3 * r + 2], 1.0, 1e-5);
    auto top = std::max_element(p.begin() + 3 * r, p.begin() + 3 * r + 3) - (p.begin() + 3 * r);
    EXPECT_EQ(label[r], top);
    EXPECT_EQ(name[r], names.at(static_cast<std::size_t>(label[r])));
  }
}

class CppClientLive : public LiveSuite<PlainHttp> {
 protected:
  void SetUp() override {
    LiveSuite::SetUp();
    client_ = std::make_unique<HttpClient>(server_->url());
  }

  std::unique_ptr<HttpClient> client_;
};

TEST_F(CppClientLive, HealthAndTypedMetadata) {
  EXPECT_TRUE(client_->live());
  EXPECT_TRUE(client_->ready());
  EXPECT_TRUE(client_->modelReady("pump_state"));
  EXPECT_FALSE(client_->modelReady("nope"));
  ServerMetadata server = client_->serverMetadata();
  EXPECT_EQ(server.name, "aimass");
  EXPECT_THAT(server.extensions, ::testing::Contains("binary_tensor_data"));
  ModelMetadata model = client_->modelMetadata("pump_state");
  EXPECT_EQ(model.name, "pump_state");
  ASSERT_EQ(model.inputs.size(), 1u);
  EXPECT_EQ(model.inputs[0].name, "input");
  EXPECT_EQ(model.inputs[0].datatype, "FP32");
  EXPECT_EQ(model.inputs[0].shape, (std::vector<std::int64_t>{-1, 4}));
  EXPECT_EQ(model.outputs.size(), 3u);
  EXPECT_THAT(model.json, HasSubstr(R"("class_names":["failing","healthy","worn"])"));
}

TEST_F(CppClientLive, BinaryAndJsonInferAgreeValueForValue) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  InferOptions options;
  options.request_id = "b1";
  InferResult binary = client_->infer("pump_state", inputs, options);
  EXPECT_EQ(binary.id, "b1");
  EXPECT_EQ(binary.model_name, "pump_state");
  EXPECT_EQ(binary.binary, (std::vector<bool>{true, true, true}));
  checkAnswer(binary, 2);
  InferOptions json;
  json.binary = false;
  InferResult plain = client_->infer("pump_state", inputs, json);
  EXPECT_EQ(plain.id, "");
  EXPECT_EQ(plain.binary, (std::vector<bool>{false, false, false}));
  for (const auto& output : binary.outputs) {
    const Tensor& other = plain.output(output.name());
    EXPECT_EQ(other.dataType(), output.dataType());
    EXPECT_EQ(other.shape(), output.shape());
    if (output.dataType() == DataType::kBytes) {
      EXPECT_EQ(other.elements(), output.elements());
    } else {
      EXPECT_TRUE(std::ranges::equal(other.bytes(), output.bytes())) << output.name();
    }
  }
}

TEST_F(CppClientLive, OutputsSelectionAndIntegerInputs) {
  std::vector<std::int32_t> row = {1, 0, -2, 3};
  std::vector<Tensor> inputs = {Tensor::view<std::int32_t>("input", {1, 4}, row)};
  for (bool binary : {true, false}) {
    InferOptions options;
    options.binary = binary;
    options.outputs = {"class", "label"};
    InferResult result = client_->infer("pump_state", inputs, options);
    ASSERT_EQ(result.outputs.size(), 2u);
    EXPECT_EQ(result.outputs[0].name(), "class");
    EXPECT_EQ(result.outputs[1].name(), "label");
    EXPECT_EQ(result.binary[1], binary);
    EXPECT_EQ(result.outputs[1].shape(), (Tensor::Shape{1}));
  }
}

TEST_F(CppClientLive, ErrorsCarryStatusAndMessage) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {1, 4}, std::span(kRows).first(4))};
  Error unknown = errorOf([&] { client_->infer("nope", inputs); });
  EXPECT_EQ(unknown.code(), ErrorCode::kHttp);
  EXPECT_EQ(unknown.status(), 404);
  EXPECT_EQ(unknown.message(), "unknown model 'nope'");
  std::vector<Tensor> narrow = {Tensor::view<float>("input", {1, 3}, std::span(kRows).first(3))};
  Error bad = errorOf([&] { client_->infer("pump_state", narrow); });
  EXPECT_EQ(bad.status(), 400);
  EXPECT_THAT(bad.message(), HasSubstr("input"));
  EXPECT_EQ(errorOf([&] { client_->getRun(999); }).status(), 404);
  EXPECT_EQ(errorOf([&] { client_->getModel("nope"); }).status(), 404);
}

TEST_F(CppClientLive, TypedRegistryDatasetsAndRuns) {
  std::vector<ModelSummary> models = client_->listModels();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].model, "pump_state");
  EXPECT_EQ(models[0].versions, 2);
  EXPECT_EQ(models[0].latest, 2);
  RegisteredModel model = client_->getModel("pump_state");
  ASSERT_EQ(model.versions.size(), 2u);
  EXPECT_EQ(model.versions[0].version, 1);
  EXPECT_EQ(model.versions[1].version, 2);
  ModelVersion version = client_->getModelVersion("pump_state", 1);
  EXPECT_EQ(version.type, "model.softmax");
  EXPECT_EQ(version.sha256.size(), 64u);
  ASSERT_TRUE(version.metrics.count("val_accuracy"));
  EXPECT_TRUE(version.metrics["val_accuracy"].has_value());

  std::vector<DatasetSummary> datasets = client_->listDatasets();
  ASSERT_EQ(datasets.size(), 1u);
  EXPECT_EQ(datasets[0].name, "pumps");
  EXPECT_EQ(datasets[0].latest.rows, 300);
  EXPECT_EQ(client_->getDataset("pumps").versions.size(), 1u);

  RunList runs = client_->listRuns();
  EXPECT_EQ(runs.matched, 2);
  std::set<std::int64_t> ids;
  for (const auto& r : runs.runs) {
    ids.insert(r.id);
    EXPECT_TRUE(r.metrics.at("val_accuracy").last.has_value());
  }
  EXPECT_EQ(ids, (std::set<std::int64_t>{1, 2}));
  RunQuery query;
  query.sort = "id";
  query.descending = true;
  query.limit = 1;
  RunList last = client_->listRuns(query);
  ASSERT_EQ(last.runs.size(), 1u);
  EXPECT_EQ(last.runs[0].id, 2);
  aimass::client::Run run = client_->getRun(1);
  EXPECT_EQ(run.status, "finished");
  EXPECT_EQ(run.params.at("epochs"), "2");
  const MetricSummary& accuracy = run.metrics.at("val_accuracy");
  EXPECT_TRUE(accuracy.last && accuracy.min && accuracy.max);
  EXPECT_GT(accuracy.points, 0);
  EXPECT_LE(*accuracy.min, *accuracy.max);
}

TEST_F(CppClientLive, PromoteRollbackAndTags) {
  ModelAlias first = client_->promote("pump_state", "champion", 1);
  EXPECT_EQ(first.alias, "champion");
  EXPECT_EQ(first.version, 1);
  ModelAlias second = client_->promote("pump_state", "champion", 2);
  EXPECT_EQ(second.version, 2);
  ASSERT_FALSE(second.history.empty());
  EXPECT_EQ(second.history.back(), 1);
  EXPECT_EQ(client_->getModel("pump_state").aliases,
            (std::map<std::string, std::int64_t>{{"champion", 2}}));
  EXPECT_EQ(client_->rollback("pump_state", "champion").version, 1);
  ModelVersion tagged = client_->updateTags("pump_state", 2, {{"stage", "qa"}, {"owner", "ops"}});
  EXPECT_EQ(tagged.tags, (std::map<std::string, std::string>{{"owner", "ops"}, {"stage", "qa"}}));
  tagged = client_->updateTags("pump_state", 2, {}, {"owner"});
  EXPECT_EQ(tagged.tags, (std::map<std::string, std::string>{{"stage", "qa"}}));
  EXPECT_EQ(client_->setTags("pump_state", 2, {{"a", "b"}}).tags,
            (std::map<std::string, std::string>{{"a", "b"}}));
  EXPECT_EQ(errorOf([&] { client_->promote("pump_state", "champion", 9); }).status(), 404);
}

TEST_F(CppClientLive, InferAsyncRunsCallsConcurrently) {
  std::vector<std::future<InferResult>> answers;
  {
    std::vector<float> rows = kRows;  // goes away before the answers are read
    for (int i = 0; i < 4; ++i) {
      InferOptions options;
      options.request_id = std::to_string(i);
      answers.push_back(
          client_->inferAsync("pump_state", {Tensor::view<float>("input", {2, 4}, rows)}, options));
    }
  }
  std::vector<InferResult> results;
  for (auto& answer : answers) {
    results.push_back(answer.get());
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(results[static_cast<std::size_t>(i)].id, std::to_string(i));
    checkAnswer(results[static_cast<std::size_t>(i)], 2);
  }
  auto failed = client_->inferAsync("nope", {Tensor::copy<float>("input", {2, 4}, kRows)});
  EXPECT_EQ(errorOf([&] { failed.get(); }).status(), 404);
}

TEST_F(CppClientLive, TheQuickstartExampleInfersOnce) {
  aimass::testing::TempDir dir("aimass-cppclient-example");
  auto ran = aimass::testing::runProgram(AIMASS_QUICKSTART_CPP, dir.path(),
                                         {"--url", server_->url(), "--model", "pump_state"});
  ASSERT_EQ(ran.code, 0) << ran.err;
  EXPECT_THAT(ran.out, HasSubstr("pump_state version "));
  EXPECT_THAT(ran.out, HasSubstr(" (request quickstart):\n"));
  EXPECT_THAT(ran.out, HasSubstr("  probabilities FP32 [1, 3]: "));
  auto failed = aimass::testing::runProgram(AIMASS_QUICKSTART_CPP, dir.path(),
                                            {"--url", server_->url(), "--model", "nope"});
  EXPECT_EQ(failed.code, 1);
  EXPECT_THAT(failed.err, HasSubstr("error: HTTP 404: unknown model 'nope'"));
}

using CppClientTls = LiveSuite<MutualTls>;

TEST_F(CppClientTls, ACaFileAndAClientCertificateWork) {
  ClientOptions options;
  options.ca_file = server_->tls().ca;
  options.cert_file = server_->tls().client_cert;
  options.key_file = server_->tls().client_key;
  HttpClient client(server_->url(), options);
  EXPECT_TRUE(client.ready());
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  checkAnswer(client.infer("pump_state", inputs), 2);
  EXPECT_EQ(client.listModels().at(0).model, "pump_state");
}

TEST_F(CppClientTls, WithoutAClientCertificateOrWithAnUnknownCaItFails) {
  ClientOptions no_cert;
  no_cert.ca_file = server_->tls().ca;
  Error refused = errorOf([&] { HttpClient(server_->url(), no_cert).serverMetadata(); });
  EXPECT_TRUE(refused.code() == ErrorCode::kTls || refused.code() == ErrorCode::kConnection)
      << refused.what();
  EXPECT_EQ(refused.status(), 0);
  ClientOptions unknown_ca;
  unknown_ca.cert_file = server_->tls().client_cert;
  unknown_ca.key_file = server_->tls().client_key;
  Error untrusted = errorOf([&] { HttpClient(server_->url(), unknown_ca).live(); });
  EXPECT_EQ(untrusted.code(), ErrorCode::kTls);
  EXPECT_EQ(untrusted.status(), 0);
}

// ---- auth: an API key (reader) and a JWT (operator) against `auth: on` ----------------------

using CppClientAuth = LiveSuite<WithAuth<false>>;

TEST_F(CppClientAuth, WithoutCredentialsOnlyPublicRoutesAnswer) {
  HttpClient anonymous(server_->url());
  EXPECT_TRUE(anonymous.live());
  Error refused = errorOf([&] { anonymous.listModels(); });
  EXPECT_EQ(refused.status(), 401);
  EXPECT_THAT(refused.message(), HasSubstr("credentials required"));
}

TEST_F(CppClientAuth, AnApiKeyCarriesItsRole) {
  ClientOptions options;
  options.api_key = kReaderKey;
  HttpClient reader(server_->url(), options);
  EXPECT_EQ(reader.listModels().at(0).model, "pump_state");
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  checkAnswer(reader.infer("pump_state", inputs), 2);
  Error too_low = errorOf([&] { reader.promote("pump_state", "champion", 1); });
  EXPECT_EQ(too_low.status(), 403);
  EXPECT_THAT(too_low.message(), HasSubstr("has the role reader"));
  options.api_key = "not-a-key";
  EXPECT_EQ(errorOf([&] { HttpClient(server_->url(), options).listModels(); }).status(), 401);
}

TEST_F(CppClientAuth, AJwtCarriesItsRole) {
  ClientOptions options;
  options.bearer_token = jwtFor("operator");
  HttpClient operator_client(server_->url(), options);
  EXPECT_EQ(operator_client.promote("pump_state", "champion", 2).version, 2);
  options.bearer_token = jwtFor("reader");
  Error too_low =
      errorOf([&] { HttpClient(server_->url(), options).promote("pump_state", "champion", 1); });
  EXPECT_EQ(too_low.status(), 403);
}

}  // namespace
}  // namespace aimass::client::testing
