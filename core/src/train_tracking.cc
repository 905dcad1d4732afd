// SPDX-License-Identifier: Apache-2.0
#include "train_tracking.h"

#include <cstdio>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "aimass/util/number_text.h"
#include "record_text.h"
#include "train_job.h"

namespace aimass::core {
namespace {

/// Adds the time from its construction to its destruction to `total`.
class TimeSpentIn {
 public:
  explicit TimeSpentIn(std::chrono::steady_clock::duration& total)
      : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~TimeSpentIn() { total_ += std::chrono::steady_clock::now() - start_; }
  TimeSpentIn(const TimeSpentIn&) = delete;
  TimeSpentIn& operator=(const TimeSpentIn&) = delete;

 private:
  std::chrono::steady_clock::duration& total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

void TrainRunTracker::configure(std::shared_ptr<Storage> storage, std::string experiment,
                                std::string node) {
  storage_ = std::move(storage);
  experiment_ = std::move(experiment);
  node_ = std::move(node);
}

void TrainRunTracker::addParams(const std::map<std::string, std::string>& params) {
  for (const auto& [name, value] : params) {
    params_[name] = value;
  }
}

void TrainRunTracker::setDefaultExperiment(std::string experiment, std::string fallback) {
  if (!experiment.empty()) {
    default_experiment_ = std::move(experiment);
  }
  if (!fallback.empty()) {
    fallback_experiment_ = std::move(fallback);
  }
}

std::int64_t TrainRunTracker::runId() const noexcept { return run_ ? run_->id() : last_run_id_; }

void TrainRunTracker::disable(const Status& why) {
  if (host_ != nullptr) {
    host_->log(LogLevel::kWarning, node_,
               "experiment tracking is off for the rest of this run: " + why.toString());
  }
  run_.reset();
}

void TrainRunTracker::start(Host& host) {
  host_ = &host;
  run_.reset();
  spent_ = {};
  points_ = 0;
  if (!storage_) {
    return;
  }
  TimeSpentIn timed(spent_);
  tracking_ = std::make_unique<Tracking>(*storage_);
  auto recovered = tracking_->recoverAbandonedRuns();
  if (!recovered.ok()) {
    host.log(LogLevel::kWarning, node_,
             "could not check for runs left unfinished: " + recovered.status().toString());
  } else {
    for (const auto& run : *recovered) {
      host.log(LogLevel::kWarning, node_,
               "run " + std::to_string(run.id) + " of experiment '" + run.experiment +
                   "' is marked failed: " + run.error);
    }
  }
  NewRun run;
  run.experiment = !experiment_.empty()           ? experiment_
                   : !default_experiment_.empty() ? default_experiment_
                                                  : fallback_experiment_;
  run.node = node_;
  run.node_type = "job.train";
  run.params = params_;
  auto started = tracking_->startRun(run);
  if (!started.ok()) {
    disable(started.status().withContext("starting a tracked run in " + storage_->describe()));
    return;
  }
  run_ = std::move(started).value();
  host.log(LogLevel::kInfo, node_,
           "tracking run " + std::to_string(run_->id()) + " in experiment '" + run.experiment +
               "' (aimass runs show " + std::to_string(run_->id()) + ")");
}

void TrainRunTracker::step(std::uint64_t step, double loss, double learning_rate,
                           double samples_per_second) {
  if (!run_) {
    return;
  }
  TimeSpentIn timed(spent_);
  points_ += 3;
  Status status =
      run_->logAll(static_cast<std::int64_t>(step), {{"loss", loss},
                                                     {"learning_rate", learning_rate},
                                                     {"samples_per_second", samples_per_second}});
  if (!status.ok()) {
    disable(status);
  }
}

void TrainRunTracker::log(std::string_view name, std::uint64_t step, double value) {
  if (!run_) {
    return;
  }
  TimeSpentIn timed(spent_);
  ++points_;
  Status status = run_->log(name, static_cast<std::int64_t>(step), value);
  if (status.ok()) {
    status = run_->flushIfDue();
  }
  if (!status.ok()) {
    disable(status);
  }
}

void TrainRunTracker::artifact(std::string_view name, std::string_view value) {
  if (run_) {
    run_->setArtifact(name, value);
  }
}

void TrainRunTracker::end(const Status& outcome) {
  if (!run_) {
    return;
  }
  const RunStatus status = outcome.ok()                               ? RunStatus::kFinished
                           : outcome.code() == StatusCode::kCancelled ? RunStatus::kKilled
                                                                      : RunStatus::kFailed;
  Status finished;
  {
    TimeSpentIn timed(spent_);
    finished = run_->finish(status, outcome.ok() ? std::string() : outcome.toString());
  }
  if (!finished.ok()) {
    disable(finished.withContext("ending run " + std::to_string(run_->id())));
    return;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.6f", std::chrono::duration<double>(spent_).count());
  host_->log(LogLevel::kInfo, node_,
             "tracked run " + std::to_string(run_->id()) + ": " + std::to_string(points_) +
                 " metric points in " + std::to_string(run_->batchesWritten()) +
                 " batch records, tracking_s=" + seconds);
  last_run_id_ = run_->id();
  run_.reset();
}

std::string paramValueText(const ParamValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return formatNumber(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, std::vector<ParamRecord>>) {
          return std::to_string(v.size()) + (v.size() == 1 ? " record" : " records");
        } else if constexpr (std::is_same_v<T, ParamRecordMap>) {
          std::string out = "{";
          for (const auto& [name, record] : v) {
            out += (out.size() > 1 ? ", " : "") + name;
          }
          return out + "}";
        } else {
          std::string out = "[";
          for (std::size_t i = 0; i < v.size(); ++i) {
            out += i > 0 ? ", " : "";
            if constexpr (std::is_same_v<typename T::value_type, std::string>) {
              out += v[i];
            } else if constexpr (std::is_same_v<typename T::value_type, double>) {
              out += formatNumber(v[i]);
            } else {
              out += std::to_string(v[i]);
            }
          }
          return out + "]";
        }
      },
      value);
}

void attachTrainTrackingContext(const Graph& graph) {
  const std::string stem = graph.document().file.stem().string();
  for (const GraphNode& node : graph.nodes()) {
    auto* job = dynamic_cast<TrainJob*>(node.instance.get());
    if (job == nullptr) {
      continue;
    }
    std::map<std::string, std::string> params;
    for (const auto& [reference, targets] : node.refs) {
      if (targets.size() != 1 || reference == "storage") {
        continue;
      }
      for (const GraphNode& target : graph.nodes()) {
        if (target.decl.name != targets.front()) {
          continue;
        }
        params[reference + ".type"] = target.decl.type;
        for (const auto& [name, value] : target.values) {
          params[reference + "." + name] = paramValueText(value);
        }
      }
    }
    job->addTrackingContext(stem.empty() ? std::string() : Tracking::experimentNameFrom(stem),
                            params);
  }
}

}  // namespace aimass::core
