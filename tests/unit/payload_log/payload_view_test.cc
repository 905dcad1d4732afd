// SPDX-License-Identifier: Apache-2.0
// Logged payloads read in place (core/src/monitoring/payload_view.h): the same entries as
// readPayloads() gives, tensors read from unaligned record bytes, and records that are
// well-formed envelopes around malformed entries refused with the same messages.
#include "monitoring/payload_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/core/model_artifact.h"
#include "map_storage.h"
#include "payload_query.h"
#include "tensor_record.h"

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
  e.inputs.set("input", Tensor::fromVector<float>({1.5f, NAN, 3.0f, 4.0f, -5.0f, 6.25f}, {2, 3}));
  e.inputs.set("vendor", Tensor::fromStrings({"Castell", "naïve"}).reshaped({2, 1}));
  e.outputs.set("label", Tensor::fromVector<std::int64_t>({1, -7}, {2}));
  e.masked_features = {"temperature_c", "flow"};
  return e;
}

void writeRecord(testing::MapStorage& storage, const std::vector<PayloadEntry>& entries) {
  const std::string key = payloadKey("pumps", entries.front().version, entries.front().unix_ns,
                                     entries.back().unix_ns, entries.size(), "0000abcd");
  ASSERT_TRUE(storage.put(key, encodePayloadRecord(entries)).ok());
}

TEST(PayloadView, ReadsTheEntriesReadPayloadsGivesInPlace) {
  testing::MapStorage storage;
  PayloadEntry odd = entry("a-odd-length-id", "1", 10);  // moves every later field off alignment
  writeRecord(storage, {odd, entry("a20", "1", 20), entry("a30", "1", 30)});
  writeRecord(storage, {entry("b15", "2", 15), entry("b25", "2", 25)});
  PayloadViews read;
  Status status = readPayloadViews(storage, query("pumps", "", 12, 3), read);
  ASSERT_TRUE(status.ok()) << status.toString();
  std::vector<std::string> ids;
  for (const PayloadEntryView& e : read.entries()) ids.emplace_back(e.request_id);
  EXPECT_THAT(ids, ElementsAre("b15", "a20", "b25"));
  auto decoded = readPayloads(storage, query("pumps", "", 12, 3));
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->size(), 3u);

  const PayloadEntryView& b15 = read.entries()[0];
  EXPECT_EQ(b15.model, "pumps");
  EXPECT_EQ(b15.version, "2");
  EXPECT_EQ(b15.unix_ns, 15);
  EXPECT_EQ(b15.latency_us, 250);
  EXPECT_EQ(b15.outcome, "ok");
  const PayloadTensorView* input = b15.inputs.find("input");
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->dtype(), DType::kFloat32);
  ASSERT_EQ(input->rank(), 2u);
  EXPECT_EQ(input->dim(0), 2);
  EXPECT_EQ(input->dim(1), 3);
  EXPECT_EQ(input->numel(), 6);
  EXPECT_EQ(input->at<float>(0), 1.5f);
  EXPECT_TRUE(std::isnan(input->at<float>(1)));
  float row[3];
  input->copy(3, 3, row);
  EXPECT_THAT(row, ElementsAre(4.0f, -5.0f, 6.25f));
  EXPECT_THAT(b15.inputs.find("vendor")->strings(), ElementsAre("Castell", "naïve"));
  EXPECT_EQ(b15.outputs.find("label")->at<std::int64_t>(1), -7);
  EXPECT_EQ(b15.outputs.find("input"), nullptr);
  EXPECT_EQ(input->strings().size(), 0u) << "not a kBytes tensor";

  // toEntry() is what readPayloads() gives.
  const PayloadEntry copy = read.entries()[1].toEntry();
  const PayloadEntry& a20 = (*decoded)[1];
  EXPECT_EQ(copy.request_id, a20.request_id);
  EXPECT_EQ(copy.version, a20.version);
  EXPECT_THAT(copy.masked_features, ElementsAre("temperature_c", "flow"));
  EXPECT_EQ(copy.inputs.find("input")->shape(), (Shape{2, 3}));
  EXPECT_EQ(copy.inputs.find("input")->data<float>()[5], 6.25f);
  EXPECT_EQ(copy.inputs.find("vendor")->shape(), (Shape{2, 1}));
  EXPECT_EQ(copy.inputs.find("vendor")->strings()[1], "naïve");
  EXPECT_EQ(copy.outputs.find("label")->data<std::int64_t>()[0], 1);

  // Views stay valid when the reads' result moves.
  PayloadViews moved = std::move(read);
  EXPECT_EQ(moved.entries()[2].inputs.find("input")->at<float>(2), 3.0f);
}

TEST(PayloadView, ReadingAgainReusesTheBuffersAndGivesTheNewEntries) {
  testing::MapStorage storage;
  writeRecord(storage, {entry("a10", "1", 10), entry("a20", "1", 20), entry("a30", "1", 30)});
  PayloadViews views;
  ASSERT_TRUE(readPayloadViews(storage, query("pumps"), views).ok());
  ASSERT_EQ(views.entries().size(), 3u);
  // A larger record than the buffer held, then a smaller one, each read into the same views.
  std::vector<PayloadEntry> many;
  for (int i = 0; i < 5; ++i) many.push_back(entry("b" + std::to_string(40 + i), "1", 40 + i));
  many[4].inputs.set("input", Tensor::fromVector<float>({7.0f, 8.0f, 9.0f}, {1, 3}));
  writeRecord(storage, many);
  ASSERT_TRUE(readPayloadViews(storage, query("pumps", "", 31), views).ok());
  ASSERT_EQ(views.entries().size(), 5u);
  EXPECT_EQ(views.entries()[4].request_id, "b44");
  EXPECT_EQ(views.entries()[4].inputs.find("input")->at<float>(2), 9.0f);
  ASSERT_TRUE(readPayloadViews(storage, query("pumps", "", 0, 2), views).ok());
  ASSERT_EQ(views.entries().size(), 2u);
  EXPECT_EQ(views.entries()[1].request_id, "a20");
  EXPECT_EQ(views.entries()[1].inputs.find("input")->at<float>(5), 6.25f);
  // A read that fails leaves no entries behind.
  const std::string torn = payloadKey("pumps", "1", 50, 50, 1, "0000abcd");
  const std::string whole = encodePayloadRecord({entry("c50", "1", 50)});
  ASSERT_TRUE(storage.put(torn, whole.substr(0, whole.size() - 1)).ok());
  EXPECT_EQ(readPayloadViews(storage, query("pumps"), views).code(), StatusCode::kDataLoss);
  EXPECT_TRUE(views.entries().empty());
}

/// A well-formed envelope around one entry whose inputs are `inputs` (written by hand).
std::string recordWithInputs(const std::function<void(ByteWriter&)>& inputs) {
  std::string payload;
  ByteWriter out(payload);
  writeLengthPrefixed(out, "pumps");
  writeLengthPrefixed(out, "1");
  out.u32(1);
  writeLengthPrefixed(out, "r1");
  out.i64(10);
  out.i64(250);
  writeLengthPrefixed(out, "ok");
  out.u32(0);
  inputs(out);
  out.u32(0);  // no outputs
  return encodeArtifactEnvelope(kPayloadRecordType, kPayloadRecordFormat, payload);
}

void floatTensor(ByteWriter& out, const std::string& name, std::uint64_t nbytes) {
  writeLengthPrefixed(out, name);
  writeLengthPrefixed(out, "FP32");
  out.u32(1);
  out.i64(2);
  out.u64(nbytes);
  out.bytes(std::string(static_cast<std::size_t>(nbytes), '\0'));
}

TEST(PayloadView, MalformedEntriesInAWellFormedEnvelopeAreRefusedByName) {
  std::vector<PayloadTensorView> tensors;
  std::vector<PayloadEntryView> entries;
  const std::string good = recordWithInputs([](ByteWriter& out) {
    out.u32(1);
    floatTensor(out, "input", 8);
  });
  ASSERT_TRUE(parsePayloadRecord(good, tensors, entries).ok());
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].inputs.find("input")->numel(), 2);

  const std::string twice = recordWithInputs([](ByteWriter& out) {
    out.u32(2);
    floatTensor(out, "input", 8);
    floatTensor(out, "input", 8);
  });
  Status refused = parsePayloadRecord(twice, tensors, entries);
  EXPECT_EQ(refused.code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.message(),
              HasSubstr("payload record is corrupt: tensor 'input' appears twice"));
  const std::string short_data = recordWithInputs([](ByteWriter& out) {
    out.u32(1);
    floatTensor(out, "input", 4);
  });
  refused = parsePayloadRecord(short_data, tensors, entries);
  EXPECT_THAT(refused.message(),
              HasSubstr("tensor 'input' has a data size that does not match its shape"));
  EXPECT_EQ(entries.size(), 1u) << "nothing is appended from a record that is refused";
  EXPECT_EQ(decodePayloadRecord(twice).status().message(),
            parsePayloadRecord(twice, tensors, entries).message());

  // Through a read, the record is named by its key and storage.
  testing::MapStorage storage;
  const std::string key = payloadKey("pumps", "1", 10, 10, 1, "0000abcd");
  ASSERT_TRUE(storage.put(key, twice).ok());
  PayloadViews views;
  Status read = readPayloadViews(storage, query("pumps"), views);
  EXPECT_EQ(read.code(), StatusCode::kDataLoss);
  EXPECT_THAT(read.message(), HasSubstr("payload record '" + key + "' in map:test"));
}

}  // namespace
}  // namespace aimass::core
