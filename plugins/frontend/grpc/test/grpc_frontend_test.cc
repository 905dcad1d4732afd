// SPDX-License-Identifier: Apache-2.0
// frontend.grpc over real sockets on 127.0.0.1, in front of the host's serving runtime: every
// RPC, raw and typed tensors of every datatype, outputs selection, request ids and parameters,
// errors as gRPC status codes, failures counted in statistics and metrics, the inference
// queue's limit, and a stop that lets calls in flight answer.
#include "grpc_frontend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/host_services.h"
#include "data_profile.h"
#include "echo_model.h"
#include "fake_models.h"
#include "grpc_test_support.h"
#include "scaled_model.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class GrpcFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    scaled_->gate = &gate_;
    host_.servingRuntime().add("scaled", "1", scaled_);
    host_.servingRuntime().add("echo", "1", std::make_shared<EchoModel>());
    host_.servingRuntime().add("clf", "1", classifier_);
  }
  void TearDown() override {
    gate_.open();
    if (frontend_) {
      frontend_->stop();
    }
    host_.servingRuntime().clear();
  }

  void start(GrpcFrontendOptions options = {}) {
    options.port = 0;
    frontend_ = std::make_unique<GrpcFrontend>("rpc", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    ASSERT_THAT(frontend_->endpoint(), HasSubstr("grpc://127.0.0.1:"));
    stub_ = makeStub(targetOf(frontend_->endpoint()));
  }

  /// The statistics of `model` version 1.
  ModelStatistics statistics(const std::string& model) {
    auto stats = host_.servingRuntime().statistics(model, "1");
    EXPECT_TRUE(stats.ok()) << stats.status().toString();
    return stats.ok() && !stats->empty() ? stats->front() : ModelStatistics{};
  }

  core::HostServices host_{".", 1};
  aimass::testing::Gate gate_;
  std::shared_ptr<ScaledModel> scaled_ = std::make_shared<ScaledModel>(2.0f);
  std::shared_ptr<TwoFeatureClassifier> classifier_ = std::make_shared<TwoFeatureClassifier>();
  std::unique_ptr<GrpcFrontend> frontend_;
  std::unique_ptr<Stub> stub_;
};

TEST_F(GrpcFrontendTest, AnswersHealthAndMetadata) {
  start();
  auto live = callServerLive(*stub_, {});
  ASSERT_TRUE(live.status.ok()) << live.status.error_message();
  EXPECT_TRUE(live.response.live());
  auto ready = callServerReady(*stub_, {});
  ASSERT_TRUE(ready.status.ok());
  EXPECT_TRUE(ready.response.ready());

  auto server = callServerMetadata(*stub_, {});
  ASSERT_TRUE(server.status.ok());
  EXPECT_EQ(server.response.name(), "aimass");
  EXPECT_EQ(server.response.version(), std::string(host_.version()));

  inference::ModelMetadataRequest metadata_request;
  metadata_request.set_name("scaled");
  auto metadata = callModelMetadata(*stub_, metadata_request);
  ASSERT_TRUE(metadata.status.ok()) << metadata.status.error_message();
  EXPECT_EQ(metadata.response.name(), "scaled");
  EXPECT_THAT(metadata.response.versions(), ElementsAre("1"));
  EXPECT_EQ(metadata.response.platform(), "aimass_regression");
  ASSERT_EQ(metadata.response.inputs_size(), 1);
  EXPECT_EQ(metadata.response.inputs(0).name(), "input");
  EXPECT_EQ(metadata.response.inputs(0).datatype(), "FP32");
  EXPECT_THAT(metadata.response.inputs(0).shape(), ElementsAre(-1, 2));
  ASSERT_EQ(metadata.response.outputs_size(), 2);
  EXPECT_EQ(metadata.response.outputs(1).name(), "version");
  EXPECT_EQ(metadata.response.outputs(1).datatype(), "INT64");

  inference::ModelReadyRequest ready_request;
  ready_request.set_name("scaled");
  ready_request.set_version("1");
  auto model_ready = callModelReady(*stub_, ready_request);
  ASSERT_TRUE(model_ready.status.ok());
  EXPECT_TRUE(model_ready.response.ready());
}

TEST_F(GrpcFrontendTest, RawAndTypedInferenceAgree) {
  start();
  auto raw_request = fp32Request("scaled", "input", {2, 2}, {1, 2, 3, 4}, true);
  raw_request.set_id("request-7");
  auto raw = callModelInfer(*stub_, raw_request);
  ASSERT_TRUE(raw.status.ok()) << raw.status.error_message();
  EXPECT_EQ(raw.response.model_name(), "scaled");
  EXPECT_EQ(raw.response.model_version(), "1");
  EXPECT_EQ(raw.response.id(), "request-7");
  ASSERT_EQ(raw.response.outputs_size(), 2);
  ASSERT_EQ(raw.response.raw_output_contents_size(), 2);
  EXPECT_EQ(raw.response.outputs(0).name(), "output");
  EXPECT_EQ(raw.response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(raw.response.outputs(0).shape(), ElementsAre(2, 2));
  EXPECT_FALSE(raw.response.outputs(0).has_contents());
  EXPECT_THAT(rawValues<float>(raw.response, 0), ElementsAre(2, 4, 6, 8));
  EXPECT_THAT(rawValues<std::int64_t>(raw.response, 1), ElementsAre(2, 2));

  auto typed = callModelInfer(*stub_, fp32Request("scaled", "input", {2, 2}, {1, 2, 3, 4}, false));
  ASSERT_TRUE(typed.status.ok()) << typed.status.error_message();
  EXPECT_EQ(typed.response.id(), "");
  EXPECT_EQ(typed.response.raw_output_contents_size(), 0);
  ASSERT_EQ(typed.response.outputs_size(), 2);
  EXPECT_THAT(typed.response.outputs(0).contents().fp32_contents(), ElementsAre(2, 4, 6, 8));
  EXPECT_THAT(typed.response.outputs(1).contents().int64_contents(), ElementsAre(2, 2));
  EXPECT_THAT(typed.response.outputs(0).shape(), ElementsAre(2, 2));
}

TEST_F(GrpcFrontendTest, AnswersOnlyTheOutputsAskedFor) {
  start();
  auto request = fp32Request("scaled", "input", {1, 2}, {5, 6}, true);
  request.add_outputs()->set_name("version");
  auto reply = callModelInfer(*stub_, request);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  ASSERT_EQ(reply.response.outputs_size(), 1);
  EXPECT_EQ(reply.response.outputs(0).name(), "version");
  EXPECT_THAT(rawValues<std::int64_t>(reply.response, 0), ElementsAre(2));

  request.add_outputs()->set_name("output");  // the response follows the request's order
  reply = callModelInfer(*stub_, request);
  ASSERT_TRUE(reply.status.ok());
  ASSERT_EQ(reply.response.outputs_size(), 2);
  EXPECT_EQ(reply.response.outputs(1).name(), "output");
  EXPECT_THAT(rawValues<float>(reply.response, 1), ElementsAre(10, 12));
}

/// A training-data profile of 500 rows of two features: x uniform on [0, 1), y = 2x plus a
/// little noise (with its outlier scorer).
std::shared_ptr<const core::DataProfile> correlatedProfile() {
  DatasetSchema schema;
  schema.feature_names = {"x", "y"};
  schema.row_shape = {2};
  auto builder = core::DataProfileBuilder::forSchema(schema);
  EXPECT_TRUE(builder.ok());
  std::vector<float> values;
  for (int r = 0; r < 500; ++r) {
    const float x = static_cast<float>((r * 37) % 500) / 500.0f;
    values.insert(values.end(), {x, 2 * x + 0.01f * static_cast<float>(r % 7 - 3)});
  }
  Batch batch;
  batch.features = Tensor::fromVector(values, {500, 2});
  EXPECT_TRUE(builder->add(batch).ok());
  return std::make_shared<const core::DataProfile>(builder->finish());
}

TEST_F(GrpcFrontendTest, OutlierScoresAreInTheMetadataAndAnsweredWhenAskedFor) {
  host_.servingRuntime().add("profiled", "1", std::make_shared<ScaledModel>(1.0f), "",
                             correlatedProfile());
  host_.servingRuntime().setOutlierScores("profiled", true);
  start();
  inference::ModelMetadataRequest metadata_request;
  metadata_request.set_name("profiled");
  auto metadata = callModelMetadata(*stub_, metadata_request);
  ASSERT_TRUE(metadata.status.ok()) << metadata.status.error_message();
  ASSERT_EQ(metadata.response.outputs_size(), 3);
  EXPECT_EQ(metadata.response.outputs(2).name(), "outlier_score");
  EXPECT_EQ(metadata.response.outputs(2).datatype(), "FP32");
  EXPECT_THAT(metadata.response.outputs(2).shape(), ElementsAre(-1));

  // A row like the training rows, and one breaking their correlation (each value in range).
  auto request = fp32Request("profiled", "input", {2, 2}, {0.5f, 1.0f, 0.9f, 0.1f}, true);
  request.add_outputs()->set_name("outlier_score");
  auto reply = callModelInfer(*stub_, request);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  ASSERT_EQ(reply.response.outputs_size(), 1);
  EXPECT_EQ(reply.response.outputs(0).name(), "outlier_score");
  EXPECT_THAT(reply.response.outputs(0).shape(), ElementsAre(2));
  const auto scores = rawValues<float>(reply.response, 0);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_LT(scores[0], 3.0f);
  EXPECT_GT(scores[1], 10 * scores[0] + 10);
  EXPECT_THAT(host_.servingRuntime().prometheusMetrics(),
              HasSubstr("aimass_outliers_total{model=\"profiled\",version=\"1\"} 1"));

  auto all = callModelInfer(*stub_, fp32Request("profiled", "input", {1, 2}, {0.5f, 1.0f}, true));
  ASSERT_TRUE(all.status.ok()) << all.status.error_message();
  ASSERT_EQ(all.response.outputs_size(), 3) << "the model's outputs and the score";
}

/// An "echo" request with every typed datatype the model takes.
inference::ModelInferRequest typedEchoRequest() {
  inference::ModelInferRequest request;
  request.set_model_name("echo");
  auto add = [&](const char* name, const char* datatype) {
    auto* input = request.add_inputs();
    input->set_name(name);
    input->set_datatype(datatype);
    input->add_shape(2);
    return input->mutable_contents();
  };
  auto* text = add("text", "BYTES");
  text->add_bytes_contents("hello");
  text->add_bytes_contents(std::string("a\0b", 3));
  auto* flag = add("flag", "BOOL");
  flag->add_bool_contents(true);
  flag->add_bool_contents(false);
  auto* small = add("small", "INT8");
  small->add_int_contents(-128);
  small->add_int_contents(127);
  auto* wide = add("wide", "UINT64");
  wide->add_uint64_contents(0);
  wide->add_uint64_contents(18446744073709551615ULL);
  return request;
}

TEST_F(GrpcFrontendTest, TypedTensorsOfEveryKindRoundTrip) {
  start();
  auto reply = callModelInfer(*stub_, typedEchoRequest());
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  ASSERT_EQ(reply.response.raw_output_contents_size(), 0);
  std::map<std::string, const inference::ModelInferResponse::InferOutputTensor*> out;
  for (const auto& output : reply.response.outputs()) {
    out[output.name()] = &output;
  }
  ASSERT_EQ(out.size(), 5u);
  EXPECT_THAT(out["text"]->contents().bytes_contents(),
              ElementsAre("hello", std::string("a\0b", 3)));
  EXPECT_EQ(out["text"]->datatype(), "BYTES");
  EXPECT_THAT(out["flag"]->contents().bool_contents(), ElementsAre(true, false));
  EXPECT_THAT(out["small"]->contents().int_contents(), ElementsAre(-128, 127));
  EXPECT_THAT(out["wide"]->contents().uint64_contents(), ElementsAre(0u, 18446744073709551615ULL));
  EXPECT_EQ(out["options"]->contents().bytes_contents(0), "top_k=0 exclude_seen=true");
}

/// BYTES elements as raw contents: each a 4-byte little-endian length, then its bytes.
std::string rawStrings(const std::vector<std::string>& strings) {
  std::string raw;
  for (const auto& s : strings) {
    const auto n = static_cast<std::uint32_t>(s.size());
    raw.push_back(static_cast<char>(n & 0xff));
    raw.push_back(static_cast<char>((n >> 8) & 0xff));
    raw.push_back(static_cast<char>((n >> 16) & 0xff));
    raw.push_back(static_cast<char>((n >> 24) & 0xff));
    raw += s;
  }
  return raw;
}

TEST_F(GrpcFrontendTest, RawTensorsOfEveryKindRoundTrip) {
  start();
  inference::ModelInferRequest request;
  request.set_model_name("echo");
  auto add = [&](const char* name, const char* datatype, std::int64_t n, std::string raw) {
    auto* input = request.add_inputs();
    input->set_name(name);
    input->set_datatype(datatype);
    input->add_shape(n);
    request.add_raw_input_contents(std::move(raw));
  };
  add("text", "BYTES", 3, rawStrings({"", "oslo", std::string(300, 'x')}));
  add("flag", "BOOL", 2, std::string("\x01\x00", 2));
  add("half", "FP16", 2, std::string("\x00\x3c\x00\xc0", 4));  // 1.0, -2.0
  auto reply = callModelInfer(*stub_, request);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  ASSERT_EQ(reply.response.outputs_size(), 4);
  ASSERT_EQ(reply.response.raw_output_contents_size(), 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(reply.response.outputs(i).name(), request.inputs(i).name());
    EXPECT_EQ(reply.response.raw_output_contents(i), request.raw_input_contents(i));
  }
  EXPECT_EQ(reply.response.raw_output_contents(3), rawStrings({"top_k=0 exclude_seen=true"}));

  // FP16 has no typed field: a typed request with an FP16 output is answered raw throughout.
  request.clear_raw_input_contents();
  request.clear_inputs();
  auto* text = request.add_inputs();
  text->set_name("text");
  text->set_datatype("BYTES");
  text->add_shape(1);
  text->mutable_contents()->add_bytes_contents("x");
  auto* half = request.add_inputs();
  half->set_name("half");
  half->set_datatype("FP16");
  half->add_shape(1);
  auto refused = callModelInfer(*stub_, request);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.status.error_message(), HasSubstr("input 'half': FP16 has no typed"));
}

TEST_F(GrpcFrontendTest, ParametersReachTheModel) {
  start();
  auto request = typedEchoRequest();
  (*request.mutable_parameters())["top_k"].set_int64_param(3);
  (*request.mutable_parameters())["exclude_seen"].set_bool_param(false);
  (*request.mutable_parameters())["note"].set_string_param("hi");
  (*request.mutable_parameters())["count"].set_int64_param(-4);
  (*request.mutable_parameters())["temperature"].set_double_param(0.25);  // Triton's
  (*request.mutable_parameters())["seed"].set_uint64_param(18446744073709551615ULL);
  request.add_outputs()->set_name("options");
  auto reply = callModelInfer(*stub_, request);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  ASSERT_EQ(reply.response.outputs_size(), 1);
  EXPECT_EQ(reply.response.outputs(0).contents().bytes_contents(0),
            "top_k=3 exclude_seen=false count=-4 note=hi seed=18446744073709551615 "
            "temperature=0.25");

  (*request.mutable_parameters())["top_k"].set_string_param("many");
  auto refused = callModelInfer(*stub_, request);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.status.error_message(), HasSubstr("parameter \"top_k\" must be a whole"));
}

/// A ModelInferRequest with one input `name` of `datatype` and `shape`, its `values` typed (in
/// the contents field `typed` adds them to) or raw (their bytes, little-endian on this host).
template <typename T, typename AddTyped>
inference::ModelInferRequest requestOf(const std::string& model, const std::string& name,
                                       const char* datatype, const std::vector<std::int64_t>& shape,
                                       const std::vector<T>& values, bool raw, AddTyped typed) {
  auto request = fp32Request(model, name, shape, {}, raw);
  request.mutable_inputs(0)->set_datatype(datatype);
  if (raw) {
    *request.mutable_raw_input_contents(0) =
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  } else {
    for (const T v : values) {
      typed(*request.mutable_inputs(0)->mutable_contents(), v);
    }
  }
  return request;
}

inference::ModelInferRequest int32Request(const std::vector<std::int32_t>& values, bool raw) {
  return requestOf("scaled", "input", "INT32", {2, 2}, values, raw,
                   [](auto& contents, std::int32_t v) { contents.add_int_contents(v); });
}

inference::ModelInferRequest fp64Request(const std::vector<double>& values, bool raw) {
  return requestOf("scaled", "input", "FP64", {1, 2}, values, raw,
                   [](auto& contents, double v) { contents.add_fp64_contents(v); });
}

TEST_F(GrpcFrontendTest, NumericInputsConvertToTheModelsDatatypeWhenExact) {
  start();
  for (const bool raw : {false, true}) {
    SCOPED_TRACE(raw ? "raw" : "typed");
    auto as_fp32 =
        callModelInfer(*stub_, fp32Request("scaled", "input", {2, 2}, {1, 2, 3, 4}, raw));
    ASSERT_TRUE(as_fp32.status.ok()) << as_fp32.status.error_message();
    auto as_int32 = callModelInfer(*stub_, int32Request({1, 2, 3, 4}, raw));
    ASSERT_TRUE(as_int32.status.ok()) << as_int32.status.error_message();
    ASSERT_EQ(as_int32.response.outputs_size(), 2);
    EXPECT_EQ(as_int32.response.outputs(0).datatype(), "FP32");
    EXPECT_THAT(as_int32.response.outputs(0).shape(), ElementsAre(2, 2));
    if (raw) {
      EXPECT_THAT(rawValues<float>(as_int32.response, 0), ElementsAre(2, 4, 6, 8));
      EXPECT_EQ(as_int32.response.raw_output_contents(0), as_fp32.response.raw_output_contents(0));
    } else {
      EXPECT_THAT(as_int32.response.outputs(0).contents().fp32_contents(), ElementsAre(2, 4, 6, 8));
      EXPECT_EQ(as_int32.response.outputs(0).SerializeAsString(),
                as_fp32.response.outputs(0).SerializeAsString());
    }
    // FP64 values that FP32 holds exactly convert too.
    auto exact = callModelInfer(*stub_, fp64Request({1.5, -2}, raw));
    ASSERT_TRUE(exact.status.ok()) << exact.status.error_message();
    if (raw) {
      EXPECT_THAT(rawValues<float>(exact.response, 0), ElementsAre(3, -4));
    } else {
      EXPECT_THAT(exact.response.outputs(0).contents().fp32_contents(), ElementsAre(3, -4));
    }
  }
  // Into an INT8 input (echo's "small", which comes back as it arrived): INT64 5 is 5.
  auto echo = typedEchoRequest();
  auto* small = echo.mutable_inputs(2);
  small->set_datatype("INT64");
  small->mutable_contents()->clear_int_contents();
  small->mutable_contents()->add_int64_contents(5);
  small->mutable_contents()->add_int64_contents(-7);
  auto converted = callModelInfer(*stub_, echo);
  ASSERT_TRUE(converted.status.ok()) << converted.status.error_message();
  bool seen = false;
  for (const auto& output : converted.response.outputs()) {
    if (output.name() == "small") {
      seen = true;
      EXPECT_EQ(output.datatype(), "INT8");
      EXPECT_THAT(output.contents().int_contents(), ElementsAre(5, -7));
    }
  }
  EXPECT_TRUE(seen);
}

TEST_F(GrpcFrontendTest, InexactConversionsAreInvalidArgumentsNamingTheElement) {
  start();
  for (const bool raw : {false, true}) {
    SCOPED_TRACE(raw ? "raw" : "typed");
    auto reply = callModelInfer(*stub_, fp64Request({1, 0.1}, raw));
    EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(reply.status.error_message(),
              "model 'scaled': input 'input': element 1 (0.1) of datatype FP64 does not convert "
              "exactly to the model's FP32");
    // An integer beyond FP32's 24-bit significand changes too.
    auto wide = callModelInfer(*stub_, int32Request({1, 2, 3, 16777217}, raw));
    EXPECT_EQ(wide.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(wide.status.error_message(),
                HasSubstr("input 'input': element 3 (16777217) of datatype INT32 does not "
                          "convert exactly to the model's FP32"));
  }
  auto echo = typedEchoRequest();
  auto* small = echo.mutable_inputs(2);
  small->set_datatype("INT32");
  small->mutable_contents()->set_int_contents(1, 300);
  auto out_of_range = callModelInfer(*stub_, echo);
  EXPECT_EQ(out_of_range.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out_of_range.status.error_message(),
              HasSubstr("input 'small': element 1 (300) of datatype INT32 does not convert "
                        "exactly to the model's INT8"));
  // BOOL and BYTES convert to nothing else, and nothing converts to them.
  auto text =
      requestOf("scaled", "input", "BYTES", {1, 2}, std::vector<char>{}, false, [](auto&, char) {});
  text.mutable_inputs(0)->mutable_contents()->add_bytes_contents("1");
  text.mutable_inputs(0)->mutable_contents()->add_bytes_contents("2");
  auto bytes = callModelInfer(*stub_, text);
  EXPECT_EQ(bytes.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bytes.status.error_message(),
              HasSubstr("input 'input' of model 'scaled' must be FP32 [-1, 2], got BYTES [1, 2]"));
  auto flag = typedEchoRequest();
  flag.mutable_inputs(1)->set_datatype("INT32");
  flag.mutable_inputs(1)->mutable_contents()->clear_bool_contents();
  flag.mutable_inputs(1)->mutable_contents()->add_int_contents(1);
  flag.mutable_inputs(1)->mutable_contents()->add_int_contents(0);
  auto to_bool = callModelInfer(*stub_, flag);
  EXPECT_EQ(to_bool.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(to_bool.status.error_message(),
              HasSubstr("input 'flag' of model 'echo' must be BOOL [-1], got INT32 [2]"));
  // The five refusals of "scaled" are counted as failures, and none reached the model.
  const ModelStatistics stats = statistics("scaled");
  EXPECT_EQ(stats.fail.count, 5u);
  EXPECT_EQ(stats.inference_count, 0u);
}

/// The status code and message of ModelInfer on `request`.
struct Refusal {
  grpc::StatusCode code;
  std::string substring;
};

TEST_F(GrpcFrontendTest, BadRequestsGetStatusCodesNamingTheFault) {
  start();
  auto good = [] { return fp32Request("scaled", "input", {1, 2}, {1, 2}, true); };
  std::vector<std::pair<inference::ModelInferRequest, Refusal>> cases;
  auto add = [&](inference::ModelInferRequest request, grpc::StatusCode code,
                 std::string substring) {
    cases.push_back({std::move(request), Refusal{code, std::move(substring)}});
  };
  auto r = good();
  r.set_model_name("nope");
  add(r, grpc::StatusCode::NOT_FOUND, "unknown model 'nope'");
  r = good();
  r.set_model_version("9");
  add(r, grpc::StatusCode::NOT_FOUND, "'9'");
  r = good();
  r.set_model_name("");
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "names no model");
  r = good();
  r.mutable_inputs(0)->set_datatype("FLOAT");
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "input 'input': unknown datatype 'FLOAT'");
  r = good();
  r.mutable_raw_input_contents(0)->pop_back();
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "input 'input': FP32 shape holds 2 elements");
  r = good();
  r.mutable_inputs(0)->set_shape(0, -1);
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "input 'input': shape [-1, 2] has a negative");
  r = good();
  r.add_raw_input_contents("extra");
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "1 inputs but 2 raw_input_contents");
  r = fp32Request("scaled", "input", {1, 2}, {1, 2}, false);
  r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(3);
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "holds 2 elements but contents.fp32_contents has 3");
  r = fp32Request("scaled", "input", {1, 2}, {1, 2}, false);
  r.mutable_inputs(0)->mutable_contents()->add_int64_contents(3);
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "other contents fields hold elements");
  r = fp32Request("scaled", "features", {1, 2}, {1, 2}, true);
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "input");
  r = fp32Request("scaled", "input", {1, 3}, {1, 2, 3}, true);
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "input");
  r = good();
  r.add_outputs()->set_name("probability");
  add(r, grpc::StatusCode::INVALID_ARGUMENT,
      "has no output 'probability' (its outputs: output, version)");
  r = good();
  r.add_inputs()->CopyFrom(r.inputs(0));
  r.add_raw_input_contents(r.raw_input_contents(0));
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "input 'input' appears twice");
  r = typedEchoRequest();
  r.mutable_inputs(2)->mutable_contents()->set_int_contents(0, 300);
  add(r, grpc::StatusCode::INVALID_ARGUMENT,
      "input 'small': element 0 (300) is out of range for INT8");
  r = typedEchoRequest();
  r.clear_inputs();
  add(r, grpc::StatusCode::INVALID_ARGUMENT, "no inputs");
  for (const auto& [request, refusal] : cases) {
    auto reply = callModelInfer(*stub_, request);
    EXPECT_EQ(reply.status.error_code(), refusal.code) << refusal.substring;
    EXPECT_THAT(reply.status.error_message(), HasSubstr(refusal.substring));
  }

  inference::ModelMetadataRequest unknown;
  unknown.set_name("nope");
  EXPECT_EQ(callModelMetadata(*stub_, unknown).status.error_code(), grpc::StatusCode::NOT_FOUND);
  inference::ModelReadyRequest unknown_version;
  unknown_version.set_name("scaled");
  unknown_version.set_version("4");
  auto ready = callModelReady(*stub_, unknown_version);
  EXPECT_EQ(ready.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ready.status.error_message(), "unknown model 'scaled' version '4'");
}

TEST_F(GrpcFrontendTest, AModelThatIsNotReadyIsUnavailable) {
  classifier_->ready_ = false;
  start();
  auto server_ready = callServerReady(*stub_, {});
  ASSERT_TRUE(server_ready.status.ok());
  EXPECT_FALSE(server_ready.response.ready());
  inference::ModelReadyRequest ready_request;
  ready_request.set_name("clf");
  auto ready = callModelReady(*stub_, ready_request);
  ASSERT_TRUE(ready.status.ok());
  EXPECT_FALSE(ready.response.ready());
  auto reply = callModelInfer(*stub_, fp32Request("clf", "input", {1, 2}, {1, 2}, true));
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(reply.status.error_message(), "model 'clf' is not ready");
  const ModelStatistics stats = statistics("clf");
  EXPECT_EQ(stats.fail.count, 1u);
}

TEST_F(GrpcFrontendTest, FailuresAndSuccessesAreCounted) {
  start();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        callModelInfer(*stub_, fp32Request("clf", "input", {1, 2}, {3, 1}, true)).status.ok());
  }
  auto bad = fp32Request("clf", "input", {1, 2}, {3, 1}, true);
  bad.mutable_inputs(0)->set_datatype("FP64");  // 8 bytes an element: the raw size is wrong
  EXPECT_EQ(callModelInfer(*stub_, bad).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(statistics("clf").inference_count, 2u);  // rows the model ran: the bad call's none
  classifier_->fail_with = StatusCode::kInternal;
  auto broken = callModelInfer(*stub_, fp32Request("clf", "input", {1, 2}, {3, 1}, true));
  EXPECT_EQ(broken.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(broken.status.error_message(), "model 'clf': the model broke");

  const ModelStatistics stats = statistics("clf");
  EXPECT_EQ(stats.success.count, 2u);
  EXPECT_EQ(stats.fail.count, 2u);
  std::map<std::string, std::uint64_t> failures(stats.failures.begin(), stats.failures.end());
  EXPECT_EQ(failures["invalid"], 1u);
  EXPECT_EQ(failures["backend"], 1u);
  // The same counters as frontend.http's /metrics, from the same runtime.
  const std::string metrics = host_.servingRuntime().prometheusMetrics();
  EXPECT_THAT(metrics, HasSubstr("model=\"clf\""));
  EXPECT_THAT(metrics, HasSubstr("reason=\"invalid\""));
}

TEST_F(GrpcFrontendTest, CallsAreBatchedByTheRuntime) {
  BatchingOptions batching;
  batching.max_batch_size = 8;
  host_.servingRuntime().setBatching("scaled", batching);
  start();
  gate_.close();
  // The first call's batch holds the model at the gate; four more wait in its queue, then run
  // as one batch once the gate opens.
  std::vector<std::thread> calls;
  std::atomic<int> answered{0};
  auto call = [&](float x) {
    auto reply = callModelInfer(*stub_, fp32Request("scaled", "input", {1, 2}, {x, x}, true));
    EXPECT_TRUE(reply.status.ok()) << reply.status.error_message();
    if (reply.status.ok() &&
        rawValues<float>(reply.response, 0) == std::vector<float>{2 * x, 2 * x}) {
      ++answered;
    }
  };
  calls.emplace_back(call, 1.0f);
  ASSERT_TRUE(gate_.awaitWaiters(1));
  for (int i = 2; i <= 5; ++i) {
    calls.emplace_back(call, static_cast<float>(i));
  }
  bool queued = false;
  for (int attempt = 0; attempt < 3000 && !queued; ++attempt) {
    queued = statistics("scaled").pending == 4;
    if (!queued) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_TRUE(queued);
  gate_.open();
  for (auto& thread : calls) {
    thread.join();
  }
  EXPECT_EQ(answered.load(), 5);
  EXPECT_EQ(scaled_->largest_batch.load(), 4);
  EXPECT_EQ(scaled_->executions.load(), 2);
}

TEST_F(GrpcFrontendTest, ServesOnlyTheModelsItLists) {
  GrpcFrontendOptions options;
  options.models = std::vector<std::string>{"scaled"};
  classifier_->ready_ = false;  // not this frontend's model: its readiness does not count
  start(options);
  EXPECT_TRUE(
      callModelInfer(*stub_, fp32Request("scaled", "input", {1, 2}, {1, 2}, true)).status.ok());
  auto other = callModelInfer(*stub_, fp32Request("clf", "input", {1, 2}, {1, 2}, true));
  EXPECT_EQ(other.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(other.status.error_message(), "unknown model 'clf'");
  inference::ModelMetadataRequest metadata;
  metadata.set_name("clf");
  EXPECT_EQ(callModelMetadata(*stub_, metadata).status.error_code(), grpc::StatusCode::NOT_FOUND);
  auto ready = callServerReady(*stub_, {});
  ASSERT_TRUE(ready.status.ok());
  EXPECT_TRUE(ready.response.ready());
}

TEST_F(GrpcFrontendTest, AMessageOverTheLimitIsResourceExhausted) {
  GrpcFrontendOptions options;
  options.max_message_bytes = 4096;
  start(options);
  std::vector<float> values(2048, 1.0f);  // 8 KiB of raw contents
  auto reply = callModelInfer(*stub_, fp32Request("scaled", "input", {1024, 2}, values, true));
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(
      callModelInfer(*stub_, fp32Request("scaled", "input", {1, 2}, {1, 2}, true)).status.ok());
}

TEST_F(GrpcFrontendTest, ATakenPortIsAnError) {
  start();
  const std::string endpoint = frontend_->endpoint();
  GrpcFrontendOptions options;
  options.port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  GrpcFrontend second("rpc2", options);
  Status status = second.start(host_);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(),
              HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(options.port)));
  EXPECT_EQ(second.endpoint(), "");
}

TEST_F(GrpcFrontendTest, AFullInferenceQueueIsResourceExhausted) {
  GrpcFrontendOptions options;
  options.threads = 1;
  options.max_queued = 1;
  start(options);
  gate_.close();
  // One call holds the only worker at the gate; of the next two, one waits in the queue and
  // the other is refused at once.
  std::thread held([&] {
    EXPECT_TRUE(
        callModelInfer(*stub_, fp32Request("scaled", "input", {1, 2}, {1, 2}, true)).status.ok());
  });
  ASSERT_TRUE(gate_.awaitWaiters(1));
  std::mutex mutex;
  std::condition_variable done;
  std::vector<grpc::StatusCode> codes;
  std::vector<std::thread> more;
  for (int i = 0; i < 2; ++i) {
    more.emplace_back([&] {
      auto reply = callModelInfer(*stub_, fp32Request("scaled", "input", {1, 2}, {1, 2}, true));
      std::lock_guard lock(mutex);
      codes.push_back(reply.status.error_code());
      done.notify_all();
    });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(done.wait_for(lock, std::chrono::seconds(30), [&] { return !codes.empty(); }));
    EXPECT_EQ(codes.front(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  gate_.open();
  held.join();
  for (auto& thread : more) {
    thread.join();
  }
  ASSERT_EQ(codes.size(), 2u);
  EXPECT_EQ(codes.back(), grpc::StatusCode::OK);
}

/// Threads of this process now.
std::size_t threadCount() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

TEST_F(GrpcFrontendTest, StopJoinsItsWorkers) {
  GrpcFrontendOptions options;
  options.threads = 24;
  start(options);
  ASSERT_TRUE(
      callModelInfer(*stub_, fp32Request("scaled", "input", {1, 2}, {1, 2}, true)).status.ok());
  const std::size_t serving = threadCount();
  stub_.reset();
  frontend_->stop();
  // gRPC keeps a few threads of its own between servers; the 24 workers are gone.
  EXPECT_LE(threadCount() + 24, serving);
}

TEST_F(GrpcFrontendTest, StopLetsCallsInFlightAnswer) {
  start();
  const std::string target = targetOf(frontend_->endpoint());
  gate_.close();
  grpc::Status held_status;
  std::thread held([&] {
    held_status =
        callModelInfer(*stub_, fp32Request("scaled", "input", {1, 2}, {1, 2}, true)).status;
  });
  ASSERT_TRUE(gate_.awaitWaiters(1));
  std::atomic<bool> stopped{false};
  std::thread stopping([&] {
    frontend_->stop();
    stopped = true;
  });
  // Once the server stops accepting, a new connection is refused; the held call still waits.
  bool refused = false;
  for (int attempt = 0; attempt < 300 && !refused; ++attempt) {
    auto fresh = makeStub(target);
    auto context = callContext();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    inference::ServerLiveResponse response;
    refused = !fresh->ServerLive(context.get(), {}, &response).ok();
  }
  ASSERT_TRUE(refused);
  EXPECT_FALSE(stopped.load());
  gate_.open();
  stopping.join();
  held.join();
  EXPECT_TRUE(held_status.ok()) << held_status.error_message();
  EXPECT_EQ(frontend_->endpoint(), "");
  frontend_->stop();  // idempotent
}

}  // namespace
}  // namespace aimass::plugins::frontend
