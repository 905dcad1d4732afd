// SPDX-License-Identifier: Apache-2.0
// GrpcClient against a real `aimass run` serving pump_state with frontend.grpc beside
// frontend.http: every call, answers that agree with HttpClient's value for value, inferAsync
// with many calls in flight, errors as gRPC status codes, deadlines, auth, mutual TLS, the
// example program and bench/grpc_load.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "aimass/client/client.hpp"
#include "aimass/client/grpc_client.hpp"
#include "aimass_server.h"
#include "error_of.h"
#include "live_aimass.h"
#include "live_auth.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<float> kRows = {-1.76f, -0.42f, 1.65f, -3.06f, 2.31f, -0.67f, -0.05f, 1.19f};

constexpr int kNotFound = 5, kInvalidArgument = 3, kUnauthenticated = 16, kUnavailable = 14;

/// Same names, datatypes, shapes and values, in the same order.
void expectSameOutputs(const InferResult& a, const InferResult& b) {
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (std::size_t i = 0; i < a.outputs.size(); ++i) {
    const Tensor& x = a.outputs[i];
    const Tensor& y = b.outputs[i];
    EXPECT_EQ(x.name(), y.name());
    EXPECT_EQ(x.dataType(), y.dataType()) << x.name();
    EXPECT_EQ(x.shape(), y.shape()) << x.name();
    EXPECT_EQ(x.elements(), y.elements()) << x.name();
    EXPECT_TRUE(std::ranges::equal(x.bytes(), y.bytes())) << x.name();
  }
}

struct GrpcAndHttp {
  static constexpr bool kTls = false;
  static constexpr bool kGrpc = true;
  static std::string webExtra() { return ""; }
};

class GrpcClientLive : public LiveSuite<GrpcAndHttp> {
 protected:
  void SetUp() override {
    LiveSuite::SetUp();
    grpc_ = std::make_unique<GrpcClient>(server_->grpcTarget());
    http_ = std::make_unique<HttpClient>(server_->url());
  }

  std::unique_ptr<GrpcClient> grpc_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(GrpcClientLive, HealthAndMetadataAgreeWithHttp) {
  EXPECT_TRUE(grpc_->serverLive());
  EXPECT_TRUE(grpc_->serverReady());
  EXPECT_TRUE(grpc_->modelReady("pump_state"));
  EXPECT_FALSE(grpc_->modelReady("nope"));
  ServerMetadata server = grpc_->serverMetadata();
  EXPECT_EQ(server.name, "aimass");
  EXPECT_EQ(server.version, http_->serverMetadata().version);
  ModelMetadata model = grpc_->modelMetadata("pump_state");
  ModelMetadata over_http = http_->modelMetadata("pump_state");
  EXPECT_EQ(model.name, "pump_state");
  EXPECT_EQ(model.versions, over_http.versions);
  EXPECT_EQ(model.platform, over_http.platform);
  ASSERT_EQ(model.inputs.size(), over_http.inputs.size());
  ASSERT_EQ(model.outputs.size(), over_http.outputs.size());
  for (std::size_t i = 0; i < model.inputs.size(); ++i) {
    EXPECT_EQ(model.inputs[i].name, over_http.inputs[i].name);
    EXPECT_EQ(model.inputs[i].datatype, over_http.inputs[i].datatype);
    EXPECT_EQ(model.inputs[i].shape, over_http.inputs[i].shape);
  }
  for (std::size_t i = 0; i < model.outputs.size(); ++i) {
    EXPECT_EQ(model.outputs[i].name, over_http.outputs[i].name);
    EXPECT_EQ(model.outputs[i].datatype, over_http.outputs[i].datatype);
    EXPECT_EQ(model.outputs[i].shape, over_http.outputs[i].shape);
  }
  EXPECT_THAT(model.json, HasSubstr(R"("name":"pump_state")"));
}

TEST_F(GrpcClientLive, RawAndTypedAnswersAgreeWithHttpValueForValue) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  InferOptions options;
  options.request_id = "g1";
  InferResult raw = grpc_->infer("pump_state", inputs, options);
  EXPECT_EQ(raw.id, "g1");
  EXPECT_EQ(raw.model_name, "pump_state");
  EXPECT_EQ(raw.binary, (std::vector<bool>{true, true, true}));
  InferResult over_http = http_->infer("pump_state", inputs, options);
  EXPECT_EQ(raw.model_version, over_http.model_version);
  expectSameOutputs(raw, over_http);
  EXPECT_EQ(raw.output("probabilities").shape(), (Tensor::Shape{2, 3}));

  InferOptions typed;
  typed.binary = false;
  InferResult plain = grpc_->infer("pump_state", inputs, typed);
  EXPECT_EQ(plain.id, "");
  EXPECT_EQ(plain.binary, (std::vector<bool>{false, false, false}));
  expectSameOutputs(plain, over_http);
}

TEST_F(GrpcClientLive, OutputsSelectionAndParameters) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {1, 4}, std::span(kRows).last(4))};
  for (bool binary : {true, false}) {
    InferOptions options;
    options.binary = binary;
    options.outputs = {"class", "label"};
    options.parameters = {{"note", std::string("from-the-test")}};
    InferResult result = grpc_->infer("pump_state", inputs, options);
    ASSERT_EQ(result.outputs.size(), 2u);
    EXPECT_EQ(result.outputs[0].name(), "class");
    EXPECT_EQ(result.outputs[1].name(), "label");
    EXPECT_EQ(result.binary[1], binary);
    expectSameOutputs(result, http_->infer("pump_state", inputs, options));
  }
  // Parameters reach the server: a top_k that is not a whole number is refused by name.
  InferOptions bad;
  bad.parameters = {{"top_k", std::string("three")}};
  Error refused = errorOf([&] { grpc_->infer("pump_state", inputs, bad); });
  EXPECT_EQ(refused.status(), kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("top_k"));
  EXPECT_EQ(errorOf([&] { http_->infer("pump_state", inputs, bad); }).status(), 400);
}

TEST_F(GrpcClientLive, ABytesInputArrivesAndIsRefusedByName) {
  // pump_state takes FP32 only: the server decodes the raw BYTES and names the input.
  std::vector<Tensor> inputs = {Tensor::strings("input", {1, 4}, {"a", "bb", "", "dddd"})};
  for (bool binary : {true, false}) {
    InferOptions options;
    options.binary = binary;
    Error refused = errorOf([&] { grpc_->infer("pump_state", inputs, options); });
    EXPECT_EQ(refused.code(), ErrorCode::kGrpc);
    EXPECT_EQ(refused.status(), kInvalidArgument) << refused.message();
    EXPECT_THAT(refused.message(), HasSubstr("input"));
    EXPECT_THAT(refused.message(), ::testing::Not(HasSubstr("raw bytes")));
  }
}

TEST_F(GrpcClientLive, InferAsyncKeepsManyCallsInFlight) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  const InferResult expected = grpc_->infer("pump_state", inputs);
  std::vector<std::future<InferResult>> answers;
  for (int i = 0; i < 64; ++i) {
    InferOptions options;
    options.request_id = "a" + std::to_string(i);
    answers.push_back(grpc_->inferAsync("pump_state", inputs, options));
  }
  answers.push_back(grpc_->inferAsync("nope", inputs));
  for (int i = 0; i < 64; ++i) {
    InferResult result = answers[static_cast<std::size_t>(i)].get();
    EXPECT_EQ(result.id, "a" + std::to_string(i));
    expectSameOutputs(result, expected);
  }
  Error unknown = errorOf([&] { answers.back().get(); });
  EXPECT_EQ(unknown.status(), kNotFound);
}

TEST_F(GrpcClientLive, DestroyingTheClientSettlesEveryFuture) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  std::vector<std::future<InferResult>> answers;
  {
    GrpcClient client(server_->grpcTarget());
    for (int i = 0; i < 32; ++i) {
      answers.push_back(client.inferAsync("pump_state", inputs));
    }
  }  // cancels what is still in flight, joins the queue's thread
  for (auto& answer : answers) {
    ASSERT_EQ(answer.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    try {
      EXPECT_EQ(answer.get().outputs.size(), 3u);
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ErrorCode::kGrpc);
      EXPECT_EQ(error.status(), 1) << error.what();  // CANCELLED
    }
  }
  GrpcClient moved_to(server_->grpcTarget());
  moved_to = GrpcClient(server_->grpcTarget());
  EXPECT_TRUE(moved_to.serverLive());
}

TEST_F(GrpcClientLive, ErrorsCarryTheGrpcStatusAndMessage) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {1, 4}, std::span(kRows).first(4))};
  Error unknown = errorOf([&] { grpc_->infer("nope", inputs); });
  EXPECT_EQ(unknown.code(), ErrorCode::kGrpc);
  EXPECT_EQ(unknown.status(), kNotFound);
  EXPECT_EQ(unknown.message(), "unknown model 'nope'");
  EXPECT_EQ(std::string(unknown.what()), "gRPC status 5: unknown model 'nope'");
  EXPECT_EQ(errorOf([&] { grpc_->modelMetadata("nope"); }).status(), kNotFound);
  std::vector<Tensor> narrow = {Tensor::view<float>("input", {1, 3}, std::span(kRows).first(3))};
  Error bad = errorOf([&] { grpc_->infer("pump_state", narrow); });
  EXPECT_EQ(bad.code(), ErrorCode::kGrpc);
  EXPECT_EQ(bad.status(), kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("input"));

  std::vector<std::uint16_t> half = {0, 0, 0, 0};
  std::vector<Tensor> fp16 = {
      Tensor::fromBytes("input", DataType::kFp16, {1, 4}, std::as_bytes(std::span(half)))};
  InferOptions typed;
  typed.binary = false;
  Error refused = errorOf([&] { grpc_->infer("pump_state", fp16, typed); });
  EXPECT_EQ(refused.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("input 'input': FP16"));
  InferOptions negative;
  negative.timeout = std::chrono::milliseconds(-1);
  EXPECT_EQ(errorOf([&] { grpc_->infer("pump_state", inputs, negative); }).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(errorOf([] { GrpcClient("http://127.0.0.1:1"); }).code(), ErrorCode::kInvalidArgument);
}

TEST_F(GrpcClientLive, ACallPastItsDeadlineIsATimeout) {
  // A million rows (16 MB) cannot be sent, run and answered within a millisecond.
  std::vector<float> rows(4'000'000, 0.5f);
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {1'000'000, 4}, rows)};
  InferOptions options;
  options.timeout = std::chrono::milliseconds(1);
  Error late = errorOf([&] { grpc_->infer("pump_state", inputs, options); });
  EXPECT_EQ(late.code(), ErrorCode::kTimeout) << late.what();
  EXPECT_EQ(late.status(), 0);
  Error late_async = errorOf([&] { grpc_->inferAsync("pump_state", inputs, options).get(); });
  EXPECT_EQ(late_async.code(), ErrorCode::kTimeout) << late_async.what();
  EXPECT_TRUE(grpc_->serverLive());  // the channel still works
}

TEST_F(GrpcClientLive, NoServerIsUnavailable) {
  GrpcClientOptions options;
  options.timeout = std::chrono::milliseconds(2000);
  GrpcClient nowhere("127.0.0.1:1", options);
  Error error = errorOf([&] { nowhere.serverLive(); });
  EXPECT_EQ(error.code(), ErrorCode::kGrpc);
  EXPECT_EQ(error.status(), kUnavailable);
}

TEST_F(GrpcClientLive, TheGrpcQuickstartExampleInfers) {
  aimass::testing::TempDir dir("aimass-grpc-quickstart");
  auto ran =
      aimass::testing::runProgram(AIMASS_GRPC_QUICKSTART_CPP, dir.path(),
                                  {"--target", server_->grpcTarget(), "--model", "pump_state"});
  ASSERT_EQ(ran.code, 0) << ran.err;
  EXPECT_THAT(ran.out, HasSubstr("pump_state version "));
  EXPECT_THAT(ran.out, HasSubstr(" (request grpc-quickstart):\n"));
  EXPECT_THAT(ran.out, HasSubstr("  probabilities FP32: "));
  EXPECT_THAT(ran.out, HasSubstr("8 concurrent calls answered\n"));
  auto failed = aimass::testing::runProgram(AIMASS_GRPC_QUICKSTART_CPP, dir.path(),
                                            {"--target", server_->grpcTarget(), "--model", "nope"});
  EXPECT_EQ(failed.code, 1);
  EXPECT_THAT(failed.err, HasSubstr("error: gRPC status 5: unknown model 'nope'"));
}

#ifdef AIMASS_GRPC_LOAD
TEST_F(GrpcClientLive, GrpcLoadRunsForOneSecond) {
  // bench/grpc_load (built with AIMASS_BUILD_BENCH): every call answered; how many is not
  // checked, this is not a benchmark.
  aimass::testing::TempDir dir("aimass-grpc-load");
  auto load = aimass::testing::runProgram(
      AIMASS_GRPC_LOAD, dir.path(),
      {"--target", server_->grpcTarget(), "--seconds", "1", "--in-flight", "8", "--model",
       "pump_state", "--input", "input", "--features", "4"});
  EXPECT_EQ(load.code, 0) << load.err;
  EXPECT_THAT(load.out, ::testing::MatchesRegex(
                            "\\{\"req_per_s\":[0-9.]+,\"p50_ms\":[0-9.]+,\"p99_ms\":[0-9.]+,"
                            "\"errors\":0\\}\n"));
  auto unknown = aimass::testing::runProgram(
      AIMASS_GRPC_LOAD, dir.path(),
      {"--target", server_->grpcTarget(), "--seconds", "1", "--model", "nope", "--features", "4"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("unknown model 'nope'"));
}
#endif

// ---- auth: the same keys and JWTs as frontend.http's, sent as metadata ----------------------

using GrpcClientAuth = LiveSuite<WithAuth<true>>;

TEST_F(GrpcClientAuth, KeysAndTokensAreAcceptedOrRefused) {
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  GrpcClient anonymous(server_->grpcTarget());
  EXPECT_TRUE(anonymous.serverLive());  // public
  Error refused = errorOf([&] { anonymous.infer("pump_state", inputs); });
  EXPECT_EQ(refused.status(), kUnauthenticated);

  GrpcClientOptions options;
  options.api_key = kReaderKey;
  EXPECT_EQ(GrpcClient(server_->grpcTarget(), options).infer("pump_state", inputs).outputs.size(),
            3u);
  options.api_key = "not-a-key";
  EXPECT_EQ(errorOf([&] {
              GrpcClient(server_->grpcTarget(), options).modelMetadata("pump_state");
            }).status(),
            kUnauthenticated);
  options.api_key.clear();
  options.bearer_token = jwtFor("reader");
  EXPECT_EQ(GrpcClient(server_->grpcTarget(), options).modelMetadata("pump_state").name,
            "pump_state");
  options.api_key = kReaderKey;
  EXPECT_EQ(errorOf([&] { GrpcClient(server_->grpcTarget(), options); }).code(),
            ErrorCode::kInvalidArgument);
}

// ---- mutual TLS: frontend.grpc with the suite's server certificate and client CA -------------

struct GrpcMutualTls {
  static constexpr bool kTls = true;
  static constexpr bool kGrpc = true;
  static std::string webExtra() { return ""; }
};

using GrpcClientTls = LiveSuite<GrpcMutualTls>;

TEST_F(GrpcClientTls, ACaFileAndAClientCertificateWork) {
  GrpcClientOptions options;
  options.ca_file = server_->tls().ca.string();
  options.cert_file = server_->tls().client_cert.string();
  options.key_file = server_->tls().client_key.string();
  GrpcClient client(server_->grpcTarget(), options);
  EXPECT_TRUE(client.serverLive());
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {2, 4}, kRows)};
  EXPECT_EQ(client.infer("pump_state", inputs).outputs.size(), 3u);
  options.server_name = "localhost";  // the certificate names 127.0.0.1 and localhost
  EXPECT_TRUE(GrpcClient(server_->grpcTarget(), options).serverLive());
  options.server_name = "elsewhere.invalid";
  options.timeout = std::chrono::milliseconds(5000);
  EXPECT_EQ(errorOf([&] { GrpcClient(server_->grpcTarget(), options).serverLive(); }).status(),
            kUnavailable);
}

TEST_F(GrpcClientTls, WithoutAClientCertificateOrInPlainTextItFails) {
  GrpcClientOptions options;
  options.timeout = std::chrono::milliseconds(5000);
  options.ca_file = server_->tls().ca.string();
  Error no_cert = errorOf([&] { GrpcClient(server_->grpcTarget(), options).serverLive(); });
  EXPECT_EQ(no_cert.code(), ErrorCode::kGrpc);
  EXPECT_EQ(no_cert.status(), kUnavailable);
  GrpcClientOptions plain;
  plain.timeout = std::chrono::milliseconds(5000);
  EXPECT_EQ(errorOf([&] { GrpcClient(server_->grpcTarget(), plain).serverLive(); }).status(),
            kUnavailable);
  options.cert_file = server_->tls().client_cert.string();
  EXPECT_EQ(errorOf([&] { GrpcClient(server_->grpcTarget(), options); }).code(),
            ErrorCode::kInvalidArgument);  // a certificate without its key
  options.key_file = (server_->dir() / "missing.key").string();
  EXPECT_EQ(errorOf([&] { GrpcClient(server_->grpcTarget(), options); }).code(), ErrorCode::kTls);
}

}  // namespace
}  // namespace aimass::client::testing
