// SPDX-License-Identifier: Apache-2.0
// `aimass models payloads` (core/src/monitoring/payloads_cli.h): which command lines are its,
// their options and mistakes, and what it prints from a store.
#include "monitoring/payloads_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "map_storage.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

TEST(PayloadsCommand, IsTheFirstWordThatIsNoOptionNorAnOptionsValue) {
  EXPECT_TRUE(isPayloadsCommand({"payloads", "pumps"}));
  EXPECT_TRUE(isPayloadsCommand({"--config", "serve.yaml", "payloads", "pumps"}));
  EXPECT_TRUE(isPayloadsCommand({"--json", "payloads", "pumps"}));
  EXPECT_FALSE(isPayloadsCommand({"--storage", "payloads", "list"}));
  EXPECT_FALSE(isPayloadsCommand({"show", "payloads"}));
  EXPECT_FALSE(isPayloadsCommand({}));
}

TEST(PayloadsCommand, ReadsItsOptionsAndNamesEachMistake) {
  auto command = parsePayloadsCommand(
      {"payloads", "pumps/2", "--limit", "5", "--since", "100", "--json", "--storage", "fs:///x"});
  ASSERT_TRUE(command.ok()) << command.status().toString();
  EXPECT_EQ(command->model, "pumps");
  EXPECT_EQ(command->query.model, "pumps");
  EXPECT_EQ(command->query.version, "2");
  EXPECT_EQ(command->query.limit, 5u);
  EXPECT_EQ(command->query.from_ns, 100);
  EXPECT_TRUE(command->json);
  EXPECT_EQ(command->storage_uri, "fs:///x");

  auto defaults = parsePayloadsCommand({"payloads", "pumps", "--config", "serve.yaml"});
  ASSERT_TRUE(defaults.ok()) << defaults.status().toString();
  EXPECT_EQ(defaults->query.version, "");
  EXPECT_EQ(defaults->query.limit, 20u);
  EXPECT_FALSE(defaults->json);

  auto error = [](const std::vector<std::string>& words) {
    auto parsed = parsePayloadsCommand(words);
    EXPECT_FALSE(parsed.ok());
    return std::string(parsed.status().message());
  };
  EXPECT_THAT(error({"payloads", "pumps", "--limit", "0", "--storage", "fs:///x"}),
              HasSubstr("--limit must be a whole number from 1, got '0'"));
  EXPECT_THAT(error({"payloads", "pumps", "--since", "soon", "--storage", "fs:///x"}),
              HasSubstr("--since must be a whole number from 0, got 'soon'"));
  EXPECT_THAT(error({"payloads", "--storage", "fs:///x"}),
              HasSubstr("'aimass models payloads' takes 1 argument"));
  EXPECT_THAT(error({"payloads", "pumps/", "--storage", "fs:///x"}),
              HasSubstr("takes NAME or NAME/VERSION, got 'pumps/'"));
  EXPECT_THAT(error({"payloads", "pumps", "--force", "--storage", "fs:///x"}),
              HasSubstr("--force"));
  EXPECT_FALSE(parsePayloadsCommand({"payloads", "pumps"}).ok()) << "no store named";
}

TEST(PayloadsCommand, PrintsATableOrJsonOfWhatTheStoreHolds) {
  testing::MapStorage storage;
  PayloadsCommand command;
  command.model = command.query.model = "pumps";
  std::ostringstream out, err;
  EXPECT_EQ(runPayloadsCommand(command, storage, out, err), 0);
  EXPECT_EQ(out.str(), "model 'pumps' has no logged payloads in map:test\n");

  PayloadEntry entry;
  entry.request_id = "r-1";
  entry.model = "pumps";
  entry.version = "3";
  entry.unix_ns = 1'700'000'000'000'000'000;
  entry.latency_us = 1500;
  entry.outcome = "ok";
  entry.inputs.set("input", Tensor::fromVector<float>({512.3f, NAN, 1, 2, 3}, {1, 5}));
  entry.outputs.set("class", Tensor::fromStrings({"worn"}));
  ASSERT_TRUE(storage
                  .put(payloadKey("pumps", "3", entry.unix_ns, entry.unix_ns, 1, "0000abcd"),
                       encodePayloadRecord({entry}))
                  .ok());
  std::ostringstream table;
  EXPECT_EQ(runPayloadsCommand(command, storage, table, err), 0) << err.str();
  EXPECT_THAT(table.str(), HasSubstr("2023-11-14T22:13:20Z  3        r-1         1.5 ms   ok"));
  EXPECT_THAT(table.str(), HasSubstr("input FP32[1, 5] 512.3, null, 1, 2 ..."));
  EXPECT_THAT(table.str(), HasSubstr("class BYTES[1] \"worn\""));

  command.json = true;
  std::ostringstream json;
  EXPECT_EQ(runPayloadsCommand(command, storage, json, err), 0);
  EXPECT_THAT(json.str(), HasSubstr("\"request_id\": \"r-1\""));
  EXPECT_THAT(json.str(), HasSubstr("\"latency_us\": 1500"));

  ASSERT_TRUE(storage.put(payloadKey("pumps", "3", 1, 2, 1, "0000abcd"), "torn").ok());
  std::ostringstream none, why;
  EXPECT_NE(runPayloadsCommand(command, storage, none, why), 0);
  EXPECT_THAT(why.str(), HasSubstr("payload record 'payloads/pumps/3/"));
}

}  // namespace
}  // namespace aimass::core
