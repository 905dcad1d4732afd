// SPDX-License-Identifier: Apache-2.0
// The serving runtime's dynamic batching (core/src/serving.cc), without a frontend: which
// requests share a Model::predict call, how every request gets back its own rows, what fails a
// batch, and what dispatches one. A Gate holds the worker inside predict() so that the requests
// behind it queue in a known order; no test depends on timing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "runtime_test_fixture.h"

namespace aimass::core::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class BatchingTest : public RuntimeTest {
 protected:
  /// Sends `requests` to a ScaleModel batched by `options`, each once those before it wait in
  /// the queue, and returns the rows of each of the model's predict() calls once every request
  /// is answered (empty when one is not within kPatience).
  std::vector<std::int64_t> batchesFor(const BatchingOptions& options,
                                       std::vector<Tensor> requests) {
    auto model = std::make_shared<ScaleModel>(1);
    runtime_.add("scale", "1", model);
    runtime_.setBatching("", options);
    std::vector<Answer*> sent;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (i > 0 && !awaitPending("scale", static_cast<std::int64_t>(i))) {
        return {};
      }
      sent.push_back(&send("scale", std::move(requests[i])));
    }
    if (!awaitAnswers(requests.size())) {
      return {};
    }
    for (const Answer* answer : sent) {
      EXPECT_TRUE(answer->status.ok()) << answer->status.toString();
    }
    return model->calls();
  }
};

TEST_F(BatchingTest, RequestsOfSeveralRowsShareOneBatchAndEachGetsItsOwnRows) {
  auto model = std::make_shared<ScaleModel>(3, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(16);

  std::vector<Answer*> sent;
  ASSERT_TRUE(holdOneAndQueue(
      "scale", rows({{0, 0}}),
      {rows({{1, 2}, {3, 4}}), rows({{5, 6}, {7, 8}, {9, 10}}), rows({{11, 12}})}, sent));
  Answer& a = *sent[0];
  Answer& b = *sent[1];
  Answer& c = *sent[2];
  Answer& d = *sent[3];
  gate_.open();
  ASSERT_TRUE(awaitAnswers(4));

  // The three queued requests went to the model as one batch of six rows.
  EXPECT_THAT(model->calls(), ElementsAre(1, 6));
  for (const Answer* answer : {&a, &b, &c, &d}) {
    ASSERT_TRUE(answer->status.ok()) << answer->status.toString();
  }
  EXPECT_EQ(values(b, "y"), (std::vector<float>{3, 6, 9, 12}));
  EXPECT_EQ(values(c, "y"), (std::vector<float>{15, 18, 21, 24, 27, 30}));
  EXPECT_EQ(values(d, "y"), (std::vector<float>{33, 36}));
  EXPECT_EQ(c.outputs.find("y")->shape(), (Shape{3, 2}));
  EXPECT_EQ(c.outputs.find("version")->shape(), (Shape{3}));
  EXPECT_EQ(c.outputs.find("text")->shape(), (Shape{3, 2}));
  EXPECT_THAT(c.outputs.find("text")->strings(), ElementsAre("5", "v3", "7", "v3", "9", "v3"));
  EXPECT_THAT(d.outputs.find("text")->strings(), ElementsAre("11", "v3"));

  ModelStatistics stats = statisticsOf("scale");
  EXPECT_EQ(stats.inference_count, 7u);
  EXPECT_EQ(stats.execution_count, 2u);
  EXPECT_EQ(stats.success.count, 4u);
  EXPECT_EQ(stats.queue.count, 4u);
  ASSERT_EQ(stats.batch_stats.size(), 2u);
  EXPECT_EQ(stats.batch_stats[0].batch_size, 1);
  EXPECT_EQ(stats.batch_stats[1].batch_size, 6);
  // Each successful request is one observation of the latency histogram, in some bucket.
  const std::string metrics = runtime_.prometheusMetrics();
  EXPECT_THAT(metrics, HasSubstr("# TYPE aimass_inference_request_latency_seconds histogram\n"));
  EXPECT_THAT(metrics, HasSubstr("aimass_inference_request_latency_seconds_bucket{model=\"scale\","
                                 "version=\"1\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(metrics, HasSubstr("aimass_inference_request_latency_seconds_count{model=\"scale\","
                                 "version=\"1\"} 4\n"));
}

TEST_F(BatchingTest, ARequestOfMoreRowsThanMaxBatchSizeRunsAloneAndTheQueueKeepsItsOrder) {
  auto model = std::make_shared<ScaleModel>(2, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(4);

  std::vector<Answer*> sent;
  ASSERT_TRUE(holdOneAndQueue(
      "scale", rows({{0, 0}}),
      {rows({{1, 1}}), rows({{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}}), rows({{2, 2}})},
      sent));
  Answer& small_before = *sent[1];
  Answer& large = *sent[2];
  Answer& small_after = *sent[3];
  gate_.open();
  ASSERT_TRUE(awaitAnswers(4));

  // The six rows do not fit beside another request, nor in max_batch_size: they run alone, and
  // the request behind them is not moved ahead to join the one before.
  EXPECT_THAT(model->calls(), ElementsAre(1, 1, 6, 1));
  ASSERT_TRUE(large.status.ok()) << large.status.toString();
  EXPECT_EQ(values(large, "y"), (std::vector<float>{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24}));
  EXPECT_EQ(values(small_before, "y"), (std::vector<float>{2, 2}));
  EXPECT_EQ(values(small_after, "y"), (std::vector<float>{4, 4}));
}

TEST_F(BatchingTest, RequestsThatCannotBeStackedRunInSeparateBatchesInTheirOrder) {
  auto model = std::make_shared<ScaleModel>(1, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(16);

  std::vector<Answer*> sent;
  ASSERT_TRUE(holdOneAndQueue(
      "scale", rows({{0, 0}}),
      {rows({{1, 2}}), rows({{3, 4, 5}}), rows({{6, 7, 8}, {9, 10, 11}}), rows({{12, 14}})}, sent));
  Answer& two = *sent[1];
  Answer& three = *sent[2];
  Answer& three_again = *sent[3];
  Answer& two_again = *sent[4];
  gate_.open();
  ASSERT_TRUE(awaitAnswers(5));

  // Widths 2 | 3, 3 | 2: only the neighbours of equal width share a batch.
  EXPECT_THAT(model->calls(), ElementsAre(1, 1, 3, 1));
  EXPECT_EQ(values(two, "y"), (std::vector<float>{1, 2}));
  EXPECT_EQ(values(three, "y"), (std::vector<float>{3, 4, 5}));
  EXPECT_EQ(values(three_again, "y"), (std::vector<float>{6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(values(two_again, "y"), (std::vector<float>{12, 14}));
}

// Text inputs are stacked and cut back like numbers; a request without the optional input
// differs in its inputs, so it does not share a batch with requests that have it.
TEST_F(BatchingTest, TextInputsAreStackedAndAnOptionalInputLeftOutStartsAnotherBatch) {
  auto model = std::make_shared<ScaleModel>(1, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(16);

  auto tagged = [](Tensor x, std::vector<std::string> tags) {
    TensorMap inputs = only(std::move(x));
    inputs.set("tag", Tensor::fromStrings(std::move(tags)));
    return inputs;
  };
  std::vector<Answer*> sent;
  ASSERT_TRUE(holdOneAndQueue("scale", rows({{0}}),
                              {tagged(rows({{1}, {2}}), {"a", "b"}), tagged(rows({{3}}), {"c"}),
                               only(rows({{4}})), tagged(rows({{5}}), {"d"})},
                              sent));
  gate_.open();
  ASSERT_TRUE(awaitAnswers(5));

  EXPECT_THAT(model->calls(), ElementsAre(1, 3, 1, 1));
  for (const Answer* answer : sent) {
    ASSERT_TRUE(answer->status.ok()) << answer->status.toString();
  }
  EXPECT_THAT(sent[1]->outputs.find("text")->strings(), ElementsAre("a", "v1", "b", "v1"));
  EXPECT_THAT(sent[2]->outputs.find("text")->strings(), ElementsAre("c", "v1"));
  EXPECT_THAT(sent[3]->outputs.find("text")->strings(), ElementsAre("4", "v1"));
  EXPECT_THAT(sent[4]->outputs.find("text")->strings(), ElementsAre("d", "v1"));
}

TEST_F(BatchingTest, AnOutputWithoutTheBatchDimensionFailsTheBatchNamingTheOutput) {
  auto model = std::make_shared<SumModel>(/*fixed_schema=*/false);
  model->gate = &gate_;
  runtime_.add("sum", "1", model);
  batchEverything(8);

  std::vector<Answer*> sent;
  ASSERT_TRUE(holdOneAndQueue("sum", rows({{1}}), {rows({{2}}), rows({{3}})}, sent));
  Answer& alone = *sent[0];
  Answer& b = *sent[1];
  Answer& c = *sent[2];
  gate_.open();
  ASSERT_TRUE(awaitAnswers(3));

  EXPECT_TRUE(alone.status.ok()) << alone.status.toString();
  for (const Answer* answer : {&b, &c}) {
    EXPECT_EQ(answer->status.code(), StatusCode::kInternal);
    EXPECT_THAT(answer->status.message(),
                HasSubstr("model 'sum' answered a batch of 2 rows with output 'total' of shape "
                          "[1]; its first dimension must be the batch"));
    EXPECT_THAT(answer->status.message(), HasSubstr("set max_batch_size 0"));
    EXPECT_EQ(answer->failure, InferFailure::kBackend);
    EXPECT_TRUE(answer->outputs.empty());
  }
  EXPECT_EQ(failures(statisticsOf("sum"), "backend"), 2u);
}

TEST_F(BatchingTest, AModelWithoutABatchDimensionRunsOnTheCallersThread) {
  auto fixed = std::make_shared<SumModel>(/*fixed_schema=*/true);
  auto scaled = std::make_shared<ScaleModel>(1);
  runtime_.add("fixed", "1", fixed);
  runtime_.add("scale", "1", scaled);
  batchEverything(8);

  Answer sum = inferNow("fixed", rows({{1}, {2}}));
  ASSERT_TRUE(sum.status.ok()) << sum.status.toString();
  EXPECT_EQ(values(sum, "total"), (std::vector<float>{3}));
  EXPECT_THAT(fixed->threads(), ElementsAre(std::this_thread::get_id()));
  // A batched model of the same runtime runs on its queue's worker instead.
  ASSERT_TRUE(inferNow("scale", rows({{1}})).status.ok());
  ASSERT_EQ(scaled->threads().size(), 1u);
  EXPECT_NE(scaled->threads()[0], std::this_thread::get_id());
}

TEST_F(BatchingTest, ABatchThatFailsAsAWholeFailsEveryRequestInIt) {
  auto model = std::make_shared<ScaleModel>(1, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(8);

  std::vector<Answer*> sent;
  ASSERT_TRUE(holdOneAndQueue("scale", rows({{0}}), {rows({{1}}), rows({{99}})}, sent));
  Answer& b = *sent[1];
  Answer& c = *sent[2];
  gate_.open();
  ASSERT_TRUE(awaitAnswers(3));

  EXPECT_THAT(model->calls(), ElementsAre(1, 2));
  for (const Answer* answer : {&b, &c}) {
    EXPECT_EQ(answer->status.code(), StatusCode::kInternal);
    EXPECT_THAT(answer->status.message(), HasSubstr("the device failed"));
    EXPECT_EQ(answer->failure, InferFailure::kBackend);
  }
  ModelStatistics stats = statisticsOf("scale");
  EXPECT_EQ(stats.success.count, 1u);
  EXPECT_EQ(stats.fail.count, 2u);
  EXPECT_EQ(failures(stats, "backend"), 2u);
}

// A model may refuse what one request's rows hold (kInvalidArgument). That request alone fails,
// told about its own rows; the others of its batch get their answers. (Before, every request
// of the batch failed with the model's message, which counted rows of the whole batch.)
TEST_F(BatchingTest, ARowTheModelRefusesFailsOnlyTheRequestThatSentIt) {
  auto model = std::make_shared<ScaleModel>(2, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(8);

  std::vector<Answer*> sent;
  ASSERT_TRUE(
      holdOneAndQueue("scale", rows({{0}}), {rows({{1}}), rows({{13}}), rows({{2}, {3}})}, sent));
  Answer& before = *sent[1];
  Answer& refused = *sent[2];
  Answer& after = *sent[3];
  gate_.open();
  ASSERT_TRUE(awaitAnswers(4));

  ASSERT_TRUE(before.status.ok()) << before.status.toString();
  ASSERT_TRUE(after.status.ok()) << after.status.toString();
  EXPECT_EQ(values(before, "y"), (std::vector<float>{2}));
  EXPECT_EQ(values(after, "y"), (std::vector<float>{4, 6}));
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status.message(), "row 0 of 'x' holds 13");
  EXPECT_EQ(refused.failure, InferFailure::kInvalid);
  // The batch of four rows, then each of its requests alone.
  EXPECT_THAT(model->calls(), ElementsAre(1, 4, 1, 1, 2));

  ModelStatistics stats = statisticsOf("scale");
  EXPECT_EQ(stats.success.count, 3u);
  EXPECT_EQ(failures(stats, "invalid"), 1u);
  EXPECT_EQ(failures(stats, "backend"), 0u);
  EXPECT_EQ(stats.queue.count, 4u);  // each request counted once
}

TEST_F(BatchingTest, TheModelsOwnRefusalOfALoneRequestCountsAsInvalid) {
  runtime_.add("scale", "1", std::make_shared<ScaleModel>(1));
  batchEverything(8);
  Answer refused = inferNow("scale", rows({{13}}));
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.failure, InferFailure::kInvalid);
  EXPECT_EQ(failures(statisticsOf("scale"), "invalid"), 1u);
}

BatchingOptions withDelay(std::int64_t max_batch_size, std::vector<std::int64_t> preferred,
                          std::int64_t max_queue_delay_us) {
  BatchingOptions options;
  options.max_batch_size = max_batch_size;
  options.preferred_batch_sizes = std::move(preferred);
  options.max_queue_delay_us = max_queue_delay_us;
  return options;
}

TEST_F(BatchingTest, TheServingPrecisionReachesEveryBatchAndARequestsOwnWins) {
  auto model = std::make_shared<ScaleModel>(2, &gate_);
  runtime_.add("scale", "1", model);
  batchEverything(16);
  runtime_.setPrecision("scale", "bf16");  // remakes the version with a fresh queue
  std::vector<Answer*> sent;
  ASSERT_TRUE(holdOneAndQueue("scale", rows({{1}}), {only(rows({{2}})), only(rows({{3}}))}, sent));
  gate_.open();
  ASSERT_TRUE(awaitAnswers(3));
  for (const Answer* answer : sent) {
    ASSERT_TRUE(answer->status.ok()) << answer->status.toString();
  }
  // The two queued requests still share one batch, which runs in the model's precision.
  EXPECT_THAT(model->calls(), ElementsAre(1, 2));
  EXPECT_THAT(model->precisions(), ElementsAre("bf16", "bf16"));
  // A request naming its own precision runs alone, in it.
  PredictOptions own;
  own.parameters.emplace_back("precision", "fp32");
  Answer alone = inferNow("scale", only(rows({{4}})), own);
  ASSERT_TRUE(alone.status.ok()) << alone.status.toString();
  EXPECT_EQ(model->precisions().back(), "fp32");
  // Back to the default: no parameter at all.
  runtime_.setPrecision("", "fp32");
  runtime_.setPrecision("scale", "fp32");
  ASSERT_TRUE(inferNow("scale", only(rows({{5}}))).status.ok());
  EXPECT_EQ(model->precisions().back(), "");
}

TEST_F(BatchingTest, ThePreferredBatchSizeDispatchesWithoutWaitingOutTheDelay) {
  // The largest preferred size counts.
  EXPECT_THAT(batchesFor(withDelay(8, {2, 3}, kAnHourInMicroseconds),
                         {rows({{1}}), rows({{2}}), rows({{3}})}),
              ElementsAre(3));
}

TEST_F(BatchingTest, MaxBatchSizeRowsDispatchWithoutWaitingOutTheDelay) {
  // A preferred size above max_batch_size: max_batch_size counts.
  EXPECT_THAT(batchesFor(withDelay(4, {100}, kAnHourInMicroseconds),
                         {rows({{1}}), rows({{2}, {3}}), rows({{4}})}),
              ElementsAre(4));
}

TEST_F(BatchingTest, ALoneRequestIsDispatchedOnceItWaitedMaxQueueDelay) {
  // Neither max_batch_size nor a preferred size is ever reached: only the delay dispatches it.
  EXPECT_THAT(batchesFor(withDelay(8, {}, 1000), {rows({{5}})}), ElementsAre(1));
}

}  // namespace
}  // namespace aimass::core::testing
