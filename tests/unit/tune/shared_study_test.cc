// SPDX-License-Identifier: Apache-2.0
// SharedStudy: tuners (ranks) sharing one study through storage claim distinct trial numbers
// within the budget, ask the optimizer exactly as one tuner would, and take over the running
// trials of a tuner that died or went silent past its lease.
#include "tune/shared_study.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <thread>

#include "map_storage.h"
#include "study_fixtures.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using testing::MapStorage;
using tune_test::settings;
using tune_test::Uniform;

/// A tuner: its own optimizer, as each rank has.
struct Tuner {
  Tuner(std::shared_ptr<MapStorage> storage, int rank, std::string host, std::int64_t pid,
        double lease = 60) {
    SharedStudy::Options options;
    options.member.rank = rank;
    options.member.host = std::move(host);
    options.member.pid = pid;
    options.lease_seconds = lease;
    study = std::make_unique<SharedStudy>(storage, settings(), optimizer, options);
    EXPECT_TRUE(study->begin().ok());
  }
  Uniform optimizer;
  std::unique_ptr<SharedStudy> study;
};

std::optional<Trial> claim(Tuner& tuner, std::uint64_t trials) {
  auto next = tuner.study->next(trials, 0);
  EXPECT_TRUE(next.ok()) << next.status().toString();
  return next.ok() ? next->trial : std::nullopt;
}

Status finish(Tuner& tuner, const Trial& t) {
  Study::Outcome outcome;
  outcome.value = t.values[0];
  return tuner.study->finish(t.number, outcome);
}

std::int64_t deadPid() {
  const pid_t child = fork();
  if (child == 0) {
    _exit(0);
  }
  waitpid(child, nullptr, 0);
  return child;
}

TEST(SharedStudyTest, TunersClaimDistinctNumbersWithinTheBudget) {
  auto storage = std::make_shared<MapStorage>();
  Tuner a(storage, 0, "host-a", getpid());
  Tuner b(storage, 1, "host-b", getpid());
  std::set<std::uint64_t> numbers;
  for (int round = 0; round < 3; ++round) {
    for (Tuner* t : {&a, &b}) {
      if (auto trial = claim(*t, 5)) {
        EXPECT_TRUE(numbers.insert(trial->number).second) << trial->number;
        Status done = finish(*t, *trial);
        ASSERT_TRUE(done.ok()) << done.toString();
      }
    }
  }
  EXPECT_EQ(numbers, (std::set<std::uint64_t>{0, 1, 2, 3, 4}));
  auto stored = Study::read(*storage, "study");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->second.size(), 5u);
  EXPECT_EQ(stored->second[0].worker, "rank 0, pid " + std::to_string(getpid()) + " on host-a");
  EXPECT_EQ(stored->second[1].worker, "rank 1, pid " + std::to_string(getpid()) + " on host-b");
  EXPECT_EQ(a.study->counts().complete + 0, 5u);
  auto none = a.study->next(5, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->trial);
  EXPECT_FALSE(none->wait);  // nothing runs anywhere: the study is done
  EXPECT_TRUE(storage->list("tune/study/leases/")->empty());
}

TEST(SharedStudyTest, TwoTunersAskAsOneStudyWithTheSameOrderWould) {
  auto shared = std::make_shared<MapStorage>();
  Tuner a(shared, 0, "host-a", getpid());
  Tuner b(shared, 1, "host-b", getpid());
  auto alone = std::make_shared<MapStorage>();
  Uniform optimizer;
  auto study = Study::open(alone, settings(), optimizer);
  ASSERT_TRUE(study.ok());
  // A runs trials 0, 2, 4; B runs 1, 3; each finishes after the other starts.
  auto t0 = claim(a, 5), t1 = claim(b, 5);
  ASSERT_TRUE(t0 && t1);
  ASSERT_TRUE(finish(a, *t0).ok());
  auto t2 = claim(a, 5);
  ASSERT_TRUE(t2 && finish(b, *t1).ok());
  auto t3 = claim(b, 5);
  ASSERT_TRUE(t3 && finish(a, *t2).ok());
  auto t4 = claim(a, 5);
  ASSERT_TRUE(t4 && finish(b, *t3).ok() && finish(a, *t4).ok());
  std::vector<Trial> local;
  auto start = [&] { local.push_back(*(*study)->startTrial().value()); };
  auto end = [&](std::size_t i) {
    Study::Outcome outcome;
    outcome.value = local[i].values[0];
    ASSERT_TRUE((*study)->finish(local[i].number, outcome).ok());
  };
  start(), start(), end(0), start(), end(1), start(), end(2), start(), end(3), end(4);
  const std::vector<Trial*> mine = {&*t0, &*t1, &*t2, &*t3, &*t4};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(mine[i]->number, i);
    EXPECT_EQ(mine[i]->values, local[i].values) << "trial " << i;
  }
  EXPECT_EQ(shared->get("tune/study/optimizer").value(),
            alone->get("tune/study/optimizer").value());
}

TEST(SharedStudyTest, ALiveTunersTrialIsLeftToItAndItsExpiredLeaseIsTakenOver) {
  auto storage = std::make_shared<MapStorage>();
  Tuner a(storage, 0, "host-a", getpid(), 0.3);
  auto t = claim(a, 2);
  ASSERT_TRUE(t);
  {
    Tuner b(storage, 1, "host-b", getpid());
    auto next = b.study->next(1, 0);  // budget 1: only a's trial, which a holds
    ASSERT_TRUE(next.ok());
    EXPECT_FALSE(next->trial);
    EXPECT_TRUE(next->wait);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // a goes silent past its lease
  Tuner c(storage, 2, "host-c", getpid());
  auto again = claim(c, 1);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->number, t->number);
  EXPECT_EQ(again->values, t->values);  // runs again with the same values
  EXPECT_THAT(again->worker, HasSubstr("rank 2"));
  Status late = finish(a, *t);
  EXPECT_EQ(late.code(), StatusCode::kAborted);
  EXPECT_THAT(late.message(), HasSubstr("taken over by 'host-c"));
  ASSERT_TRUE(finish(c, *again).ok());
  auto stored = Study::read(*storage, "study");
  ASSERT_EQ(stored->second.size(), 1u);
  EXPECT_EQ(stored->second[0].state, Trial::State::kComplete);
}

TEST(SharedStudyTest, ATrialOfAProcessGoneFromThisHostIsTakenOverAtOnce) {
  auto storage = std::make_shared<MapStorage>();
  const std::string host = StudyMember::self(0).host;
  Tuner dead(storage, 1, host, deadPid());
  auto t = claim(dead, 3);
  ASSERT_TRUE(t);
  Tuner live(storage, 0, host, getpid());
  auto again = claim(live, 3);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->number, t->number);
}

TEST(SharedStudyTest, ARunningTrialWithoutLeaseIsTakenOver) {
  auto storage = std::make_shared<MapStorage>();
  Tuner a(storage, 0, "host-a", getpid());
  auto t = claim(a, 3);
  ASSERT_TRUE(t);
  ASSERT_TRUE(storage->remove("tune/study/leases/00000000").ok());  // killed between the writes
  Tuner b(storage, 1, "host-b", getpid());
  auto again = claim(b, 3);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->number, 0u);
}

TEST(SharedStudyTest, TheLockOfADeadProcessIsTakenAndALiveHoldersIsWaitedFor) {
  auto storage = std::make_shared<MapStorage>();
  const std::string host = StudyMember::self(0).host;
  ASSERT_TRUE(
      storage->put("tune/study/lock", host + " " + std::to_string(deadPid()) + " 99999999999")
          .ok());
  Tuner a(storage, 0, host, getpid(), 0.1);
  EXPECT_TRUE(claim(a, 3));
  ASSERT_TRUE(storage->put("tune/study/lock", "elsewhere 1 99999999999").ok());
  auto blocked = a.study->next(3, 0);
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(blocked.status().message(), HasSubstr("stayed held by 'elsewhere 1'"));
}

TEST(SharedStudyTest, HolderGoneOnlyForAMissingProcessOnThisHost) {
  const std::string host = StudyMember::self(0).host;
  EXPECT_TRUE(holderGone(host + " " + std::to_string(deadPid()), host));
  EXPECT_FALSE(holderGone(host + " " + std::to_string(getpid()), host));
  EXPECT_FALSE(holderGone("other-host " + std::to_string(deadPid()), host));
  EXPECT_FALSE(holderGone("garbage", host));
  const pid_t zombie = fork();  // ended, not reaped yet
  if (zombie == 0) {
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(holderGone(host + " " + std::to_string(zombie), host));
  waitpid(zombie, nullptr, 0);
}

}  // namespace
}  // namespace aimass::core
