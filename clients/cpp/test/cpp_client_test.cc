// SPDX-License-Identifier: Apache-2.0
// The C++ client without aimass: its tensor types, encode/decode without a server (the same
// bytes as the C library's), and (against a tiny local HTTP server) the retry policy, timeouts,
// typed errors and the job service's structs as sent and read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "aimass/client/client.hpp"
#include "error_of.h"
#include "local_http_server.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

TEST(CppClientTypes, DataTypesHaveTheirOipNames) {
  EXPECT_EQ(dataTypeName(DataType::kFp32), "FP32");
  EXPECT_EQ(parseDataType("BYTES"), DataType::kBytes);
  EXPECT_EQ(parseDataType("fp32"), std::nullopt);
  EXPECT_EQ(elementSize(DataType::kInt64), 8u);
  EXPECT_EQ(elementSize(DataType::kBytes), 0u);
}

TEST(CppClientTypes, ViewsDoNotCopyAndCopiesOwn) {
  std::vector<float> data = {1, 2, 3, 4, 5, 6};
  Tensor view = Tensor::view<float>("x", {2, 3}, data);
  EXPECT_EQ(view.dataType(), DataType::kFp32);
  EXPECT_EQ(view.data<float>().data(), data.data());
  Tensor copied = Tensor::copy<float>("x", {2, 3}, data);
  EXPECT_NE(copied.data<float>().data(), data.data());
  Tensor again = copied;  // a copy of an owning tensor owns its own bytes
  EXPECT_NE(again.data<float>().data(), copied.data<float>().data());
  Tensor moved = std::move(again);
  EXPECT_EQ(moved.data<float>()[5], 6.0f);
  data[0] = 42;
  EXPECT_EQ(view.data<float>()[0], 42.0f);
  EXPECT_EQ(copied.data<float>()[0], 1.0f);
  view.own();
  data[0] = 7;
  EXPECT_EQ(view.data<float>()[0], 42.0f);
}

TEST(CppClientTypes, MismatchesThrowNamingTheTensor) {
  std::vector<double> data = {1, 2, 3};
  Error count = errorOf([&] { Tensor::view<double>("d", {2, 2}, data); });
  EXPECT_EQ(count.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(count.status(), 0);
  EXPECT_EQ(count.message(), "tensor 'd': its shape holds 4 elements but the data hold 3");
  Tensor t = Tensor::view<double>("d", {3}, data);
  EXPECT_THAT(errorOf([&] { t.data<float>(); }).message(), HasSubstr("tensor 'd' is FP64"));
  Tensor s = Tensor::strings("s", {2}, {"a", "b"});
  EXPECT_THAT(errorOf([&] { s.toDoubles(); }).message(), HasSubstr("BYTES"));
  EXPECT_THAT(errorOf([&] { Tensor::strings("s", {3}, {"a"}); }).message(),
              HasSubstr("holds 3 elements"));
}

TEST(CppClientTypes, ToDoublesDecodesHalfFloats) {
  const std::array<std::uint16_t, 3> half = {0x3e00, 0xc000, 0x0001};
  Tensor h = Tensor::fromBytes("h", DataType::kFp16, {3}, std::as_bytes(std::span(half)));
  std::vector<double> values = h.toDoubles();
  EXPECT_EQ(values[0], 1.5);
  EXPECT_EQ(values[1], -2.0);
  EXPECT_EQ(values[2], std::ldexp(1.0, -24));
  const std::array<std::uint16_t, 1> bf = {0x3fc0};
  EXPECT_EQ(
      Tensor::fromBytes("b", DataType::kBf16, {1}, std::as_bytes(std::span(bf))).toDoubles()[0],
      1.5);
}

TEST(CppClientTypes, AMissingOutputNamesTheOutputsThereAre) {
  InferResult result;
  result.outputs.push_back(Tensor::strings("class", {1}, {"worn"}));
  result.binary.push_back(true);
  EXPECT_EQ(result.output("class").elements()[0], "worn");
  EXPECT_EQ(result.find("label"), nullptr);
  EXPECT_EQ(errorOf([&] { result.output("label"); }).message(),
            "no output 'label' in the answer (it has 'class')");
}

TEST(CppClientCodec, EncodeAndDecodeWithoutAServer) {
  std::vector<float> pixels(784, 0.5f);
  std::vector<Tensor> inputs = {Tensor::view<float>("input", {1, 784}, pixels)};
  InferOptions options;
  options.request_id = "w6";
  options.parameters["top_k"] = std::int64_t{3};
  EncodedRequest request = HttpClient::encodeRequest(inputs, options);
  EXPECT_EQ(request.body.size(), request.header_length + 784 * 4);
  EXPECT_EQ(request.body.substr(0, request.header_length),
            R"({"id":"w6","inputs":[{"name":"input","datatype":"FP32","shape":[1,784],)"
            R"("parameters":{"binary_data_size":3136}}],)"
            R"("parameters":{"top_k":3,"binary_data_output":true}})");
  EXPECT_EQ(std::memcmp(request.body.data() + request.header_length, pixels.data(), 3136), 0);

  std::string header =
      R"({"model_name":"fashion","model_version":"1","outputs":[)"
      R"({"name":"class","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":11}},)"
      R"({"name":"probabilities","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}]})";
  std::string body = header;
  const std::uint32_t length = 7;
  const float p[2] = {0.75f, 0.25f};
  body.append(reinterpret_cast<const char*>(&length), 4).append("Sandal");
  body += '!';
  body.append(reinterpret_cast<const char*>(p), sizeof p);
  InferResult result = HttpClient::decodeResult(body, header.size());
  EXPECT_EQ(result.model_name, "fashion");
  EXPECT_EQ(result.output("class").elements(), std::vector<std::string>{"Sandal!"});
  auto probabilities = result.output("probabilities").data<float>();
  EXPECT_EQ(std::vector<float>(probabilities.begin(), probabilities.end()),
            (std::vector<float>{0.75f, 0.25f}));
  EXPECT_EQ(result.output("probabilities").shape(), (Tensor::Shape{1, 2}));
  EXPECT_EQ(result.binary, (std::vector<bool>{true, true}));
  Error bad = errorOf([&] { HttpClient::decodeResult(body, body.size() + 1); });
  EXPECT_EQ(bad.code(), ErrorCode::kProtocol);
}

TEST(CppClientLocal, TheRetryPolicyIsConfigurable) {
  int calls = 0;
  LocalHttpServer server([&](const SeenRequest&) {
    return ++calls % 3 != 0 ? Reply{429, R"({"error":"slow down"})"} : Reply{200, "[]"};
  });
  ClientOptions options;
  options.retry.statuses = {429};
  options.retry.backoff = std::chrono::milliseconds(1);
  options.retry.max_backoff = std::chrono::milliseconds(2);
  HttpClient client(server.url(), options);
  EXPECT_TRUE(client.listModels().empty());
  EXPECT_EQ(server.requests().size(), 3u);

  options.retry.retries = 0;
  HttpClient once(server.url(), options);
  Error error = errorOf([&] { once.listDatasets(); });
  EXPECT_EQ(error.code(), ErrorCode::kHttp);
  EXPECT_EQ(error.status(), 429);
  EXPECT_EQ(error.message(), "slow down");
  EXPECT_STREQ(error.what(), "HTTP 429: slow down");
  EXPECT_EQ(server.requests().size(), 4u);

  options.retry.methods = {"BREW"};
  EXPECT_EQ(errorOf([&] { HttpClient(server.url(), options); }).code(),
            ErrorCode::kInvalidArgument);
}

TEST(CppClientLocal, TimeoutsThrowTimeoutErrors) {
  LocalHttpServer server([](const SeenRequest&) {
    return Reply{200, R"({"outputs":[]})", std::chrono::milliseconds(1500)};
  });
  ClientOptions options;
  options.timeout = std::chrono::milliseconds(200);
  HttpClient client(server.url(), options);
  Error slow = errorOf([&] { client.serverMetadata(); });
  EXPECT_EQ(slow.code(), ErrorCode::kTimeout);
  EXPECT_EQ(slow.status(), 0);

  HttpClient patient(server.url());
  InferOptions call;
  call.timeout = std::chrono::milliseconds(100);
  std::vector<Tensor> none;
  EXPECT_EQ(errorOf([&] { patient.infer("m", none, call); }).code(), ErrorCode::kTimeout);
}

TEST(CppClientLocal, BadUrlsThrowInvalidArgument) {
  Error error = errorOf([] { HttpClient("gopher://x"); });
  EXPECT_EQ(error.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(error.message(), HasSubstr("http or https"));
}

TEST(CppClientLocal, JobServiceStructsTravelMemberByMember) {
  const std::string queue =
      R"({"name":"q","cohort":"lab","ordering":"fifo","nominal":{"threads":1,)"
      R"("memory_bytes":2,"gpus":0},"borrowing_limit":null,"max_running":0,)"
      R"("used":{"threads":0,"memory_bytes":0,"gpus":0},"waiting":0,"running":0})";
  const std::string job =
      R"({"id":5,"state":"running","queue":"q","owner":"ann","priority":0,)"
      R"("resources":{"threads":1,"memory_bytes":2,"gpus":0},"ranks":4,"preemptible":false,)"
      R"("config_name":"t.yaml","reason":"","attempts":1,"submitted_unix_ms":5,)"
      R"("started_unix_ms":6,"finished_unix_ms":null,"cancel_requested":false,)"
      R"("worker_pid":0,"external_id":"4242","runs":[],"schedule_id":9})";
  const std::string schedule =
      R"({"id":9,"name":"","cron":"@daily","overlap":"skip","queue":"q","owner":"ann",)"
      R"("priority":0,"resources":{"threads":1,"memory_bytes":2,"gpus":0},)"
      R"("preemptible":false,"config_name":"t.yaml","created_unix_ms":1,)"
      R"("next_fire_unix_ms":2,"last_fire_unix_ms":3,"last_job":5,"fires":1,"skips":0,)"
      R"("last_result":"submitted job 5"})";
  LocalHttpServer server([&](const SeenRequest& r) {
    if (r.path == "/api/v1/jobs/5") return Reply{200, job};
    return Reply{200, r.method == "PUT" ? queue : schedule};
  });
  HttpClient client(server.url());
  Job read = client.getJob(5);
  EXPECT_EQ(read.ranks, 4);
  EXPECT_EQ(read.external_id, "4242");
  EXPECT_EQ(read.schedule_id, 9);

  JobQueueUpdate update;
  update.threads = 2;
  update.memory = "4GiB";
  update.gpus = 0;
  update.borrow_threads = -1;
  update.borrow_memory = "1GiB";
  update.borrow_memory_bytes = 4096;  // sent instead of borrow_memory
  update.borrow_gpus = 1;
  update.max_running = 3;
  update.ordering = "fair_share";
  update.strict_fifo = false;
  EXPECT_EQ(client.updateQueue("q", update).cohort, "lab");

  JobScheduleSubmission nightly;
  nightly.job.config = "nodes: {}\n";
  nightly.job.ranks = 2;
  nightly.cron = "@daily";
  JobSchedule created = client.createSchedule(nightly);
  EXPECT_EQ(created.last_fire_unix_ms, 3);
  EXPECT_EQ(created.last_job, 5);
  EXPECT_EQ(created.fires, 1);
  EXPECT_EQ(created.last_result, "submitted job 5");

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].body,
            R"({"threads":2,"memory":"4GiB","gpus":0,"borrow_threads":null,"borrow_memory":4096,)"
            R"("borrow_gpus":1,"max_running":3,"ordering":"fair_share","strict_fifo":false})");
  EXPECT_EQ(seen[2].body, R"({"config":"nodes: {}\n","ranks":2,"cron":"@daily"})");
}

}  // namespace
}  // namespace aimass::client::testing
