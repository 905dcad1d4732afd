// SPDX-License-Identifier: Apache-2.0
// The job launchers' pieces (core/src/jobs/launcher.h, slurm_launcher.h): the mpirun command
// line, the refusals of jobs of several ranks, the Slurm batch script and sbatch line, and the
// parsing of sbatch's and scontrol's answers (as Slurm 22.05 prints them).
#include "jobs/launcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "jobs/job_store.h"
#include "jobs/slurm_launcher.h"
#include "scoped_env.h"

namespace aimass::core::jobs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MpirunPrefix, OversubscribesOnlyBeyondTheSlots) {
  EXPECT_THAT(mpirunPrefix("/usr/bin/mpirun", 2, 4),
              ElementsAre("/usr/bin/mpirun", "-np", "2", "--bind-to", "none"));
  EXPECT_THAT(mpirunPrefix("/usr/bin/mpirun", 3, 2),
              ElementsAre("/usr/bin/mpirun", "-np", "3", "--oversubscribe", "--bind-to", "none"));
}

TEST(CheckLauncher, RefusesSeveralRanksWithoutMpirun) {
  EXPECT_TRUE(checkLauncher(1, "").ok());
  EXPECT_TRUE(checkLauncher(2, "/usr/bin/mpirun").ok());
  const Status none = checkLauncher(2, "");
  EXPECT_EQ(none.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.message(), HasSubstr("2 ranks"));
  EXPECT_THAT(none.message(), HasSubstr("no MPI launcher"));
  EXPECT_EQ(checkLauncher(0, "/usr/bin/mpirun").code(), StatusCode::kInvalidArgument);
}

TEST(FindMpiexec, NamesAConfiguredLauncherThatIsNotThere) {
  auto missing = findMpiexec("/nonexistent/mpirun");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/mpirun"));
}

TEST(IsRankOfSeveral, ReadsTheLaunchersWorldSize) {
  aimass::testing::ScopedEnv ompi("OMPI_COMM_WORLD_SIZE", nullptr);
  aimass::testing::ScopedEnv pmi("PMI_SIZE", nullptr);
  aimass::testing::ScopedEnv pmix("PMIX_SIZE", nullptr);
  EXPECT_FALSE(isRankOfSeveral()) << "no launcher";
  {
    aimass::testing::ScopedEnv one("OMPI_COMM_WORLD_SIZE", "1");
    EXPECT_FALSE(isRankOfSeveral()) << "one rank";
  }
  {
    aimass::testing::ScopedEnv two("OMPI_COMM_WORLD_SIZE", "2");
    EXPECT_TRUE(isRankOfSeveral());
    EXPECT_FALSE(isMpiRankOf(1)) << "init is no launcher's ancestor to check";
  }
  aimass::testing::ScopedEnv three("PMIX_SIZE", "3");
  EXPECT_TRUE(isRankOfSeveral());
}

TEST(IsRankOfSeveralOnOneNode, NeedsEveryRankOnThisMachine) {
  aimass::testing::ScopedEnv world("OMPI_COMM_WORLD_SIZE", "4");
  aimass::testing::ScopedEnv local("OMPI_COMM_WORLD_LOCAL_SIZE", nullptr);
  EXPECT_FALSE(isRankOfSeveralOnOneNode()) << "no local size";
  {
    aimass::testing::ScopedEnv two_here("OMPI_COMM_WORLD_LOCAL_SIZE", "2");
    EXPECT_FALSE(isRankOfSeveralOnOneNode()) << "2 of 4 ranks here: several machines";
  }
  aimass::testing::ScopedEnv all_here("OMPI_COMM_WORLD_LOCAL_SIZE", "4");
  EXPECT_TRUE(isRankOfSeveralOnOneNode());
  aimass::testing::ScopedEnv alone("OMPI_COMM_WORLD_SIZE", "1");
  aimass::testing::ScopedEnv alone_here("OMPI_COMM_WORLD_LOCAL_SIZE", "1");
  EXPECT_FALSE(isRankOfSeveralOnOneNode()) << "one rank";
}

TEST(RankTotal, CountsEveryRank) {
  EXPECT_EQ(rankTotal(Resources{2, 100, 1}, 3), (Resources{6, 300, 3}));
  JobRecord record;
  record.resources = {2, 100, 0};
  record.ranks = 4;
  EXPECT_EQ(record.request().resources, (Resources{8, 400, 0}));
}

TEST(JobRecordText, KeepsRanksAndTheExternalId) {
  JobRecord record;
  record.id = 7;
  record.queue = "q";
  record.resources = {1, 1, 0};
  record.ranks = 3;
  record.external_id = "4242";
  auto back = parseJobRecord(formatJobRecord(record));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ranks, 3);
  EXPECT_EQ(back->external_id, "4242");
}

WorkerCommand sampleCommand(std::int64_t ranks) {
  WorkerCommand command;
  command.executable = "/opt/aimass/bin/aimass";
  command.plugin_paths = {"/opt/aimass/lib/libaimass_collective_mpi.so"};
  command.config = "/srv/jobs/12/job.yaml";
  command.work_dir = "/home/ann/it's here";
  command.log_file = "/srv/jobs/12/log";
  command.threads = 4;
  command.memory_bytes = std::int64_t{3} << 30;
  command.ranks = ranks;
  command.mpiexec = "/usr/bin/mpirun";
  command.environment = {"AIMASS_JOB_ID=12", "AIMASS_JOB_CONFIG_NAME=train.yaml"};
  return command;
}

TEST(SlurmBatchScript, ExportsTheEnvironmentAndExecsTheWorker) {
  const std::string one = slurmBatchScript(sampleCommand(1), 12);
  EXPECT_THAT(one, HasSubstr("#!/bin/bash\n"));
  EXPECT_THAT(one, HasSubstr("export AIMASS_JOB_DETACHED=1\n"));
  EXPECT_THAT(one, HasSubstr("export AIMASS_JOB_ID='12'\n"));
  EXPECT_THAT(one, HasSubstr("cd '/home/ann/it'\\''s here' || exit 1\n"));
  EXPECT_THAT(one, HasSubstr("exec '/opt/aimass/bin/aimass' '--plugin-path' "
                             "'/opt/aimass/lib/libaimass_collective_mpi.so' '--log-level' 'info' "
                             "'jobs' 'worker' '--threads' '4' '--memory-bytes' '3221225472' "
                             "'--parent' '1' '/srv/jobs/12/job.yaml'\n"));
  const std::string two = slurmBatchScript(sampleCommand(2), 12);
  EXPECT_THAT(two, HasSubstr("exec '/usr/bin/mpirun' '-np' '2' '--bind-to' 'none' "
                             "'/opt/aimass/bin/aimass'"));
}

TEST(SbatchArguments, AskForEveryRanksResources) {
  SlurmSettings settings;
  settings.partition = "gpu";
  settings.sbatch_args = {"--time=01:00:00"};
  EXPECT_THAT(
      sbatchArguments(settings, sampleCommand(2), 1, 12, "/srv/jobs/12/slurm-batch.sh"),
      ElementsAre("sbatch", "--parsable", "--job-name=aimass-job-12", "--output=/srv/jobs/12/log",
                  "--open-mode=append", "--chdir=/home/ann/it's here", "--ntasks=2",
                  "--cpus-per-task=4", "--mem-per-cpu=768M", "--gpus-per-task=1", "--partition=gpu",
                  "--time=01:00:00", "/srv/jobs/12/slurm-batch.sh"));
  settings.bin_dir = "/opt/slurm/bin";
  settings.partition.clear();
  WorkerCommand no_memory = sampleCommand(1);
  no_memory.memory_bytes = 0;
  EXPECT_THAT(
      sbatchArguments(settings, no_memory, 0, 3, "s.sh"),
      ElementsAre("/opt/slurm/bin/sbatch", "--parsable", "--job-name=aimass-job-3",
                  "--output=/srv/jobs/12/log", "--open-mode=append", "--chdir=/home/ann/it's here",
                  "--ntasks=1", "--cpus-per-task=4", "--time=01:00:00", "s.sh"));
}

TEST(ParseSbatchOutput, TakesTheIdWithOrWithoutACluster) {
  EXPECT_EQ(*parseSbatchOutput("4242\n"), "4242");
  EXPECT_EQ(*parseSbatchOutput("sbatch: warning: something\n77;cluster1\n"), "77");
  auto none = parseSbatchOutput("sbatch: error: Batch job submission failed\n");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("Batch job submission failed"));
}

// `scontrol show job -o ID` of Slurm 22.05 (shortened: the fields after ExitCode are kept as
// printed for the first two).
constexpr const char* kCompleted =
    "JobId=1 JobName=launch-t.sh UserId=root(0) GroupId=root(0) MCS_label=N/A "
    "Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=COMPLETED Reason=None "
    "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:02 "
    "TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-07T01:22:21 Partition=debug "
    "NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 "
    "TRES=cpu=1,mem=23593M,node=1,billing=1 Command=/tmp/launch-t.sh WorkDir=/tmp Power= \n";
constexpr const char* kPending =
    "JobId=2 JobName=launch-t.sh UserId=root(0) GroupId=root(0) MCS_label=N/A "
    "Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=None "
    "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 "
    "NodeList= NumNodes=1 Power= \n";

TEST(ParseScontrolJob, ReadsStateReasonAndExitCode) {
  auto completed = parseScontrolJob(kCompleted);
  ASSERT_TRUE(completed.ok()) << completed.status().message();
  EXPECT_EQ(completed->state, "COMPLETED");
  EXPECT_TRUE(completed->ended());
  EXPECT_TRUE(completed->exit().ok());

  auto pending = parseScontrolJob(kPending);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->state, "PENDING");
  EXPECT_FALSE(pending->ended());

  auto failed = parseScontrolJob("JobId=5 JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0");
  ASSERT_TRUE(failed.ok());
  EXPECT_TRUE(failed->ended());
  EXPECT_EQ(failed->reason, "NonZeroExitCode");
  EXPECT_EQ(failed->exit().describe(), "exit code 3");

  auto cancelled = parseScontrolJob("JobId=6 JobState=CANCELLED Reason=None ExitCode=0:15");
  ASSERT_TRUE(cancelled.ok());
  EXPECT_TRUE(cancelled->exit().signalled);
  EXPECT_EQ(cancelled->exit().code, SIGTERM);

  auto cancelled_quietly = parseScontrolJob("JobId=7 JobState=CANCELLED ExitCode=0:0");
  ASSERT_TRUE(cancelled_quietly.ok());
  EXPECT_FALSE(cancelled_quietly->exit().ok());

  EXPECT_FALSE(parseScontrolJob("JobId=8 JobState=RUNNING ExitCode=x:0").ok());
  auto no_state = parseScontrolJob("slurm_load_jobs error: Invalid job id specified");
  ASSERT_FALSE(no_state.ok());
  EXPECT_THAT(no_state.status().message(), HasSubstr("JobState"));
}

}  // namespace
}  // namespace aimass::core::jobs
