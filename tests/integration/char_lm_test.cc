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
#include <string>

#include "aimass_server.h"
#include "http_call.h"
#include "oip_json.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kConfig = fs::path(AIMASS_SOURCE_DIR) / "configs" / "char_lm.yaml";

using aimass::testing::inferOutput;
using aimass::testing::parseObject;

TEST(CharLmConfig, TrainsScoresSavesAndWritesTextOverHttp) {
#ifndef AIMASS_HAVE_DATASET_TEXT
  GTEST_SKIP() << "this build has no dataset.text plugin";
#endif
  if (!fs::is_directory("/usr/share/common-licenses")) {
    GTEST_SKIP() << "/usr/share/common-licenses is missing (Debian's base-files ships it)";
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

  // A token outside the byte vocabulary is the client's error, named.
  reply = call(R"({"inputs": [{"name": "tokens", "datatype": "INT64", "shape": [1, 2],)"
               R"( "data": [65, 300]}]})");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr("300")) << reply.body;
  EXPECT_EQ(server.stop(), 0) << server.err();
}

}  // namespace
