// SPDX-License-Identifier: Apache-2.0
// job.tune with `collective:`: every rank a tuner of one study shared through storage.

#include <span>

#include "tune/shared_study.h"
#include "tune/tune_job.h"

namespace aimass::core {

Status TuneJob::runAcrossRanks(Host& host, JobProgress& progress, const Pruner* pruner) {
  Collective& collective = *options_.collective;
  if (!context_.storage) {
    return failedPrecondition(
        "job.tune '" + name_ + "' has `collective:` but its trial job '" + context_.trial_job +
        "' has no storage: the ranks share the study through it (storage.postgres across "
        "hosts, storage.sqlite or storage.fs on one)");
  }
  SharedStudy::Options options;
  options.member = StudyMember::self(collective.rank());
  options.lease_seconds = options_.lease_seconds;
  SharedStudy shared(context_.storage, studySettings(), *optimizer_, options);
  AIMASS_RETURN_IF_ERROR(shared.begin());
  host.log(LogLevel::kInfo, name_,
           options.member.describe() + " of " + std::to_string(collective.size()) +
               " shares study '" + options_.study + "' in " + context_.storage->describe() + ": " +
               std::to_string(shared.counts().ended()) + " of " + std::to_string(options_.trials) +
               " trials ended so far");
  std::uint64_t ended = 0;
  Status ran = runTrials(host, progress, shared, pruner, ended);
  // Each rank leaves the loop once no trial runs anywhere. The ranks then agree on whether
  // every one of them got there, and on how many trials this run ended, so that rank 0
  // registers the best only when this run changed the study.
  double tally[2] = {ran.ok() ? 0.0 : 1.0, static_cast<double>(ended)};
  Status agreed = collective.allreduce(std::span<double>(tally, 2), ReduceOp::kSum);
  AIMASS_RETURN_IF_ERROR(ran);
  AIMASS_RETURN_IF_ERROR(agreed.withContext("job.tune '" + name_ + "' joining the other ranks"));
  if (tally[0] > 0) {
    return aborted("job.tune '" + name_ +
                   "': the tuner of another rank failed (its log says "
                   "why); run the configuration again to continue study '" +
                   options_.study + "'");
  }
  auto study = shared.snapshot();
  AIMASS_RETURN_IF_ERROR(study.status());
  // Every rank loads the best model, as a single tuner would (the jobs after this one run on
  // rank 0 only, see Runtime); rank 0 alone registers it.
  return conclude(host, **study, collective.rank() == 0 && tally[1] > 0);
}

}  // namespace aimass::core
