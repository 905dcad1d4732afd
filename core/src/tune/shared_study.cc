// SPDX-License-Identifier: Apache-2.0
#include "tune/shared_study.h"

#include <unistd.h>

#include <thread>

#include "aimass/util/number_text.h"

namespace aimass::core {

StudyMember StudyMember::self(int rank) {
  StudyMember m;
  m.rank = rank;
  m.host = hostName();
  m.pid = static_cast<std::int64_t>(getpid());
  return m;
}

std::string StudyMember::describe() const {
  return "rank " + std::to_string(rank) + ", pid " + std::to_string(pid) + " on " + host;
}

SharedStudy::SharedStudy(std::shared_ptr<Storage> storage, StudySettings settings,
                         SearchOptimizer& optimizer, Options options)
    : storage_(std::move(storage)),
      settings_(std::move(settings)),
      optimizer_(optimizer),
      options_(std::move(options)),
      lock_key_("tune/" + settings_.name + "/lock"),
      lock_(storage_, lock_key_, options_.lease_seconds, options_.member.token()) {}

std::string SharedStudy::leaseKey(std::uint64_t number) const {
  const std::string record = trialRecordKey(settings_.name, number);  // tune/S/trials/NNNNNNNN
  return "tune/" + settings_.name + "/leases/" + record.substr(record.rfind('/') + 1);
}

std::string SharedStudy::leaseText() const {
  return options_.member.token() + " " + formatNumber(wallSeconds() + options_.lease_seconds);
}

Status SharedStudy::lock() {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(10 * options_.lease_seconds);
  while (std::chrono::steady_clock::now() < give_up) {
    AIMASS_ASSIGN_OR_RETURN(bool taken, lock_.acquire());
    if (taken) {
      return Status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return unavailable("study '" + settings_.name + "': the lock " + lock_key_ + " in " +
                     storage_->describe() + " stayed held by '" + lock_.lastHolder() + "' for " +
                     formatNumber(10 * options_.lease_seconds) + " s");
}

void SharedStudy::unlock() { lock_.release(); }

Status SharedStudy::locked(const std::function<Status(Study&)>& change) {
  auto study = openLocked();
  AIMASS_RETURN_IF_ERROR(study.status());
  Status status = change(**study);
  counts_ = countsOf(**study);
  unlock();
  return status;
}

Expected<std::unique_ptr<Study>> SharedStudy::snapshot() {
  auto study = openLocked();
  if (study.ok()) {
    unlock();
  }
  return study;
}

Expected<std::unique_ptr<Study>> SharedStudy::openLocked() {
  AIMASS_RETURN_IF_ERROR(lock());
  auto study = Study::open(storage_, settings_, optimizer_);
  if (!study.ok()) {
    unlock();
    return study.status();
  }
  (*study)->setWorker(options_.member.describe());
  counts_ = countsOf(**study);
  return study;
}

Status SharedStudy::begin() {
  return locked([&](Study& study) -> Status {
    auto state = storage_->get("tune/" + settings_.name + "/optimizer");
    if (state.ok() || state.status().code() != StatusCode::kNotFound) {
      return state.status();
    }
    // Search optimizers count candidate ids across begin(): without a saved state, each
    // reopening by this tuner would give the replayed asks other ids than they had.
    return study.saveOptimizerState();
  });
}

Expected<bool> SharedStudy::heldElsewhere(std::uint64_t number) const {
  if (leases_.count(number) != 0) {
    return true;  // held here
  }
  auto lease = storage_->get(leaseKey(number));
  if (!lease.ok()) {
    if (lease.status().code() == StatusCode::kNotFound) {
      return false;
    }
    return lease.status();
  }
  const LeaseValue h = LeaseValue::parse(*lease);
  return h.token != options_.member.token() && h.expiry > wallSeconds() &&
         !holderGone(h.token, options_.member.host);
}

Expected<StudyAccess::Next> SharedStudy::claim(Study& study, std::uint64_t trials) {
  Next next;
  bool running = false;
  for (const Trial& t : study.trials()) {
    if (t.state != Trial::State::kRunning) {
      continue;
    }
    running = true;
    auto held = heldElsewhere(t.number);
    AIMASS_RETURN_IF_ERROR(held.status());
    if (*held) {
      continue;
    }
    const std::string lease = leaseText();  // the lease first: a trial is never unleased twice
    AIMASS_RETURN_IF_ERROR(storage_->put(leaseKey(t.number), lease));
    auto restarted = study.restartTrial(t.number);
    AIMASS_RETURN_IF_ERROR(restarted.status());
    leases_[t.number] = lease;
    next.trial = std::move(restarted).value();
    return next;
  }
  next.wait = running;
  if (study.trials().size() >= trials) {
    return next;
  }
  auto asked = study.askTrial();
  AIMASS_RETURN_IF_ERROR(asked.status());
  if (!asked->has_value()) {
    next.exhausted = true;
    return next;
  }
  // A tuner killed between the record and its lease leaves a running trial with no lease,
  // which the next claim takes over.
  const std::string lease = leaseText();
  AIMASS_RETURN_IF_ERROR(storage_->put(leaseKey((*asked)->number), lease));
  leases_[(*asked)->number] = lease;
  next.wait = false;
  next.trial = std::move(*asked);
  return next;
}

Expected<StudyAccess::Next> SharedStudy::next(std::uint64_t trials, std::uint64_t) {
  const auto now = std::chrono::steady_clock::now();
  if (waited_ != std::chrono::steady_clock::time_point{} &&
      now - waited_ < std::chrono::seconds(1)) {
    Next wait;
    wait.wait = true;
    return wait;  // looked a moment ago: the lock and the reopening are not free
  }
  Next result;
  AIMASS_RETURN_IF_ERROR(locked([&](Study& study) -> Status {
    auto claimed = claim(study, trials);
    AIMASS_RETURN_IF_ERROR(claimed.status());
    result = std::move(claimed).value();
    return Status();
  }));
  waited_ = result.trial ? std::chrono::steady_clock::time_point{} : now;
  return result;
}

Status SharedStudy::report(std::uint64_t number, std::uint64_t epoch, double value) {
  // Only the lease holder writes a running trial's record, so no lock is needed.
  const std::string key = trialRecordKey(settings_.name, number);
  auto text = storage_->get(key);
  AIMASS_RETURN_IF_ERROR(text.status());
  auto trial = parseTrial(*text);
  if (!trial.ok()) {
    return dataLoss(key + ": " + trial.status().message());
  }
  if (trial->state != Trial::State::kRunning || leases_.count(number) == 0) {
    return failedPrecondition("trial " + std::to_string(number) + " is not running here");
  }
  trial->intermediate[epoch] = value;
  return storage_->put(key, trialJson(*trial));
}

Expected<std::vector<TrialCurve>> SharedStudy::curves() {
  auto stored = Study::read(*storage_, settings_.name);
  AIMASS_RETURN_IF_ERROR(stored.status());
  return trialCurves(stored->second, settings_.maximize);
}

Status SharedStudy::finish(std::uint64_t number, const Study::Outcome& outcome) {
  const auto mine = leases_.find(number);
  const std::string lease = mine == leases_.end() ? std::string() : mine->second;
  leases_.erase(number);
  return locked([&](Study& study) -> Status {
    auto current = storage_->get(leaseKey(number));
    if (!current.ok() && current.status().code() != StatusCode::kNotFound) {
      return current.status();
    }
    if (lease.empty() || !current.ok() || *current != lease) {
      return aborted("trial " + std::to_string(number) + " was taken over by '" +
                     (current.ok() ? LeaseValue::parse(*current).token : std::string("nobody")) +
                     "' (this tuner did not renew its lease for " +
                     formatNumber(options_.lease_seconds) + " s); its result here is dropped");
    }
    AIMASS_RETURN_IF_ERROR(study.finish(number, outcome));
    return storage_->remove(leaseKey(number));
  });
}

Status SharedStudy::keepAlive() {
  const auto now = std::chrono::steady_clock::now();
  if (now - renewed_ < std::chrono::duration<double>(options_.lease_seconds / 4)) {
    return Status();
  }
  renewed_ = now;
  for (auto it = leases_.begin(); it != leases_.end();) {
    const std::string renewed = leaseText();
    auto set = storage_->compareAndSet(leaseKey(it->first), it->second, renewed);
    AIMASS_RETURN_IF_ERROR(set.status());
    if (*set) {
      it->second = renewed;
      ++it;
    } else {
      it = leases_.erase(it);  // another tuner took it over; finish() says so
    }
  }
  return Status();
}

}  // namespace aimass::core
