// SPDX-License-Identifier: Apache-2.0
// The payload log's background writer (core/src/monitoring/payload_log.h): one record per
// model version and batch, bounds by rows and age, a full queue that drops and counts, storage
// failures counted and logged without flooding, and stop() writing what was queued.
#include "monitoring/payload_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "allocation_counter.h"
#include "map_storage.h"
#include "payload_query.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

/// Options under which only flush(), a full batch or stop() write: no test waits on a clock.
PayloadLogOptions untimed() {
  PayloadLogOptions options;
  options.flush_interval = std::chrono::hours(1);
  options.relist_interval = std::chrono::hours(1);
  options.batch_entries = 1000;
  return options;
}

PayloadEntry entry(const std::string& model, const std::string& version, const std::string& id) {
  PayloadEntry e;
  e.request_id = id;
  e.model = model;
  e.version = version;
  e.outcome = "ok";
  e.inputs.set("x", Tensor::fromVector<float>({1, 2}, {1, 2}));
  e.outputs.set("y", Tensor::fromVector<float>({2, 4}, {1, 2}));
  return e;
}

std::vector<PayloadRecordKey> records(const Storage& storage, const std::string& model) {
  auto listed = listPayloadRecords(storage, model);
  EXPECT_TRUE(listed.ok()) << listed.status().toString();
  return listed.ok() ? *listed : std::vector<PayloadRecordKey>{};
}

/// A MapStorage whose compareAndSet fails while `failing`.
class FlakyStorage final : public Storage {
 public:
  std::string describe() const override { return "flaky:test"; }
  Status put(std::string_view key, std::string_view value) override { return map.put(key, value); }
  Expected<std::string> get(std::string_view key) const override { return map.get(key); }
  Expected<std::vector<std::string>> list(std::string_view prefix) const override {
    return map.list(prefix);
  }
  Status remove(std::string_view key) override { return map.remove(key); }
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override {
    if (failing) {
      return unavailable("the disk is away");
    }
    return map.compareAndSet(key, expected, desired);
  }
  testing::MapStorage map;
  std::atomic<bool> failing{true};
};

TEST(PayloadLog, WritesOneRecordPerVersionOfABatchWithIncreasingTimesAndMadeUpIds) {
  auto storage = std::make_shared<testing::MapStorage>();
  PayloadLog log(storage, untimed(), nullptr);
  auto counts = log.counts("pumps");
  for (const char* id : {"a", "", "c", "d", "e"}) {
    EXPECT_TRUE(log.offer(entry("pumps", "1", id), *counts));
  }
  EXPECT_TRUE(log.offer(entry("pumps", "2", "f"), *counts));
  EXPECT_TRUE(log.offer(entry("pumps", "2", "g"), *counts));
  EXPECT_TRUE(records(*storage, "pumps").empty()) << "nothing is written before a flush";
  log.flush();
  auto written = records(*storage, "pumps");
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].version, "1");
  EXPECT_EQ(written[0].entries, 5u);
  EXPECT_EQ(written[0].writer, log.writer());
  EXPECT_EQ(written[1].version, "2");
  EXPECT_EQ(written[1].entries, 2u);
  EXPECT_EQ(counts->logged.load(), 7u);
  EXPECT_EQ(counts->dropped.load(), 0u);

  auto entries = readPayloads(*storage, query("pumps"));
  ASSERT_TRUE(entries.ok()) << entries.status().toString();
  ASSERT_EQ(entries->size(), 7u);
  EXPECT_EQ((*entries)[0].request_id, "a");
  EXPECT_THAT((*entries)[1].request_id, StartsWith("gen-"));
  for (std::size_t i = 1; i < entries->size(); ++i) {
    EXPECT_LT((*entries)[i - 1].unix_ns, (*entries)[i].unix_ns) << i;
  }
  EXPECT_EQ((*entries)[6].outputs.find("y")->data<float>()[1], 4.0f);
  EXPECT_THAT(log.prometheusMetrics(),
              HasSubstr("aimass_payload_log_logged_total{model=\"pumps\"} 7\n"));
}

TEST(PayloadLog, ASampledRequestIsEncodedIntoReusedBuffersWithoutAllocating) {
  auto storage = std::make_shared<testing::MapStorage>();
  PayloadLog log(storage, untimed(), nullptr);
  auto counts = log.counts("pumps");
  TensorMap inputs, outputs;
  inputs.set("input", Tensor::fromVector<float>({1, 2, 3, 4}, {1, 4}));
  inputs.set("secret", Tensor::fromVector<float>({9}, {1, 1}));
  outputs.set("y", Tensor::fromVector<float>({2, 4}, {1, 2}));
  const std::vector<std::string> excluded = {"secret"}, masked = {"c2"};
  const std::vector<std::int64_t> masked_columns = {2};
  auto offerRequest = [&](std::string_view id) {
    PayloadEntryParts parts;
    parts.request_id = id;
    parts.outcome = "ok";
    parts.inputs = &inputs;
    parts.outputs = &outputs;
    parts.excluded = &excluded;
    parts.masked_features = &masked;
    parts.masked_columns = &masked_columns;
    return log.offer("pumps", "1", parts, 24, *counts);
  };
  for (int round = 0; round < 2; ++round) {  // the queue's buffers grow, then are handed back
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(offerRequest(i % 2 == 0 ? "" : "given"));
    }
    log.flush();
  }
  const long before = aimass::testing::heapAllocations();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(offerRequest(i % 2 == 0 ? "" : "given"));
  }
  EXPECT_EQ(aimass::testing::heapAllocations(), before);
  log.flush();

  auto entries = readPayloads(*storage, query("pumps"));
  ASSERT_TRUE(entries.ok()) << entries.status().toString();
  ASSERT_EQ(entries->size(), 60u);
  for (const PayloadEntry& e : *entries) {
    ASSERT_EQ(e.inputs.size(), 1u) << "the excluded tensor is left out";
    const Tensor* input = e.inputs.find("input");
    ASSERT_NE(input, nullptr);
    EXPECT_EQ(input->data<float>()[1], 2.0f);
    EXPECT_TRUE(std::isnan(input->data<float>()[2])) << "the masked column";
    EXPECT_EQ(e.masked_features, masked);
    EXPECT_EQ(e.outputs.find("y")->data<float>()[1], 4.0f);
  }
  EXPECT_THAT(entries->back().request_id, "given");
  EXPECT_THAT((*entries)[58].request_id, StartsWith("gen-"));
}

TEST(PayloadLog, AFullBatchIsWrittenWithoutAFlush) {
  auto storage = std::make_shared<testing::MapStorage>();
  PayloadLogOptions options = untimed();
  options.batch_entries = 3;
  PayloadLog log(storage, options, nullptr);
  auto counts = log.counts("pumps");
  for (int i = 0; i < 3; ++i) {
    log.offer(entry("pumps", "1", std::to_string(i)), *counts);
  }
  // The writer was woken by the third entry; wait for it without a flush, bounded.
  for (int tries = 0; tries < 6000 && counts->logged.load() < 3; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(counts->logged.load(), 3u);
}

TEST(PayloadLog, AFullQueueDropsAndCountsWhatItCannotHold) {
  auto storage = std::make_shared<testing::MapStorage>();
  PayloadLogOptions options = untimed();
  options.queue_entries = 3;
  PayloadLog log(storage, options, nullptr);
  auto counts = log.counts("pumps");
  int accepted = 0;
  for (int i = 0; i < 5; ++i) {
    accepted += log.offer(entry("pumps", "1", std::to_string(i)), *counts) ? 1 : 0;
  }
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(counts->dropped.load(), 2u);
  log.flush();
  EXPECT_EQ(counts->logged.load(), 3u);
  EXPECT_THAT(log.prometheusMetrics(),
              HasSubstr("aimass_payload_log_dropped_total{model=\"pumps\"} 2\n"));
  // Room again once written.
  EXPECT_TRUE(log.offer(entry("pumps", "1", "again"), *counts));
}

TEST(PayloadLog, StopWritesWhatIsQueuedAndLaterEntriesAreDropped) {
  auto storage = std::make_shared<testing::MapStorage>();
  PayloadLog log(storage, untimed(), nullptr);
  auto counts = log.counts("pumps");
  for (int i = 0; i < 4; ++i) {
    log.offer(entry("pumps", "1", std::to_string(i)), *counts);
  }
  log.stop();
  auto written = records(*storage, "pumps");
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].entries, 4u);
  EXPECT_FALSE(log.offer(entry("pumps", "1", "late"), *counts));
  EXPECT_EQ(counts->dropped.load(), 1u);
  log.flush();  // returns at once: nothing is pending
  log.stop();   // idempotent
}

TEST(PayloadLog, TheOldestRecordsGoOnceAModelHoldsMoreThanMaxRows) {
  auto storage = std::make_shared<testing::MapStorage>();
  PayloadLog log(storage, untimed(), nullptr);
  log.setBounds("pumps", 5, 86400);
  auto counts = log.counts("pumps");
  std::vector<std::string> newest;
  for (int batch = 0; batch < 3; ++batch) {
    for (int i = 0; i < 3; ++i) {
      // Versions alternate: the bound is the model's, over all its versions.
      log.offer(entry("pumps", batch == 1 ? "2" : "1", std::to_string(batch * 3 + i)), *counts);
    }
    log.flush();
  }
  auto kept = readPayloads(*storage, query("pumps"));
  ASSERT_TRUE(kept.ok()) << kept.status().toString();
  ASSERT_EQ(kept->size(), 3u) << "9 logged, at most 5 kept, whole records: the newest 3";
  EXPECT_EQ(kept->front().request_id, "6");
  EXPECT_EQ(counts->trimmed.load(), 2u);
  EXPECT_EQ(counts->logged.load(), 9u);
}

TEST(PayloadLog, RecordsOlderThanMaxAgeGoEvenThoseAnotherProcessWrote) {
  auto storage = std::make_shared<testing::MapStorage>();
  // A record from 1970, and one of another model that is not this log's to trim by its bounds.
  const std::string ancient = payloadKey("pumps", "1", 1000, 2000, 1, "00000001");
  const std::string other = payloadKey("fans", "1", 1000, 2000, 1, "00000001");
  ASSERT_TRUE(storage->put(ancient, encodePayloadRecord({entry("pumps", "1", "old")})).ok());
  ASSERT_TRUE(storage->put(other, encodePayloadRecord({entry("fans", "1", "old")})).ok());
  PayloadLog log(storage, untimed(), nullptr);
  log.setBounds("pumps", 100000, 3600);
  auto counts = log.counts("pumps");
  log.offer(entry("pumps", "1", "new"), *counts);
  log.flush();
  EXPECT_EQ(storage->get(ancient).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(storage->get(other).ok());
  auto kept = readPayloads(*storage, query("pumps"));
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ(kept->front().request_id, "new");
  EXPECT_EQ(counts->trimmed.load(), 1u);
}

TEST(PayloadLog, StorageFailuresAreCountedAndLoggedAtPowersOfTwo) {
  auto storage = std::make_shared<FlakyStorage>();
  std::vector<std::string> logged;
  std::mutex mutex;
  PayloadLog log(storage, untimed(), [&](LogLevel, const std::string&, const std::string& message) {
    std::lock_guard lock(mutex);
    logged.push_back(message);
  });
  auto counts = log.counts("pumps");
  for (int i = 0; i < 5; ++i) {
    log.offer(entry("pumps", "1", std::to_string(i)), *counts);
    log.flush();
  }
  EXPECT_EQ(counts->write_failed.load(), 5u);
  EXPECT_EQ(counts->logged.load(), 0u);
  std::lock_guard lock(mutex);
  ASSERT_EQ(logged.size(), 3u) << "the 1st, 2nd and 4th failure";
  EXPECT_THAT(logged[0], HasSubstr("cannot write 1 logged payloads of model 'pumps' as "
                                   "'payloads/pumps/1/"));
  EXPECT_THAT(logged[0], HasSubstr("in flaky:test: the disk is away (1 storage failures so far)"));
  storage->failing = false;
  log.offer(entry("pumps", "1", "back"), *counts);
  log.flush();
  EXPECT_EQ(counts->logged.load(), 1u);
  EXPECT_THAT(log.prometheusMetrics(),
              HasSubstr("aimass_payload_log_write_failed_total{model=\"pumps\"} 5\n"));
}

}  // namespace
}  // namespace aimass::core
