// SPDX-License-Identifier: Apache-2.0
// configs/char_lm.yaml as a user runs it: dataset.text over /usr/share/common-licenses,
// model.rnn (a GRU, smaller here: AIMASS_RNN_HIDDEN=64, 2 epochs), job.train with carried state,
// job.evaluate, registration in a storage.fs store, and frontend.http serving the model, which
// is then asked over HTTP to write text.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>

#include "aimass_server.h"
#include "http_call.h"
#include "oip_json.h"
#include "scoped_env.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kConfig = fs::path(AIMASS_SOURCE_DIR) / "configs" / "char_lm.yaml";

using aimass::testing::inferOutput;
using aimass::testing::parseObject;

TEST(CharLmConfig, TrainsScoresSavesAndWritesTextOverHttp) {
  if (!fs::is_directory("/usr/share/common-licenses")) {
    AIMASS_SKIP_OR_FAIL("/usr/share/common-licenses is missing (Debian's base-files ships it)");
  }
  aimass::testing::TempDir dir("aimass-char-lm");
  aimass::testing::ScopedEnv store("AIMASS_STORE", (dir.path() / "store").c_str());
  aimass::testing::ScopedEnv port_env("AIMASS_HTTP_PORT", "0");
  aimass::testing::ScopedEnv hidden("AIMASS_RNN_HIDDEN", "64");
  aimass::testing::ScopedEnv epochs("AIMASS_EPOCHS", "2");
  aimass::testing::ScopedEnv threads("AIMASS_THREADS", "1");
  aimass::testing::AimassServer server(kConfig.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  // Trained with a validation loss, registered, and scored as a language model before serving.
  EXPECT_THAT(server.err(), HasSubstr("epoch 2/2: loss=")) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("val_loss=")) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("registered chars version 1")) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("perplexity=")) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("bits_per_byte=")) << server.err();

  const auto call = [&](const std::string& body) {
    return aimass::testing::httpCall(static_cast<std::uint16_t>(port), "POST",
                                     "/v2/models/chars/infer", body);
  };
  auto reply = call(
      R"({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["The licen"]}],)"
      R"( "parameters": {"max_tokens": 50, "temperature": 0.8, "seed": 7}})");
  ASSERT_EQ(reply.status, 200) << reply.body << "\n" << server.err();
  Poco::JSON::Object::Ptr answer = parseObject(reply.body);
  Poco::JSON::Object::Ptr text = inferOutput(answer, "text");
  Poco::JSON::Object::Ptr tokens = inferOutput(answer, "tokens");
  Poco::JSON::Object::Ptr state = inferOutput(answer, "state");
  ASSERT_TRUE(text && tokens && state) << reply.body;
  const auto generated = tokens->getArray("shape")->getElement<std::int64_t>(1);
  EXPECT_EQ(generated, 50) << reply.body;
  EXPECT_EQ(state->getArray("shape")->getElement<std::int64_t>(1), 64) << reply.body;
  const std::string written = text->getArray("data")->getElement<std::string>(0);
  EXPECT_EQ(static_cast<std::int64_t>(written.size()), generated) << written;
  // Trained on licence texts, it writes mostly letters, spaces and punctuation (an untrained
  // model's random bytes would be printable about 37% of the time). Training on one thread and
  // the sampling seed make the sample the same on every run.
  std::size_t printable = 0;
  for (unsigned char c : written) {
    printable += (c >= 0x20 && c < 0x7f) || c == '\n' ? 1 : 0;
  }
  EXPECT_GE(printable * 10, written.size() * 9) << written;

  // Streamed over server-sent events, a seeded request writes what the one-piece answer wrote.
  const std::string seeded =
      R"({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["The licen"]}],)"
      R"( "parameters": {"max_tokens": 12, "temperature": 0.8, "seed": 7}})";
  reply = call(seeded);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string whole =
      inferOutput(parseObject(reply.body), "text")->getArray("data")->getElement<std::string>(0);
  auto streamed = aimass::testing::httpCall(static_cast<std::uint16_t>(port), "POST",
                                            "/v2/models/chars/generate_stream", seeded);
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  std::string pieces;
  int events = 0;
  for (std::size_t at = streamed.body.find("data: {\"model_name\""); at != std::string::npos;
       at = streamed.body.find("data: {\"model_name\"", at + 1)) {
    const std::size_t end = streamed.body.find('\n', at);
    pieces += inferOutput(parseObject(streamed.body.substr(at + 6, end - at - 6)), "text")
                  ->getArray("data")
                  ->getElement<std::string>(0);
    ++events;
  }
  EXPECT_EQ(events, 12) << streamed.body;
  EXPECT_EQ(pieces, whole) << streamed.body;
  EXPECT_THAT(streamed.body, HasSubstr("event: end\ndata: {}\n\n")) << streamed.body;

  // A sequence continued by id goes on from the state its last request left, as sending that
  // state back would.
  const auto ask = [&](const std::string& text, const std::string& parameters,
                       const std::string& state) {
    return call(R"({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [")" +
                text + "\"]}" + state + R"(], "parameters": {)" + parameters + "}}");
  };
  reply = ask("The licen", R"("max_tokens": 5, "seed": 3, "sequence_id": "s1")", "");
  ASSERT_EQ(reply.status, 200) << reply.body;
  Poco::JSON::Object::Ptr first_state = inferOutput(parseObject(reply.body), "state");
  ASSERT_TRUE(first_state) << reply.body;
  std::ostringstream state_data;
  first_state->getArray("data")->stringify(state_data);
  reply = ask("", R"("max_tokens": 5, "seed": 4, "sequence_id": "s1", "sequence_end": true)", "");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string continued =
      inferOutput(parseObject(reply.body), "text")->getArray("data")->getElement<std::string>(0);
  reply = ask("", R"("max_tokens": 5, "seed": 4)",
              R"(, {"name": "state", "datatype": "FP32", "shape": [1, 64], "data": )" +
                  state_data.str() + "}");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(inferOutput(parseObject(reply.body), "text")->getArray("data")->getElement<std::string>(0),
            continued);

  // A token outside the byte vocabulary is the client's error, named.
  reply = call(R"({"inputs": [{"name": "tokens", "datatype": "INT64", "shape": [1, 2],)"
               R"( "data": [65, 300]}]})");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr("300")) << reply.body;
  EXPECT_EQ(server.stop(), 0) << server.err();
}

}  // namespace
