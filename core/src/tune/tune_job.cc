// SPDX-License-Identifier: Apache-2.0
#include "tune/tune_job.h"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "aimass/core/type_registry.h"
#include "aimass/util/json_writer.h"
#include "aimass/util/number_text.h"
#include "train_job.h"
#include "tune/importance.h"
#include "tune/study_access.h"
#include "tune/trial_process.h"
#include "tune/trial_worker.h"

namespace aimass::core {
namespace {

constexpr const char* kType = "job.tune";

/// The values of a trial as "key=value" pairs, for logs.
std::string describeValues(const std::vector<TuneDimension>& dimensions,
                           const std::vector<double>& values) {
  std::string out;
  for (std::size_t i = 0; i < dimensions.size() && i < values.size(); ++i) {
    const std::string text = trialValueText(dimensions[i], values[i]);
    if (!text.empty()) {
      out += (out.empty() ? "" : ", ") + dimensions[i].key + "=" + text;
    }
  }
  return out;
}

std::string valuesJson(const std::vector<double>& values) {
  JsonWriter json;
  json.beginArray();
  for (double v : values) {
    json.value(v);  // NaN: null
  }
  json.endArray();
  std::string text = json.str();
  text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
  return text;
}

}  // namespace

/// The tuner's loop over one run of the study: starts workers up to the limits, answers their
/// epoch reports with the pruner's decision, records how they end.
class TuneJob::Loop {
 public:
  Loop(TuneJob& job, Host& host, JobProgress& progress, StudyAccess& study, const Pruner* pruner)
      : job_(job), host_(host), progress_(progress), study_(study), pruner_(pruner) {}

  Status run() {
    progress_.begin("trials", job_.options_.trials);
    while (true) {
      if (host_.stopRequested()) {
        workers_.clear();  // kills the workers; their trials run again next time
        return cancelled("tuning stopped; run the configuration again to continue study '" +
                         job_.options_.study + "'");
      }
      AIMASS_RETURN_IF_ERROR(study_.keepAlive());
      AIMASS_RETURN_IF_ERROR(startTrials());
      if (busyWorkers() == 0 && !waiting_) {
        break;
      }
      AIMASS_RETURN_IF_ERROR(waitForWorkers());  // at most 100 ms, also with no workers
    }
    progress_.end(summary());
    return Status();
  }

  std::uint64_t ended() const { return ended_; }

 private:
  std::uint64_t finished() const { return study_.counts().ended(); }

  int threadsPerTrial() const {
    if (job_.options_.threads_per_trial > 0) {
      return job_.options_.threads_per_trial;
    }
    return std::max(1, host_.threads() / static_cast<int>(job_.options_.parallel));
  }

  Status startTrials() {
    waiting_ = false;
    while (busyWorkers() < job_.options_.parallel) {
      auto next = study_.next(job_.options_.trials, busyWorkers());
      AIMASS_RETURN_IF_ERROR(next.status());
      if (!next->trial) {
        if (next->exhausted && !exhausted_) {
          host_.log(LogLevel::kInfo, job_.name_,
                    job_.optimizer_type_ + " has no more candidates to propose");
        }
        exhausted_ = exhausted_ || next->exhausted;
        waiting_ = next->wait;  // trials run elsewhere: one may be left to run again here
        break;
      }
      TrialProcess* worker = idleWorker();
      if (worker == nullptr) {
        auto started = TrialProcess::start(workerCommand());
        if (!started.ok()) {
          // No process, no trial: the study cannot go on here (the host is out of processes
          // or memory); what ran is kept.
          return started.status();
        }
        workers_.push_back(std::move(started).value());
        worker = workers_.back().get();
      }
      const Trial& trial = *next->trial;
      std::string artifact;
      if (job_.context_.storage) {
        artifact = "tune/" + job_.options_.study + "/models/trial-" + std::to_string(trial.number) +
                   ".aimass";
      }
      // Under mpirun the ranks' logs interleave: each says which rank runs the trial.
      const auto& collective = job_.options_.collective;
      const std::string where =
          collective ? " on rank " + std::to_string(collective->rank()) : std::string();
      host_.log(LogLevel::kInfo, job_.name_,
                "trial " + std::to_string(trial.number) + " starts" + where + ": " +
                    describeValues(job_.context_.dimensions, trial.values));
      Status assigned = worker->assign(trial.number, artifact, valuesJson(trial.values));
      if (!assigned.ok()) {
        AIMASS_RETURN_IF_ERROR(
            end(*worker, Trial::State::kFailed, std::nullopt, assigned.message(), 0, {}));
      }
    }
    return Status();
  }

  TrialCommand workerCommand() const {
    TrialCommand command;
    command.executable = "/proc/self/exe";
    command.plugin_paths = job_.context_.plugin_paths;
    command.config = job_.context_.config;
    command.tune_node = job_.name_;
    command.threads = threadsPerTrial();
    command.study = job_.options_.study;
    return command;
  }

  std::size_t busyWorkers() const {
    return static_cast<std::size_t>(
        std::count_if(workers_.begin(), workers_.end(), [](const auto& w) { return w->busy(); }));
  }

  TrialProcess* idleWorker() const {
    for (const auto& w : workers_) {
      if (!w->busy() && !w->closed()) {
        return w.get();
      }
    }
    return nullptr;
  }

  Status waitForWorkers() {
    std::vector<pollfd> fds;
    for (const auto& process : workers_) {
      for (int fd : {process->socket(), process->errors()}) {
        if (fd >= 0) {
          fds.push_back({fd, POLLIN, 0});
        }
      }
    }
    poll(fds.data(), fds.size(), 100);
    for (auto& process : workers_) {
      process->readErrors();
      std::vector<TrialMessage> messages;
      Status read = process->readMessages(messages);
      for (const auto& message : messages) {
        AIMASS_RETURN_IF_ERROR(handle(*process, message));
      }
      if (!read.ok() || process->closed()) {
        const std::string how = process->reap();
        if (process->busy()) {
          AIMASS_RETURN_IF_ERROR(end(*process, Trial::State::kFailed, std::nullopt,
                                     read.ok() ? "the worker " + how : read.message(), 0, {}));
        }
        process.reset();
      }
    }
    std::erase(workers_, nullptr);
    return Status();
  }

  Status handle(TrialProcess& process, const TrialMessage& message) {
    const std::uint64_t number = process.trial();
    switch (message.kind) {
      case TrialMessage::Kind::kEpoch: {
        AIMASS_RETURN_IF_ERROR(study_.report(number, message.epoch, message.value));
        last_epoch_[number] = message.epoch;
        bool prune = false;
        if (pruner_ != nullptr && std::isfinite(message.value)) {
          auto curves = study_.curves();
          AIMASS_RETURN_IF_ERROR(curves.status());
          prune = pruner_->shouldPrune(*curves, number, message.epoch);
        }
        process.answer(prune).ignoreError();  // a worker gone is noticed when its socket closes
        return Status();
      }
      case TrialMessage::Kind::kDone: {
        if (!std::isfinite(message.value)) {
          return end(process, Trial::State::kFailed, std::nullopt,
                     "the objective " + job_.options_.objective + " was not finite", message.run_id,
                     message.artifact);
        }
        const bool pruned = message.pruned;
        std::string reason;
        if (pruned) {
          const std::uint64_t at = last_epoch_[number];
          reason = "pruned at epoch " + std::to_string(at) + " by " + pruner_->describe();
        }
        return end(process, pruned ? Trial::State::kPruned : Trial::State::kComplete, message.value,
                   reason, message.run_id, message.artifact);
      }
      case TrialMessage::Kind::kFailed:
        return end(process, Trial::State::kFailed, std::nullopt, message.reason, message.run_id,
                   {});
    }
    return Status();
  }

  /// Ends the trial `worker` runs; the worker is idle again.
  Status end(TrialProcess& worker, Trial::State state, std::optional<double> value,
             const std::string& reason, std::int64_t run_id, const std::string& artifact) {
    const std::uint64_t number = worker.trial();
    worker.release();
    Study::Outcome outcome;
    outcome.state = state;
    outcome.value = value;
    outcome.reason = reason;
    outcome.run_id = run_id;
    outcome.artifact = artifact;
    last_epoch_.erase(number);
    Status finished_here = study_.finish(number, outcome);
    if (finished_here.code() == StatusCode::kAborted) {
      host_.log(LogLevel::kWarning, job_.name_, finished_here.message());
      return Status();  // another rank runs it again; the study goes on
    }
    AIMASS_RETURN_IF_ERROR(finished_here);
    ++ended_;
    std::string line = "trial " + std::to_string(number) + " " + trialStateName(state);
    if (value) {
      line += ", " + job_.options_.objective + " " + formatNumber(*value);
    }
    if (!reason.empty()) {
      line += " (" + reason + ")";
    }
    host_.log(state == Trial::State::kFailed ? LogLevel::kWarning : LogLevel::kInfo, job_.name_,
              line);
    std::vector<std::pair<std::string, double>> figures = {
        {"running", static_cast<double>(busyWorkers())}};
    if (const auto best = study_.counts().best) {
      figures.emplace_back("best", *best);
    }
    progress_.update(finished(), figures);
    return Status();
  }

  std::string summary() const {
    const StudyCounts counts = study_.counts();
    std::string out = std::to_string(counts.ended()) +
                      " trials: " + std::to_string(counts.complete) + " complete, " +
                      std::to_string(counts.pruned) + " pruned, " + std::to_string(counts.failed) +
                      " failed";
    if (counts.best) {
      out += "; best trial " + std::to_string(counts.best_number) + ": " + job_.options_.objective +
             " " + formatNumber(*counts.best) + " (" +
             describeValues(job_.context_.dimensions, counts.best_values) + ")";
    }
    return out;
  }

  TuneJob& job_;
  Host& host_;
  JobProgress& progress_;
  StudyAccess& study_;
  const Pruner* pruner_;
  /// Worker processes, busy with a trial or idle; up to `parallel`.
  std::vector<std::unique_ptr<TrialProcess>> workers_;
  std::uint64_t ended_ = 0;
  bool exhausted_ = false;
  bool waiting_ = false;  ///< no trial now, but a shared study's trials run elsewhere
  std::map<std::uint64_t, std::uint64_t> last_epoch_;  ///< running trial -> last epoch reported
};

StudySettings TuneJob::studySettings() const {
  StudySettings settings;
  settings.name = options_.study;
  settings.dimensions = context_.dimensions;
  settings.optimizer_type = optimizer_type_;
  settings.seed = options_.seed;
  settings.objective = options_.objective;
  settings.maximize = options_.maximize;
  return settings;
}

Status TuneJob::run(Host& host, JobProgress& progress) {
  if (context_.config.empty() || !context_.job) {
    return failedPrecondition("job.tune '" + name_ + "' runs only inside its graph");
  }
  PrunerSettings pruner_settings = options_.pruner;
  pruner_settings.max_resource = std::max<std::uint64_t>(1, context_.job->options().epochs);
  auto pruner = makePruner(pruner_settings);
  if (!pruner.ok()) {
    return pruner.status();
  }
  if (options_.collective) {
    return runAcrossRanks(host, progress, pruner->get());
  }
  if (!context_.storage) {
    host.log(LogLevel::kWarning, name_,
             "trial job '" + context_.trial_job +
                 "' has no storage: the study is kept in memory only (it cannot resume) and "
                 "no trial's model is kept");
  }
  auto study = Study::open(context_.storage, studySettings(), *optimizer_);
  if (!study.ok()) {
    return study.status();
  }
  if (!(*study)->trials().empty()) {
    host.log(LogLevel::kInfo, name_,
             "continuing study '" + options_.study +
                 "': " + std::to_string((*study)->trials().size() - (*study)->pendingRestarts()) +
                 " trials done, " + std::to_string((*study)->pendingRestarts()) + " to run again");
  }
  LocalStudy local(**study);
  std::uint64_t ended = 0;
  AIMASS_RETURN_IF_ERROR(runTrials(host, progress, local, pruner->get(), ended));
  return conclude(host, **study, ended > 0);
}

Status TuneJob::runTrials(Host& host, JobProgress& progress, StudyAccess& study,
                          const Pruner* pruner, std::uint64_t& ended) {
  Loop loop(*this, host, progress, study, pruner);
  Status status = loop.run();
  ended = loop.ended();
  return status;
}

Status TuneJob::conclude(Host& host, const Study& study, bool register_version) {
  logImportances(host, study);
  if (study.best() == nullptr) {
    std::map<std::string, int> reasons;
    for (const auto& t : study.trials()) {
      if (t.state == Trial::State::kFailed) {
        reasons[t.reason]++;
      }
    }
    auto common =
        std::max_element(reasons.begin(), reasons.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    if (common == reasons.end()) {
      return failedPrecondition("study '" + options_.study + "' ran no trial");
    }
    return aborted("every trial of study '" + options_.study + "' failed (" +
                   std::to_string(study.trials().size()) + "); the most common reason (" +
                   std::to_string(common->second) + " times): " + common->first);
  }
  return adoptBest(host, study, register_version);
}

void TuneJob::logImportances(Host& host, const Study& study) const {
  const auto shares = parameterImportances(context_.dimensions, study.trials());
  if (shares.empty()) {
    return;  // too few complete trials to say
  }
  std::vector<std::size_t> order(shares.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return shares[a] > shares[b]; });
  std::string line = "parameter importances (aimass tune show " + options_.study + "):";
  for (std::size_t i : order) {
    char share[16];
    std::snprintf(share, sizeof share, "%.2f", shares[i]);
    line += " " + context_.dimensions[i].key + " " + share;
  }
  host.log(LogLevel::kInfo, name_, line);
}

Status TuneJob::adoptBest(Host& host, const Study& study, bool register_version) {
  const Trial* best = study.best();
  if (best->artifact.empty()) {
    host.log(LogLevel::kWarning, name_,
             "the best trial (" + std::to_string(best->number) +
                 ") kept no model: give the trial job a storage to keep it");
    return Status();
  }
  const bool registering = options_.register_best && register_version;
  AIMASS_RETURN_IF_ERROR(
      context_.job->adopt(host, best->artifact, {{options_.objective, *best->value}}, registering)
          .withContext("taking the best trial's model"));
  host.log(LogLevel::kInfo, name_,
           "best trial " + std::to_string(best->number) + " (" + options_.objective + " " +
               formatNumber(*best->value) + "): its model is loaded" +
               (registering ? " and registered" : ""));
  return Status();
}

void attachTuneContext(const Graph& graph) {
  std::vector<std::string> libraries;
  for (const RegisteredType* type : graph.registry().all()) {
    if (type->plugin && !type->plugin->library.empty() &&
        std::find(libraries.begin(), libraries.end(), type->plugin->library) == libraries.end()) {
      libraries.push_back(type->plugin->library);
    }
  }
  for (const auto& node : graph.nodes()) {
    auto job = std::dynamic_pointer_cast<TuneJob>(node.instance);
    if (!job) {
      continue;
    }
    TuneContext context;
    std::error_code ec;
    context.config = std::filesystem::absolute(graph.document().file, ec);
    context.plugin_paths = libraries;
    context.trial_job = firstRef(node, "trial");
    context.job = std::dynamic_pointer_cast<TrainJob>(graph.node(context.trial_job));
    if (const GraphNode* trial = findGraphNode(graph.nodes(), context.trial_job)) {
      const std::string storage = firstRef(*trial, "storage");
      if (!storage.empty()) {
        context.storage = std::static_pointer_cast<Storage>(graph.node(storage));
      }
    }
    Diagnostics diagnostics;  // none: Graph::validate() checked the space
    if (auto dimensions = tuneSpaceOf(graph.nodes(), node, diagnostics)) {
      context.dimensions = std::move(*dimensions);
    }
    job->attach(std::move(context));
  }
}

std::vector<std::string> tuneTrialJobs(const Graph& graph) {
  std::vector<std::string> jobs;
  for (const auto& node : graph.nodes()) {
    if (node.type != nullptr && node.decl.type == kType) {
      jobs.push_back(firstRef(node, "trial"));
    }
  }
  return jobs;
}

}  // namespace aimass::core
