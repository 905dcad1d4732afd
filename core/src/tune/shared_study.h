// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "aimass/optimizer.h"
#include "aimass/storage.h"
#include "store_lease.h"
#include "tune/study.h"
#include "tune/study_access.h"

namespace aimass::core {

/// A tuner taking part in a shared study: one rank of a collective, a process on a host.
struct StudyMember {
  int rank = 0;
  std::string host;      ///< gethostname()
  std::int64_t pid = 0;  ///< getpid()
  /// This process as a member of rank `rank`.
  static StudyMember self(int rank);
  /// "HOST PID": what a lease or the lock names.
  std::string token() const { return host + " " + std::to_string(pid); }
  /// "rank 1, pid 42 on HOST": Trial::worker.
  std::string describe() const;
};

/// A study run by several tuners at once (the ranks of job.tune's `collective:`, on one host
/// or many), through a storage node they all reach (storage.postgres across hosts; storage.sqlite
/// or storage.fs on one).
///
/// Every change of the study is made under a lock in storage (`tune/STUDY/lock`, taken by
/// compareAndSet), by reopening the study as stored (Study::open: the optimizer's saved state
/// and the replay of what came after it), changing it and saving it. The optimizer therefore
/// sees one sequence of asks and tells, the order in which the tuners took the lock, and the
/// stored study stays the one a single tuner with as many workers would have written: it
/// resumes as any study does, and trial numbers are handed out once (the count of trial
/// records, read under the lock) so the budget `trials` holds over all tuners.
///
/// Each running trial has a lease, `tune/STUDY/leases/NNNNNNNN` ("HOST PID EXPIRY"), that its
/// tuner renews (keepAlive()) by compareAndSet. A running trial whose lease expired, whose
/// holder on this host no longer exists, or that has none (its tuner died between the two
/// writes, or a tuner without a collective started it) is taken over by the next tuner that
/// looks for work, and runs again with the same values, as a resumed study's interrupted
/// trials do. The lock has the same expiry, so a tuner killed while holding it blocks the
/// others for at most `lease_seconds` (not at all on its own host).
///
/// Threading: one thread (the tuner's loop). Tuners in other processes share the storage.
class SharedStudy final : public StudyAccess {
 public:
  struct Options {
    StudyMember member;
    double lease_seconds = 60;  ///< a lease's and the lock's life without renewal
  };
  SharedStudy(std::shared_ptr<Storage> storage, StudySettings settings, SearchOptimizer& optimizer,
              Options options);

  /// Opens the study under the lock (creating it, or refusing other settings as Study::open
  /// does) and notes how many of its trials had ended.
  Status begin();
  Expected<Next> next(std::uint64_t trials, std::uint64_t busy) override;
  Status report(std::uint64_t number, std::uint64_t epoch, double value) override;
  Expected<std::vector<TrialCurve>> curves() override;
  /// Ends a trial this tuner holds; a trial whose lease another tuner took is left to it
  /// (kAborted, naming that tuner).
  Status finish(std::uint64_t number, const Study::Outcome& outcome) override;
  /// Renews this tuner's leases every quarter of `lease_seconds`. A lease another tuner took
  /// (this one stalled past its expiry) is dropped.
  Status keepAlive() override;
  StudyCounts counts() const override { return counts_; }

  /// The study as stored now, reopened under the lock (for the results at the end).
  Expected<std::unique_ptr<Study>> snapshot();

 private:
  /// Takes the lock and reopens the study; the caller unlocks.
  Expected<std::unique_ptr<Study>> openLocked();
  /// Runs `change` on the study reopened under the lock.
  Status locked(const std::function<Status(Study&)>& change);
  Status lock();
  void unlock();
  std::string leaseKey(std::uint64_t number) const;
  std::string leaseText() const;
  /// Whether another tuner holds the running trial `number` now.
  Expected<bool> heldElsewhere(std::uint64_t number) const;
  Expected<Next> claim(Study& study, std::uint64_t trials);

  std::shared_ptr<Storage> storage_;
  StudySettings settings_;
  SearchOptimizer& optimizer_;
  Options options_;
  std::string lock_key_;
  StoreLease lock_;  ///< the study's lock, `lock_key_`, with the expiry of a lease
  std::map<std::uint64_t, std::string> leases_;  ///< the trials this tuner runs -> lease text
  StudyCounts counts_;
  std::chrono::steady_clock::time_point renewed_{};
  std::chrono::steady_clock::time_point waited_{};  ///< when next() last found nothing
};

}  // namespace aimass::core
