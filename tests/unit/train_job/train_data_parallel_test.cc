// SPDX-License-Identifier: Apache-2.0
// Data-parallel job.train over an in-process collective: ranks are threads here, so the
// trainer's sharding, gradient averaging, agreement on stops and rank-0-only saving are tested
// without MPI (tests/integration runs the same under mpirun with collective.mpi).
#include "train_data_parallel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <barrier>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "train_fakes.h"
#include "train_job.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using namespace train_fakes;  // NOLINT(google-build-using-namespace): the shared fakes

/// The ranks of one job as threads: every call meets the others at a barrier, then each rank
/// reads what all of them put in their slots (in rank order, so sums are the same on every
/// rank).
class ThreadGroup {
 public:
  explicit ThreadGroup(int ranks) : ranks_(ranks), barrier_(ranks), slots_(ranks) {}

  /// Puts `mine` in this rank's slot, waits for all, calls `read(slots)`, waits again so no
  /// slot is overwritten while another rank still reads it.
  void exchange(int rank, std::span<const std::byte> mine,
                const std::function<void(const std::vector<std::vector<std::byte>>&)>& read) {
    slots_[rank].assign(mine.begin(), mine.end());
    barrier_.arrive_and_wait();
    read(slots_);
    barrier_.arrive_and_wait();
  }
  int ranks() const { return ranks_; }

 private:
  int ranks_;
  std::barrier<> barrier_;
  std::vector<std::vector<std::byte>> slots_;
};

class ThreadCollective final : public Collective {
 public:
  ThreadCollective(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.ranks(); }
  int localRank() const override { return rank_; }
  Status allreduce(std::span<float> data, ReduceOp op) override { return reduce(data, op); }
  Status allreduce(std::span<double> data, ReduceOp op) override { return reduce(data, op); }
  Status allreduceBf16(std::span<std::uint16_t>, ReduceOp) override {
    return unimplemented("not used by the trainer");
  }
  Status broadcast(std::span<std::byte> data, int root) override {
    group_.exchange(rank_, data, [&](const auto& slots) {
      std::memcpy(data.data(), slots[root].data(), data.size());
    });
    return Status();
  }
  Status allgather(std::span<const std::byte> mine, std::span<std::byte> all) override {
    group_.exchange(rank_, mine, [&](const auto& slots) {
      for (std::size_t r = 0; r < slots.size(); ++r) {
        std::memcpy(all.data() + r * mine.size(), slots[r].data(), mine.size());
      }
    });
    return Status();
  }
  Status barrier() override {
    group_.exchange(rank_, {}, [](const auto&) {});
    return Status();
  }

 private:
  template <typename T>
  Status reduce(std::span<T> data, ReduceOp op) {
    if (op != ReduceOp::kSum && op != ReduceOp::kMax) {
      return unimplemented("only sum and max are used by the trainer");
    }
    group_.exchange(rank_, std::as_bytes(data), [&](const auto& slots) {
      for (std::size_t i = 0; i < data.size(); ++i) {
        T result = op == ReduceOp::kSum ? T(0) : reinterpret_cast<const T*>(slots[0].data())[i];
        for (const auto& slot : slots) {
          const T v = reinterpret_cast<const T*>(slot.data())[i];
          result = op == ReduceOp::kSum ? result + v : std::max(result, v);
        }
        data[i] = result;
      }
    });
    ++calls;
    return Status();
  }

  ThreadGroup& group_;
  int rank_;

 public:
  int calls = 0;
};

TEST(BatchSlice, TheRanksCoverEveryRowOfAnEpochOnce) {
  for (int ranks : {1, 2, 3}) {
    for (std::size_t total : {1U, 7U, 48U, 50U}) {
      std::multiset<std::size_t> seen;
      std::size_t steps = 0;
      for (std::size_t position = 0; position < total; ++steps) {
        std::size_t next = 0;
        for (int r = 0; r < ranks; ++r) {
          const BatchSlice slice = batchSlice(position, total, 8, r, ranks);
          EXPECT_LE(slice.end - slice.begin, 8U);
          for (std::size_t i = slice.begin; i < slice.end; ++i) {
            seen.insert(i);
          }
          next = slice.global_end;
        }
        position = next;
      }
      EXPECT_EQ(seen.size(), total) << ranks << " ranks, " << total << " rows";
      EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), total);
      EXPECT_EQ(steps, (total + 8 * ranks - 1) / (8 * ranks));
    }
  }
}

TEST(BatchSlice, TheLastShortGlobalBatchLeavesLaterRanksEmpty) {
  // 20 rows, 2 ranks of 8: the second global batch has rows 16..19, all on rank 0.
  const BatchSlice first = batchSlice(16, 20, 8, 0, 2);
  const BatchSlice second = batchSlice(16, 20, 8, 1, 2);
  EXPECT_EQ(first.begin, 16U);
  EXPECT_EQ(first.end, 20U);
  EXPECT_EQ(second.begin, second.end);
  EXPECT_EQ(second.global_end, 20U);
}

TEST(ValidationShare, SharesCoverTheRowsOnceWithTheRemainderFirst) {
  EXPECT_EQ(validationShare(10, 0, 3).begin, 0U);
  EXPECT_EQ(validationShare(10, 0, 3).end, 4U);
  EXPECT_EQ(validationShare(10, 1, 3).begin, 4U);
  EXPECT_EQ(validationShare(10, 1, 3).end, 7U);
  EXPECT_EQ(validationShare(10, 2, 3).begin, 7U);
  EXPECT_EQ(validationShare(10, 2, 3).end, 10U);
  EXPECT_EQ(validationShare(1, 1, 2).begin, validationShare(1, 1, 2).end);
}

TEST(DataParallel, GradientsBecomeTheRowWeightedMeanInSmallBuckets) {
  ThreadGroup group(2);
  std::vector<float> results[2];
  auto rank = [&](int r) {
    auto collective = std::make_shared<ThreadCollective>(group, r);
    DataParallel parallel(collective, 3 * sizeof(float));  // 7 values: 3 buckets
    std::vector<Parameter> parameters(2);
    parameters[0].grad = Tensor::fromVector<float>({1, 2, 3, 4}, {4});
    parameters[1].grad = Tensor::fromVector<float>({5, 6, 7}, {3});
    if (r == 1) {
      for (auto& p : parameters) {
        for (float& g : p.grad.span<float>()) {
          g *= 10;
        }
      }
    }
    // rank 0 trained on 3 rows, rank 1 on 1: the mean weights them 3/4 and 1/4.
    ASSERT_TRUE(parallel.reduceGradients(parameters, r == 0 ? 3 : 1, 4).ok());
    EXPECT_EQ(collective->calls, 3);
    for (auto& p : parameters) {
      for (float g : p.grad.span<float>()) {
        results[r].push_back(g);
      }
    }
  };
  std::thread other(rank, 1);
  rank(0);
  other.join();
  const std::vector<float> expected{3.25F, 6.5F, 9.75F, 13, 16.25F, 19.5F, 22.75F};
  EXPECT_EQ(results[0], expected);
  EXPECT_EQ(results[1], expected);
}

TEST(DataParallel, ARankWithoutRowsAddsZeros) {
  ThreadGroup group(2);
  std::vector<float> result;
  auto rank = [&](int r) {
    DataParallel parallel(std::make_shared<ThreadCollective>(group, r), 1024);
    std::vector<Parameter> parameters(1);
    // rank 1's gradients are stale garbage from an earlier step: they must not count.
    parameters[0].grad = Tensor::fromVector<float>({r == 0 ? 2.0F : 1e30F}, {1});
    ASSERT_TRUE(parallel.reduceGradients(parameters, r == 0 ? 5 : 0, 5).ok());
    if (r == 0) {
      result.assign(parameters[0].grad.span<float>().begin(),
                    parameters[0].grad.span<float>().end());
    }
  };
  std::thread other(rank, 1);
  rank(0);
  other.join();
  EXPECT_EQ(result, std::vector<float>{2.0F});
}

/// A rig per rank, each with its own model, optimizer, storage and host, sharing the data.
struct Ranks {
  explicit Ranks(int n) : group(n) {
    for (int r = 0; r < n; ++r) {
      rigs.push_back(std::make_unique<Rig>());
    }
  }
  /// Runs job.train on every rank (each on its own thread), batch_size rows a rank.
  std::vector<Status> train(TrainOptions options, std::uint64_t stop_rank1_after = 0) {
    std::vector<Status> outcomes(rigs.size());
    std::vector<std::thread> threads;
    for (std::size_t r = 0; r < rigs.size(); ++r) {
      threads.emplace_back([&, r] {
        Rig& rig = *rigs[r];
        if (r == 1) {
          rig.host.stop_after = stop_rank1_after;
        }
        TrainTargets targets = rig.targets();
        targets.collective = std::make_shared<ThreadCollective>(group, static_cast<int>(r));
        auto job = TrainJob::create("train", std::move(targets), options);
        outcomes[r] = job.ok() ? (*job)->run(rig.host, rig.progress) : job.status();
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    return outcomes;
  }
  ThreadGroup group;
  std::vector<std::unique_ptr<Rig>> rigs;
};

std::vector<float> weightsOf(TinySoftmax& model) {
  auto parameters = model.parameters();
  auto values = parameters[0].value.span<float>();
  return {values.begin(), values.end()};
}

void expectNear(const std::vector<float>& a, const std::vector<float>& b, float tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i], b[i], tolerance) << "element " << i;
  }
}

TrainOptions parallelOptions(std::uint64_t batch_size) {
  TrainOptions options = quickOptions();  // 200 rows, 50 held out: 150 to train on
  options.batch_size = batch_size;
  options.track = false;
  return options;
}

TEST(DataParallelTraining, TwoRanksFollowTheOneRankRunOfTheSameGlobalBatch) {
  Rig single;
  auto job = single.job(parallelOptions(16));
  ASSERT_TRUE(job->run(single.host, single.progress).ok());

  Ranks ranks(2);
  for (const Status& outcome : ranks.train(parallelOptions(8))) {
    ASSERT_TRUE(outcome.ok()) << outcome.toString();
  }
  // 150 rows in global batches of 16: 10 steps an epoch on every rank, as in one process.
  for (auto& rig : ranks.rigs) {
    EXPECT_EQ(rig->optimizer->steps, single.optimizer->steps);
    ASSERT_EQ(rig->optimizer->grad_norms.size(), single.optimizer->grad_norms.size());
    for (std::size_t i = 0; i < single.optimizer->grad_norms.size(); ++i) {
      EXPECT_NEAR(rig->optimizer->grad_norms[i], single.optimizer->grad_norms[i], 1e-5) << i;
    }
    expectNear(weightsOf(*rig->model), weightsOf(*single.model), 1e-5F);
  }
  // Each rank read only its own slices: together, every training row once an epoch.
  // Rank 0: 30 steps, 3 validation passes over its 25 of the 50 held-out rows (4 batches),
  // and one read of the training rows for the training-data profile, which the leader alone
  // makes and saves.
  EXPECT_EQ(ranks.rigs[0]->data->reads.size(), 30U + 3U * 4U + 1U);
  // Validation is shared out: the figures are those of the single process.
  EXPECT_NEAR(ranks.rigs[0]->progress.last_figures.at("loss"),
              single.progress.last_figures.at("loss"), 1e-6);
}

TEST(DataParallelTraining, OnlyRankZeroSavesAndShowsProgress) {
  Ranks ranks(2);
  for (const Status& outcome : ranks.train(parallelOptions(8))) {
    ASSERT_TRUE(outcome.ok()) << outcome.toString();
  }
  EXPECT_EQ(ranks.rigs[0]->storage->values.count("models/clf/model.aimass"), 1U);
  EXPECT_TRUE(ranks.rigs[1]->storage->values.empty());
  EXPECT_FALSE(ranks.rigs[0]->progress.phases.empty());
  EXPECT_TRUE(ranks.rigs[1]->progress.phases.empty());
  EXPECT_THAT(ranks.rigs[1]->host.lines.back(), HasSubstr("trained on rank 1; rank 0 saves it"));
}

TEST(DataParallelTraining, AStopOnOneRankStopsBothAtTheSameStepAndAnotherCountResumes) {
  Rig uninterrupted;
  auto job = uninterrupted.job(parallelOptions(16));
  ASSERT_TRUE(job->run(uninterrupted.host, uninterrupted.progress).ok());

  Ranks ranks(2);
  const auto outcomes = ranks.train(parallelOptions(8), /*stop_rank1_after=*/14);
  for (const Status& outcome : outcomes) {
    EXPECT_EQ(outcome.code(), StatusCode::kCancelled) << outcome.toString();
  }
  EXPECT_EQ(ranks.rigs[0]->optimizer->steps, ranks.rigs[1]->optimizer->steps);
  EXPECT_EQ(ranks.rigs[0]->optimizer->steps, 13U);
  ASSERT_EQ(ranks.rigs[0]->storage->values.count(checkpointKey("train")), 1U);
  EXPECT_EQ(ranks.rigs[1]->storage->values.count(checkpointKey("train")), 0U);

  // Shrink to one rank with the same global batch (1 x 16 = 2 x 8): the checkpoint matches and
  // the run ends with the uninterrupted run's model.
  Rig resumed;
  resumed.storage = ranks.rigs[0]->storage;
  auto again = resumed.job(parallelOptions(16));
  ASSERT_TRUE(again->run(resumed.host, resumed.progress).ok());
  EXPECT_THAT(resumed.host.lines, ::testing::Contains(HasSubstr("after step 3/10")));
  EXPECT_EQ(resumed.optimizer->steps, 30U - 13U);
  expectNear(weightsOf(*resumed.model), weightsOf(*uninterrupted.model), 1e-5F);
}

TEST(DataParallelTraining, AnotherGlobalBatchIsAnotherRun) {
  Ranks ranks(2);
  ranks.train(parallelOptions(8), /*stop_rank1_after=*/5);
  Rig resumed;
  resumed.storage = ranks.rigs[0]->storage;
  auto again = resumed.job(parallelOptions(8));  // 1 x 8 is not 2 x 8
  ASSERT_TRUE(again->run(resumed.host, resumed.progress).ok());
  EXPECT_THAT(resumed.host.warnings,
              ::testing::Contains(HasSubstr("written by a run with another configuration")));
}

TEST(DataParallelTraining, AModelThatFitsItselfIsRefused) {
  ThreadGroup group(2);
  Rig rig;
  TrainTargets targets = rig.targets();
  targets.model = std::make_shared<MeanModel>();
  targets.optimizer = nullptr;
  targets.collective = std::make_shared<ThreadCollective>(group, 0);
  auto job = TrainJob::create("train", std::move(targets), parallelOptions(8));
  ASSERT_FALSE(job.ok());
  EXPECT_THAT(job.status().message(), HasSubstr("cannot train data-parallel over the 2 ranks"));
}

TEST(DataParallelTraining, LinearScalingMultipliesTheRateByTheRanks) {
  Ranks ranks(2);
  TrainOptions options = parallelOptions(8);
  options.lr_scale_linear = true;
  for (const Status& outcome : ranks.train(options)) {
    ASSERT_TRUE(outcome.ok()) << outcome.toString();
  }
  ASSERT_FALSE(ranks.rigs[1]->optimizer->rates.empty());
  EXPECT_DOUBLE_EQ(ranks.rigs[1]->optimizer->rates.front(), 1.0);  // 0.5 x 2
  EXPECT_DOUBLE_EQ(ranks.rigs[1]->optimizer->rate, 0.5);          // restored at the end
}

}  // namespace
}  // namespace aimass::core
