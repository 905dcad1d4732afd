// SPDX-License-Identifier: Apache-2.0
// Logged payloads at rest (core/src/monitoring/payload_record.h): keys that say what their
// record holds, a lossless round trip, every torn or altered record refused, and reads in time
// order across versions from a time on, bounded by a count.
#include "monitoring/payload_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "aimass/core/model_artifact.h"
#include "map_storage.h"
#include "payload_query.h"
#include "serving_feedback.h"

namespace aimass::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PayloadEntry entry(const std::string& id, const std::string& version, std::int64_t ns) {
  PayloadEntry e;
  e.request_id = id;
  e.model = "pumps";
  e.version = version;
  e.unix_ns = ns;
  e.latency_us = 250;
  e.outcome = "ok";
  e.inputs.set("input", Tensor::fromVector<float>({1.5f, NAN, 3.0f, 4.0f}, {2, 2}));
  e.inputs.set("vendor", Tensor::fromStrings({"Castell", "naïve"}).reshaped({2, 1}));
  e.outputs.set("class", Tensor::fromVector<std::int64_t>({1, 0}, {2}));
  return e;
}

/// Writes `entries` as one record of their version, as the log would.
void writeRecord(testing::MapStorage& storage, const std::vector<PayloadEntry>& entries) {
  const std::string key = payloadKey("pumps", entries.front().version, entries.front().unix_ns,
                                     entries.back().unix_ns, entries.size(), "0000abcd");
  ASSERT_TRUE(storage.put(key, encodePayloadRecord(entries)).ok());
}

std::vector<std::string> ids(const std::vector<PayloadEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    out.push_back(e.request_id);
  }
  return out;
}

TEST(PayloadRecord, KeysSayTheTimesEntriesAndWriterAndParseBack) {
  const std::string key = payloadKey("pumps", "3", 5, 900, 2, "0a1b2c3d");
  EXPECT_EQ(key, "payloads/pumps/3/00000000000000000005-00000000000000000900-2-0a1b2c3d");
  auto parsed = parsePayloadKey(key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->model, "pumps");
  EXPECT_EQ(parsed->version, "3");
  EXPECT_EQ(parsed->first_ns, 5);
  EXPECT_EQ(parsed->last_ns, 900);
  EXPECT_EQ(parsed->entries, 2u);
  EXPECT_EQ(parsed->writer, "0a1b2c3d");
  EXPECT_EQ(payloadPrefix("pumps"), "payloads/pumps/");
  EXPECT_EQ(payloadPrefix("pumps", "3"), "payloads/pumps/3/");
  EXPECT_LT(payloadKey("m", "1", 99, 99, 1, "ffffffff"), payloadKey("m", "1", 100, 100, 1, "0"));
  for (const char* bad :
       {"payloads/pumps/3/5-900-2-0a1b2c3d",
        "payloads/pumps/00000000000000000005-"
        "00000000000000000900-2-0a1b2c3d",
        "payloads/pumps/3/x/00000000000000000005-00000000000000000900-2-0a1b2c3d",
        "payloads/pumps/3/00000000000000000900-00000000000000000005-2-0a1b2c3d",
        "payloads/pumps/3/00000000000000000005-00000000000000000900-0-0a1b2c3d",
        "payloads/pumps/3/00000000000000000005-00000000000000000900-2-0a1b2c3",
        "feedback/pumps/3/00000000000000000005-00000000000000000900-2-0a1b2c3d"}) {
    EXPECT_FALSE(parsePayloadKey(bad)) << bad;
  }
}

TEST(PayloadRecord, RoundTripsEveryEntryExactly) {
  PayloadEntry failed = entry("r2", "3", 20);
  failed.outcome = "backend";
  failed.outputs.clear();
  failed.masked_features = {"temperature_c"};
  auto decoded = decodePayloadRecord(encodePayloadRecord({entry("r1", "3", 10), failed}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  ASSERT_EQ(decoded->size(), 2u);
  const PayloadEntry& first = (*decoded)[0];
  EXPECT_EQ(first.request_id, "r1");
  EXPECT_EQ(first.model, "pumps");
  EXPECT_EQ(first.version, "3");
  EXPECT_EQ(first.unix_ns, 10);
  EXPECT_EQ(first.latency_us, 250);
  EXPECT_EQ(first.outcome, "ok");
  EXPECT_EQ(first.inputs.find("input")->shape(), (Shape{2, 2}));
  EXPECT_EQ(first.inputs.find("input")->data<float>()[0], 1.5f);
  EXPECT_TRUE(std::isnan(first.inputs.find("input")->data<float>()[1]));
  EXPECT_EQ(first.inputs.find("vendor")->shape(), (Shape{2, 1}));
  EXPECT_EQ(first.inputs.find("vendor")->strings()[1], "naïve");
  EXPECT_EQ(first.outputs.find("class")->data<std::int64_t>()[0], 1);
  const PayloadEntry& second = (*decoded)[1];
  EXPECT_EQ(second.outcome, "backend");
  EXPECT_TRUE(second.outputs.empty());
  EXPECT_THAT(second.masked_features, ElementsAre("temperature_c"));
}

TEST(PayloadRecord, EveryTruncationAndEveryFlippedByteIsRefused) {
  const std::string record = encodePayloadRecord({entry("r1", "3", 10), entry("r2", "3", 11)});
  for (std::size_t size = 0; size < record.size(); ++size) {
    EXPECT_FALSE(decodePayloadRecord(record.substr(0, size)).ok()) << size;
  }
  for (std::size_t at = 0; at < record.size(); ++at) {
    std::string altered = record;
    altered[at] ^= 0x01;
    EXPECT_FALSE(decodePayloadRecord(altered).ok()) << at;
  }
  EXPECT_FALSE(decodePayloadRecord(record + "x").ok());
}

TEST(PayloadRecord, FeedbackAndOtherArtifactsAreNotPayloads) {
  TensorMap observations;
  observations.set("user", Tensor::fromStrings({"u1"}));
  auto decoded = decodePayloadRecord(encodeFeedbackRecord(observations));
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr("not a payload record"));
  EXPECT_THAT(decoded.status().message(), HasSubstr("'aimass.feedback'"));
  // A well-formed envelope whose payload declares more entries than it holds.
  auto bloated = decodePayloadRecord(
      encodeArtifactEnvelope("aimass.payloads", 1, std::string(16, '\0') + std::string(4, '\xff')));
  EXPECT_EQ(bloated.status().code(), StatusCode::kDataLoss);
}

TEST(PayloadRead, MergesVersionsInTimeOrderFromATimeBoundedByACount) {
  testing::MapStorage storage;
  writeRecord(storage, {entry("a10", "1", 10), entry("a20", "1", 20), entry("a30", "1", 30)});
  writeRecord(storage, {entry("b15", "2", 15), entry("b25", "2", 25)});
  writeRecord(storage, {entry("a40", "1", 40), entry("a50", "1", 50)});
  ASSERT_TRUE(storage.put("payloads/pumps/1/notes", "not a record").ok());  // skipped
  ASSERT_TRUE(storage
                  .put("payloads/pumpset/1/" + std::string(20, '0') + "-" + std::string(20, '0') +
                           "-1-00000000",
                       "another model's")
                  .ok());  // a model whose name starts alike is not read

  auto all = readPayloads(storage, query("pumps"));
  ASSERT_TRUE(all.ok()) << all.status().toString();
  EXPECT_THAT(ids(*all), ElementsAre("a10", "b15", "a20", "b25", "a30", "a40", "a50"));

  auto window = readPayloads(storage, query("pumps", "", 21, 2));
  ASSERT_TRUE(window.ok()) << window.status().toString();
  EXPECT_THAT(ids(*window), ElementsAre("b25", "a30"));

  auto first = readPayloads(storage, query("pumps", "", 0, 3));
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(ids(*first), ElementsAre("a10", "b15", "a20"));

  auto version = readPayloads(storage, query("pumps", "2"));
  ASSERT_TRUE(version.ok());
  EXPECT_THAT(ids(*version), ElementsAre("b15", "b25"));

  auto none = readPayloads(storage, query("pumps", "", 51));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(PayloadRead, ARecordThatCannotBeDecodedIsNamedUnlessTheAnswerIsAlreadyComplete) {
  testing::MapStorage storage;
  writeRecord(storage, {entry("a10", "1", 10)});
  const std::string torn = payloadKey("pumps", "1", 40, 50, 2, "0000abcd");
  const std::string whole = encodePayloadRecord({entry("a40", "1", 40), entry("a50", "1", 50)});
  ASSERT_TRUE(storage.put(torn, whole.substr(0, whole.size() / 2)).ok());

  auto read = readPayloads(storage, query("pumps"));
  EXPECT_EQ(read.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(read.status().message(), HasSubstr("payload record '" + torn + "' in map:test"));
  // The first entry lies before the torn record's first time: it is never read.
  auto before = readPayloads(storage, query("pumps", "", 0, 1));
  ASSERT_TRUE(before.ok()) << before.status().toString();
  EXPECT_THAT(ids(*before), ElementsAre("a10"));
}

}  // namespace
}  // namespace aimass::core
