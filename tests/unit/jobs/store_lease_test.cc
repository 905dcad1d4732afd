// SPDX-License-Identifier: Apache-2.0
// Leases in storage (core/src/store_lease.h), as the job service's scheduler lease uses them:
// taken when free, expired or held by a process gone from this host; left to a live holder;
// renewed only by its holder; released on a clean stop. Expiry is written into the store
// rather than waited for.
#include "store_lease.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "map_storage.h"

namespace aimass::core {
namespace {

const std::string kKey = "jobs/scheduler";

class StoreLeaseTest : public ::testing::Test {
 protected:
  std::shared_ptr<testing::MapStorage> storage_ = std::make_shared<testing::MapStorage>();

  void holdAs(const std::string& token, double expiry) {
    ASSERT_TRUE(storage_->put(kKey, LeaseValue{token, expiry}.text()).ok());
  }
  std::string stored() { return storage_->get(kKey).value(); }
};

TEST_F(StoreLeaseTest, AFreeLeaseIsTakenOnceAndRenewedByItsHolderOnly) {
  StoreLease mine(storage_, kKey, 30, "host-a 1");
  StoreLease theirs(storage_, kKey, 30, "host-b 2");
  ASSERT_TRUE(mine.acquire().value());
  EXPECT_TRUE(mine.held());
  EXPECT_EQ(LeaseValue::parse(stored()).token, "host-a 1");
  EXPECT_GT(LeaseValue::parse(stored()).expiry, wallSeconds() + 20);
  EXPECT_FALSE(theirs.acquire().value());
  EXPECT_FALSE(theirs.held());
  EXPECT_EQ(theirs.lastHolder(), "host-a 1");
  EXPECT_FALSE(theirs.renew().value());  // never taken
  EXPECT_TRUE(mine.renew().value());
  EXPECT_TRUE(mine.acquire().value());  // holding it already: renews
}

TEST_F(StoreLeaseTest, AnExpiredLeaseIsTakenAndItsFormerHolderLearnsItLostIt) {
  StoreLease mine(storage_, kKey, 30, "host-a 1");
  ASSERT_TRUE(mine.acquire().value());
  // host-a stopped renewing: its lease ran out, and host-b takes it.
  holdAs("host-a 1", wallSeconds() - 1);
  StoreLease theirs(storage_, kKey, 30, "host-b 2");
  ASSERT_TRUE(theirs.acquire().value());
  EXPECT_FALSE(mine.renew().value());
  EXPECT_FALSE(mine.held());
  EXPECT_EQ(mine.lastHolder(), "host-b 2");
  EXPECT_EQ(LeaseValue::parse(stored()).token, "host-b 2");
}

TEST_F(StoreLeaseTest, ALiveHolderOnAnotherHostKeepsItUntilItExpires) {
  holdAs("elsewhere 1", wallSeconds() + 60);
  StoreLease mine(storage_, kKey, 30, hostName() + " " + std::to_string(getpid()));
  EXPECT_FALSE(mine.acquire().value());
  EXPECT_EQ(mine.lastHolder(), "elsewhere 1");
}

TEST_F(StoreLeaseTest, AHolderGoneFromThisHostLosesItAtOnce) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  holdAs(hostName() + " " + std::to_string(child), wallSeconds() + 60);
  StoreLease mine(storage_, kKey, 30);
  EXPECT_TRUE(mine.acquire().value());
  EXPECT_EQ(LeaseValue::parse(stored()).token, mine.token());
}

TEST_F(StoreLeaseTest, AReleasedLeaseIsFreeAndAReleaseByAFormerHolderChangesNothing) {
  StoreLease mine(storage_, kKey, 30, "host-a 1");
  ASSERT_TRUE(mine.acquire().value());
  mine.release();
  EXPECT_FALSE(mine.held());
  StoreLease theirs(storage_, kKey, 30, "host-b 2");
  ASSERT_TRUE(theirs.acquire().value());
  mine.release();  // holds nothing: leaves host-b's lease alone
  EXPECT_EQ(LeaseValue::parse(stored()).token, "host-b 2");
}

TEST_F(StoreLeaseTest, AValueThatDoesNotParseHasNoHolderAndHasExpired) {
  const LeaseValue v = LeaseValue::parse("garbage");
  EXPECT_EQ(v.token, "");
  EXPECT_EQ(v.expiry, 0);
  EXPECT_EQ(LeaseValue::parse("h 1 not-a-number").expiry, 0);
  ASSERT_TRUE(storage_->put(kKey, "garbage").ok());
  StoreLease mine(storage_, kKey, 30, "host-a 1");
  EXPECT_TRUE(mine.acquire().value());
}

}  // namespace
}  // namespace aimass::core
