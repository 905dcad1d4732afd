// SPDX-License-Identifier: Apache-2.0
// Payload logging end to end over real sockets: `aimass run` trains and serves the shipped pump
// classifier (configs/csv_classifier.yaml) with payload_sample 1, leaving out the "vendor" input
// and the temperature column; requests with OIP "id"s are answered; once the server stopped
// (which writes what was queued), `aimass models payloads` reads the logged entries back with
// their ids, version, masked column and the answers the client got.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "aimass_server.h"
#include "http_call.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;
using ::testing::HasSubstr;

/// One OIP request of one pump reading with the id `id` ("" for none).
std::string reading(const std::string& id, const std::string& numbers) {
  return std::string("{") + (id.empty() ? "" : "\"id\":\"" + id + "\",") +
         R"("inputs":[{"name":"input","datatype":"FP32","shape":[1,4],"data":[)" + numbers +
         R"(]},{"name":"vendor","datatype":"BYTES","shape":[1],"data":["Castell"]}]})";
}

TEST(PayloadLogTest, LoggedRequestsAreReadBackWithTheirIdsVersionAndAnswers) {
  aimass::testing::TempDir temp;
  const fs::path store = temp.path() / "store";
  // The shipped pump classifier (trained and served in one run), with payload logging added.
  const aimass::testing::ScopedEnv store_path("AIMASS_STORE", store.string().c_str());
  const aimass::testing::ScopedEnv any_port("AIMASS_HTTP_PORT", "0");
  const fs::path serve = temp.path() / "serve.yaml";
  std::ofstream(serve) << "include: ["
                       << (fs::path(AIMASS_SOURCE_DIR) / "configs/csv_classifier.yaml").string()
                       << "]\n"
                          "nodes:\n"
                          "  serving: {type: serving.runtime, payload_storage: store,\n"
                          "            payload_exclude: [vendor],\n"
                          "            models: {pump_state: {payload_sample: 1,\n"
                          "                                  payload_exclude: [temperature_c]}}}\n";
  AimassServer server(serve.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  const auto p = static_cast<std::uint16_t>(port);
  std::vector<std::string> answers;
  for (const auto& [id, numbers] : {std::pair{"req-1", "512.3, 61.2, 0.04, 218.0"},
                                    std::pair{"req-2", "430.0, 55.0, 0.02, 200.0"},
                                    std::pair{"", "480.0, 58.0, 0.03, 210.0"}}) {
    HttpReply reply = httpCall(p, "POST", "/v2/models/pump_state/infer", reading(id, numbers));
    ASSERT_EQ(reply.status, 200) << reply.body;
    answers.push_back(reply.body);
  }
  HttpReply metrics = httpCall(p, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_payload_log_dropped_total{model=\"pump_state\"} 0"));
  EXPECT_EQ(server.stop(), 0) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("model 'pump_state' version '1' logs 100% of its requests "
                                      "to fs:"));

  // The read side (readPayloads(), as the monitor will use it) through the CLI's JSON.
  auto json = aimass::testing::runAimass(
      temp.path(),
      {"models", "payloads", "pump_state/1", "--json", "--storage", "fs://" + store.string()});
  ASSERT_EQ(json.code, 0) << json.err;
  Poco::JSON::Parser parser;
  auto document = parser.parse(json.out).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(document->getValue<std::string>("model"), "pump_state");
  auto entries = document->getArray("entries");
  ASSERT_EQ(entries->size(), 3u) << json.out;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    auto entry = entries->getObject(static_cast<unsigned>(i));
    ids.push_back(entry->getValue<std::string>("request_id"));
    EXPECT_EQ(entry->getValue<std::string>("version"), "1");
    EXPECT_EQ(entry->getValue<std::string>("outcome"), "ok");
    EXPECT_EQ(entry->getArray("masked_features")->getElement<std::string>(0), "temperature_c");
    auto inputs = entry->getArray("inputs");
    ASSERT_EQ(inputs->size(), 1u) << "vendor is left out node-wide";
    auto input = inputs->getObject(0);
    EXPECT_EQ(input->getValue<std::string>("name"), "input");
    EXPECT_TRUE(input->getArray("data")->isNull(1)) << "temperature_c is masked (NaN: null)";
    EXPECT_FALSE(input->getArray("data")->isNull(0));
    // The logged answers are the ones the client got.
    auto outputs = entry->getArray("outputs");
    ASSERT_GE(outputs->size(), 1u);
    // A parser reads one document; the CLI's was the first.
    auto answered = Poco::JSON::Parser()
                        .parse(answers[i])
                        .extract<Poco::JSON::Object::Ptr>()
                        ->getArray("outputs");
    for (std::size_t o = 0; o < outputs->size(); ++o) {
      auto output = outputs->getObject(static_cast<unsigned>(o));
      Poco::JSON::Object::Ptr sent;
      for (std::size_t a = 0; a < answered->size(); ++a) {
        if (answered->getObject(static_cast<unsigned>(a))->getValue<std::string>("name") ==
            output->getValue<std::string>("name")) {
          sent = answered->getObject(static_cast<unsigned>(a));
        }
      }
      ASSERT_TRUE(sent) << output->getValue<std::string>("name") << " was not answered";
      auto logged = output->getArray("data");
      auto got = sent->getArray("data");
      ASSERT_EQ(logged->size(), got->size());
      const bool texts = output->getValue<std::string>("datatype") == "BYTES";
      for (std::size_t k = 0; k < logged->size(); ++k) {
        const auto at = static_cast<unsigned>(k);
        if (texts) {
          EXPECT_EQ(logged->getElement<std::string>(at), got->getElement<std::string>(at));
        } else {
          EXPECT_NEAR(logged->getElement<double>(at), got->getElement<double>(at), 1e-5);
        }
      }
    }
  }
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], "req-1");
  EXPECT_EQ(ids[1], "req-2");
  EXPECT_THAT(ids[2], ::testing::StartsWith("gen-")) << "made up for a request without an id";

  auto shown = aimass::testing::runAimass(
      temp.path(),
      {"models", "payloads", "pump_state", "--limit", "2", "--storage", "fs://" + store.string()});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("REQUEST ID"));
  EXPECT_THAT(shown.out, HasSubstr("req-1"));
  EXPECT_THAT(shown.out, HasSubstr("req-2"));
  EXPECT_THAT(shown.out, ::testing::Not(HasSubstr("gen-"))) << "--limit 2";
}

}  // namespace
