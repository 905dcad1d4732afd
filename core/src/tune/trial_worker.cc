// SPDX-License-Identifier: Apache-2.0
#include "tune/trial_worker.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "aimass/core/host_services.h"
#include "aimass/core/progress.h"
#include "aimass/util/number_text.h"
#include "train_job.h"
#include "train_job_transfer.h"
#include "train_tracking.h"
#include "tune/tune_space.h"

namespace aimass::core {
namespace {

constexpr int kTunerFd = 3;

/// Writes a whole line to the tuner; false when it is gone.
bool sendLine(const std::string& line) {
  const std::string text = line + "\n";
  std::size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = write(kTunerFd, text.data() + sent, text.size() - sent);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

/// Reads one line from the tuner (an answer, "go" or "prune", or the next trial); nullopt when
/// it is gone or the line is longer than `limit`.
std::optional<std::string> readLine(std::size_t limit) {
  std::string line;
  char c = 0;
  while (line.size() < limit) {
    const ssize_t n = read(kTunerFd, &c, 1);
    if (n == 1) {
      if (c == '\n') {
        return line;
      }
      line += c;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string numberText(double v) { return std::isfinite(v) ? formatNumber(v) : "nan"; }

/// The objective of an epoch from the trainer's state; nullopt when the run does not measure
/// it (no validation split, or no class labels for accuracy).
std::optional<double> objectiveOf(const TrainingState& state, const std::string& objective) {
  if (objective == "val_loss") {
    return state.val_loss;
  }
  if (objective == "val_accuracy") {
    return state.val_accuracy;
  }
  if (state.epoch_rows == 0) {
    return std::nullopt;
  }
  return state.epoch_loss_sum / static_cast<double>(state.epoch_rows);  // train_loss
}

/// Reports the objective to the tuner after every epoch and stops the run when it answers
/// "prune". Serves the one trial run of this process.
class TrialReporter final : public TrainingCallback {
 public:
  explicit TrialReporter(std::string objective) : objective_(std::move(objective)) {}

  Status onEpochEnd(TrainingState& state) override {
    auto value = objectiveOf(state, objective_);
    if (!value) {
      return failedPrecondition(
          "the objective " + objective_ + " is not measured: " +
          (objective_ == "val_accuracy"
               ? "the trial job needs a validation split (validation_fraction) or a "
                 "`validation` dataset, and a model that predicts classes"
               : "the trial job needs a validation split (validation_fraction) or a "
                 "`validation` dataset"));
    }
    last_ = *value;
    epochs_ = state.epoch + 1;
    if (!sendLine("epoch " + std::to_string(epochs_) + " " + numberText(*value))) {
      return cancelled("the tuner is gone");
    }
    auto answer = readLine(64);
    if (!answer) {
      return cancelled("the tuner is gone");
    }
    if (*answer == "prune") {
      pruned_ = true;
      state.requestStop("pruned by the tuner after epoch " + std::to_string(epochs_));
    }
    return Status();
  }

  std::optional<double> last() const { return last_; }
  bool pruned() const { return pruned_; }

 private:
  std::string objective_;
  std::optional<double> last_;
  std::uint64_t epochs_ = 0;
  bool pruned_ = false;
};

std::string stringOf(const GraphNode& node, const std::string& param) {
  for (const auto& [name, value] : node.values) {
    if (name == param) {
      if (const auto* s = std::get_if<std::string>(&value)) {
        return *s;
      }
    }
  }
  return {};
}

std::vector<double> parseValues(const std::string& json) {
  std::vector<double> values;
  Poco::JSON::Parser parser;
  auto array = parser.parse(json).extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; i < array->size(); ++i) {
    const auto v = array->get(static_cast<unsigned>(i));
    values.push_back(v.isEmpty() ? std::numeric_limits<double>::quiet_NaN()
                                 : v.convert<double>());
  }
  return values;
}

/// Copies `decl` with `overrides` (param -> YAML text, written at the given place) replacing or
/// adding parameters. Every ParamDecl is copy-constructed (never assigned: see ParamDecl).
NodeDecl withOverrides(const NodeDecl& decl,
                       const std::map<std::string, std::pair<std::string, SourceLocation>>&
                           overrides) {
  NodeDecl copy(decl);
  std::vector<ParamDecl> params;
  std::set<std::string> done;
  for (const auto& param : decl.params) {
    auto found = overrides.find(param.name);
    if (found == overrides.end()) {
      params.push_back(param);
    } else {
      params.push_back(ParamDecl{param.name, found->second.second,
                                 YAML::Load(found->second.first), found->second.second});
      done.insert(param.name);
    }
  }
  for (const auto& [name, value] : overrides) {
    if (done.count(name) == 0) {
      params.push_back(ParamDecl{name, value.second, YAML::Load(value.first), value.second});
    }
  }
  copy.params = std::move(params);
  return copy;
}

}  // namespace

Expected<TrialWorkerOptions> parseTrialWorkerOptions(const std::vector<std::string>& words) {
  TrialWorkerOptions o;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < words.size(); i += 2) {
    const std::string& flag = words[i];
    if (i + 1 >= words.size()) {
      return invalidArgument("tune worker: " + flag + " needs a value");
    }
    const std::string& value = words[i + 1];
    seen.insert(flag);
    auto number = [&](auto& out) -> Status {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      return ec == std::errc() && end == value.data() + value.size()
                 ? Status()
                 : invalidArgument("tune worker: " + flag + " needs a number, got '" + value +
                                   "'");
    };
    if (flag == "--config") {
      o.config = value;
    } else if (flag == "--node") {
      o.node = value;
    } else if (flag == "--threads") {
      AIMASS_RETURN_IF_ERROR(number(o.threads));
    } else if (flag == "--study") {
      o.study = value;
    } else if (flag == "--parent") {
      AIMASS_RETURN_IF_ERROR(number(o.parent));
    } else {
      return invalidArgument("tune worker: unknown option '" + flag + "'");
    }
  }
  for (const char* required :
       {"--config", "--node", "--threads", "--study", "--parent"}) {
    if (seen.count(required) == 0) {
      return invalidArgument(std::string("tune worker: ") + required + " is required");
    }
  }
  return o;
}

Expected<ConfigDocument> trialDocument(const Graph& graph, const std::string& tune_node,
                                       const std::vector<TuneDimension>& dimensions,
                                       const std::vector<double>& values,
                                       const std::string& artifact, const std::string& study,
                                       int threads) {
  const GraphNode* tune = findGraphNode(graph.nodes(), tune_node);
  if (tune == nullptr || tune->decl.type != "job.tune") {
    return invalidArgument("the configuration has no job.tune node '" + tune_node + "'");
  }
  const std::string trial_job = firstRef(*tune, "trial");
  const auto closure = dependencyClosure(graph.nodes(), trial_job);
  if (values.size() != dimensions.size()) {
    return invalidArgument("the trial has " + std::to_string(values.size()) +
                           " values for a space of " + std::to_string(dimensions.size()) +
                           " dimensions");
  }
  // node -> param -> (YAML text, where)
  std::map<std::string, std::map<std::string, std::pair<std::string, SourceLocation>>> overrides;
  for (std::size_t i = 0; i < dimensions.size(); ++i) {
    const TuneDimension& d = dimensions[i];
    const std::string text = trialValueText(d, values[i]);
    if (!text.empty()) {
      overrides[d.node][d.param] = {text, d.where};
    }
  }
  auto& job = overrides[trial_job];
  const SourceLocation here = tune->decl.where;
  job["register"] = {"false", here};
  job["resume"] = {"never", here};
  job["checkpoint_every"] = {"0", here};
  job["experiment"] = {"'" + study + "'", here};
  if (!artifact.empty()) {
    job["artifact"] = {"'" + artifact + "'", here};
  }
  ConfigDocument trial;
  trial.file = graph.document().file;
  trial.base_dir = graph.document().base_dir;
  trial.plugin_paths = graph.document().plugin_paths;
  trial.threads = threads;
  for (const auto& decl : graph.document().nodes) {
    if (std::find(closure.begin(), closure.end(), decl.name) == closure.end()) {
      continue;
    }
    auto found = overrides.find(decl.name);
    trial.nodes.push_back(found == overrides.end() ? NodeDecl(decl)
                                                   : withOverrides(decl, found->second));
  }
  return trial;
}

namespace {

/// The datasets a worker keeps between trials, by what they were made from: a trial whose
/// dataset nodes have the same type, values and references as an earlier trial's gets the
/// same instances instead of reading the files again.
class KeptDatasets {
 public:
  std::shared_ptr<Node> find(const GraphNode& node) const {
    if (node.type == nullptr || node.type->type.kind != NodeKind::kDataset) {
      return nullptr;
    }
    auto found = kept_.find(keyOf(node));
    return found == kept_.end() ? nullptr : found->second;
  }
  void keep(const Graph& graph) {
    for (const auto& node : graph.nodes()) {
      if (node.type != nullptr && node.type->type.kind == NodeKind::kDataset && node.instance &&
          kept_.size() < kMaxKept) {
        kept_.emplace(keyOf(node), node.instance);
      }
    }
  }

 private:
  static constexpr std::size_t kMaxKept = 8;
  static std::string keyOf(const GraphNode& node) {
    std::string key = node.decl.type;
    for (const auto& [name, value] : node.values) {
      key += "\n" + name + "=" + paramValueText(value);
    }
    for (const auto& [name, targets] : node.refs) {
      key += "\n" + name + "->" + paramValueText(targets);
    }
    return key;
  }
  std::map<std::string, std::shared_ptr<Node>> kept_;
};

/// One trial assigned by the tuner.
struct TrialAssignment {
  std::uint64_t number = 0;
  std::string artifact;
  std::string values_json;
};

/// "trial N ARTIFACT VALUES" ("-" for no artifact); nullopt for anything else.
std::optional<TrialAssignment> parseAssignment(const std::string& line) {
  std::istringstream in(line);
  std::string word, number, artifact;
  if (!(in >> word >> number >> artifact) || word != "trial") {
    return std::nullopt;
  }
  TrialAssignment a;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), a.number);
  if (ec != std::errc() || end != number.data() + number.size()) {
    return std::nullopt;
  }
  a.artifact = artifact == "-" ? std::string() : artifact;
  std::getline(in >> std::ws, a.values_json);
  return a;
}

/// Runs one trial and sends how it ended; false when the tuner is gone.
bool runTrial(const TrialWorkerOptions& options, const Graph& graph,
              const std::vector<TuneDimension>& dimensions, const TrialAssignment& trial,
              HostServices& host, KeptDatasets& kept) {
  std::int64_t run_id = 0;
  auto fail = [&](const std::string& reason) {
    std::string line = reason;
    std::replace(line.begin(), line.end(), '\n', ' ');
    return sendLine("failed " + std::to_string(run_id) + " " + line);
  };
  std::vector<double> values;
  Status parsed =
      guard("reading the trial's values", [&] { values = parseValues(trial.values_json); });
  if (!parsed.ok()) {
    return fail(parsed.message());
  }
  auto document = trialDocument(graph, options.node, dimensions, values, trial.artifact,
                                options.study, options.threads);
  if (!document.ok()) {
    return fail(document.status().message());
  }
  Diagnostics diagnostics;
  auto trial_graph = Graph::validate(*document, graph.registry(), diagnostics);
  if (!trial_graph) {
    return fail("invalid configuration: " + formatDiagnostics(diagnostics));
  }
  const GraphNode* tune = findGraphNode(graph.nodes(), options.node);
  const std::string trial_job = firstRef(*tune, "trial");
  const std::string objective = stringOf(*tune, "objective");
  Status status = guard("creating the trial's nodes", [&] {
    return trial_graph->instantiate(host, [&](const GraphNode& node) { return kept.find(node); });
  });
  if (!status.ok()) {
    return fail(status.message());
  }
  kept.keep(*trial_graph);
  attachTrainTrackingContext(*trial_graph);
  attachTrainModelFactory(*trial_graph, host);
  auto job = std::dynamic_pointer_cast<TrainJob>(trial_graph->node(trial_job));
  if (!job) {
    return fail("trial job '" + trial_job + "' is not a job.train");
  }
  auto reporter = std::make_shared<TrialReporter>(objective);
  job->addCallback({"tune", reporter, "job.tune"});
  job->addTrackingContext({}, {{"tune.study", options.study},
                               {"tune.trial", std::to_string(trial.number)}});
  SilentProgress progress;
  status = guard("trial job", [&] { return job->run(host, progress); });
  run_id = job->runId();
  if (!status.ok()) {
    return fail(status.message());
  }
  std::optional<double> value = reporter->last();
  if (!value) {
    auto metric = job->finalMetrics().find(objective);
    if (metric == job->finalMetrics().end()) {
      return fail("the trial job reported no " + objective);
    }
    value = metric->second;
  }
  return sendLine("done " + numberText(*value) + " " + std::to_string(run_id) + " " +
                  (reporter->pruned() ? "1" : "0") + " " +
                  (trial.artifact.empty() ? "-" : trial.artifact));
}

}  // namespace

int runTrialWorker(const TrialWorkerOptions& options, const Graph& graph, LogLevel log_level) {
  // Die with the tuner, however it ends; a tuner already gone means nobody awaits this worker.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != options.parent) {
    return 1;
  }
  const GraphNode* tune = findGraphNode(graph.nodes(), options.node);
  Diagnostics diagnostics;
  auto dimensions = tune != nullptr && tune->decl.type == "job.tune"
                        ? tuneSpaceOf(graph.nodes(), *tune, diagnostics)
                        : std::nullopt;
  if (!dimensions) {
    return 1;  // the configuration changed under the tuner: it was valid when the study began
  }
  HostServices host(graph.document().base_dir, options.threads);
  host.setLogLevel(log_level);
  KeptDatasets kept;  // after the host: its nodes go first
  while (true) {
    auto line = readLine(1 << 20);
    if (!line) {
      return 0;  // the tuner closed the socket: no more trials
    }
    auto trial = parseAssignment(*line);
    if (!trial || !runTrial(options, graph, *dimensions, *trial, host, kept)) {
      return 1;
    }
  }
}

}  // namespace aimass::core
