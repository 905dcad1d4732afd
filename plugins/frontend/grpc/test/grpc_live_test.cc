// SPDX-License-Identifier: Apache-2.0
// frontend.grpc loaded as a plugin by a real `aimass run`: a model trained by the config is
// served over gRPC on a free port (found from the "serving grpc://127.0.0.1:PORT" line), beside
// frontend.http on the same runtime; and the shipped configs/serve_grpc.yaml validates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "aimass_server.h"
#include "grpc_test_support.h"
#include "temp_dir.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;

constexpr const char* kConfig = R"(nodes:
  store: {type: storage.sqlite, path: store.db}
  pumps: {type: dataset.csv, path: pumps.csv, label: state}
  pump_state: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.05}
  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd, epochs: 2,
          seed: 7, validation_fraction: 0.2, storage: store}
  rpc: {type: frontend.grpc, host: 127.0.0.1, port: 0}
  web: {type: frontend.http, host: 127.0.0.1, port: 0}
)";

TEST(GrpcLiveTest, ServesATrainedModelFromAimassRun) {
  aimass::testing::TempDir dir("aimass-grpc-live");
  std::filesystem::copy_file(std::filesystem::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv",
                             dir.path() / "pumps.csv");
  std::ofstream(dir.path() / "serve.yaml") << kConfig;
  aimass::testing::AimassServer server((dir.path() / "serve.yaml").string());
  const int port = server.waitForPort("grpc");
  ASSERT_GT(port, 0) << server.err();
  ASSERT_GT(server.waitForPort("http"), 0) << server.err();
  auto stub = makeStub("127.0.0.1:" + std::to_string(port));

  auto ready = callServerReady(*stub, {});
  ASSERT_TRUE(ready.status.ok()) << ready.status.error_message();
  EXPECT_TRUE(ready.response.ready());
  inference::ModelMetadataRequest metadata_request;
  metadata_request.set_name("pump_state");
  auto metadata = callModelMetadata(*stub, metadata_request);
  ASSERT_TRUE(metadata.status.ok()) << metadata.status.error_message();
  ASSERT_GE(metadata.response.inputs_size(), 1);
  const auto& input = metadata.response.inputs(0);
  ASSERT_EQ(input.datatype(), "FP32");
  ASSERT_EQ(input.shape_size(), 2);
  const auto features = static_cast<std::size_t>(input.shape(1));

  auto request = fp32Request("pump_state", input.name(), {2, input.shape(1)},
                             std::vector<float>(2 * features, 0.5f), true);
  request.set_id("live-1");
  auto reply = callModelInfer(*stub, request);
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message() << "\n" << server.err();
  EXPECT_EQ(reply.response.id(), "live-1");
  EXPECT_EQ(reply.response.model_name(), "pump_state");
  ASSERT_GE(reply.response.outputs_size(), 1);
  EXPECT_EQ(reply.response.raw_output_contents_size(), reply.response.outputs_size());
  EXPECT_EQ(reply.response.outputs(0).shape(0), 2);

  auto typed = callModelInfer(*stub, fp32Request("pump_state", input.name(), {2, input.shape(1)},
                                                 std::vector<float>(2 * features, 0.5f), false));
  ASSERT_TRUE(typed.status.ok()) << typed.status.error_message();
  ASSERT_EQ(typed.response.outputs_size(), reply.response.outputs_size());
  // The same answer, typed: the first output's elements as the raw reply's bytes hold them.
  const auto& first = typed.response.outputs(0);
  if (first.datatype() == "FP32") {
    EXPECT_EQ(std::vector<float>(first.contents().fp32_contents().begin(),
                                 first.contents().fp32_contents().end()),
              rawValues<float>(reply.response, 0));
  }

  auto unknown = callModelInfer(*stub, fp32Request("pumps", "input", {1, 1}, {0}, true));
  EXPECT_EQ(unknown.status.error_code(), grpc::StatusCode::NOT_FOUND);

#ifdef AIMASS_GRPC_LOAD
  // bench/grpc_load (built with AIMASS_BUILD_BENCH) works against it: one second of calls,
  // every one answered. How many is not checked: this is not a benchmark.
  auto load = aimass::testing::runProgram(
      AIMASS_GRPC_LOAD, dir.path(),
      {"--target", "127.0.0.1:" + std::to_string(port), "--seconds", "1", "--in-flight", "8",
       "--model", "pump_state", "--input", input.name(), "--features", std::to_string(features)});
  EXPECT_EQ(load.code, 0) << load.err;
  EXPECT_THAT(load.out, ::testing::MatchesRegex(
                            "\\{\"req_per_s\":[0-9.]+,\"p50_ms\":[0-9.]+,\"p99_ms\":[0-9.]+,"
                            "\"errors\":0\\}\n"));
#endif
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST(GrpcLiveTest, TheShippedConfigValidates) {
  aimass::testing::TempDir dir("aimass-grpc-validate");
  auto result = aimass::testing::runAimass(
      dir.path(), {"validate", std::string(AIMASS_SOURCE_DIR) + "/configs/serve_grpc.yaml"});
  EXPECT_EQ(result.code, 0) << result.err;
}

TEST(GrpcLiveTest, ABadCertificateFileStopsTheRunNamingIt) {
  aimass::testing::TempDir dir("aimass-grpc-badtls");
  std::ofstream(dir.path() / "bad.yaml")
      << "nodes:\n  rpc: {type: frontend.grpc, port: 0, tls_certificate: missing.crt,\n"
         "        tls_private_key: missing.key}\n";
  auto result = aimass::testing::runAimass(dir.path(), {"run", (dir.path() / "bad.yaml").string()});
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.err, HasSubstr("node 'rpc' (frontend.grpc) at "));
  EXPECT_THAT(result.err, HasSubstr("cannot read tls_certificate"));
}

}  // namespace
}  // namespace aimass::plugins::frontend
