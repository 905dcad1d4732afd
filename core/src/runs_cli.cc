// SPDX-License-Identifier: Apache-2.0
#include "runs_cli.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <utility>

#include "aimass/core/cli.h"
#include "aimass/core/registry_services.h"
#include "aimass/util/registry_json.h"
#include "evaluation_record.h"
#include "models_cli.h"
#include "store_options.h"

namespace aimass::core {

const char kRunsHelp[] =
    "The experiment tracking in the storage of a configuration: one run per job.train run\n"
    "(unless `track: false`), with its parameters, metrics per step and per epoch, artifacts\n"
    "and outcome. Only the configuration's storage node is created (the first one, or\n"
    "--storage-node NAME); nothing is trained. Runs whose process died without finishing them\n"
    "(SIGKILL, a crash) are marked failed first.\n"
    "\n"
    "  list      runs, newest first: id, experiment, status, start, duration, key metrics\n"
    "    --experiment NAME    only this experiment's runs\n"
    "    --filter CONDITIONS  e.g. 'val_accuracy>0.8' or 'val_accuracy>=0.8, loss<0.4' (also\n"
    "                         joined by 'and'; repeatable); compares each run's last value;\n"
    "                         operators < <= > >= = !=\n"
    "    --status STATUS      running, finished, failed or killed\n"
    "    --sort METRIC        by the metric's last value, smallest first (--desc: largest\n"
    "                         first); runs without it come last\n"
    "    --limit N            at most N runs (default 100; 0: all)\n"
    "    --offset N           skip the first N matching runs (the next page: N + limit)\n"
    "  show ID   one run: status, times, error, params, every metric (last, min, max, number\n"
    "            of points, last step) and artifacts\n"
    "  metric ID NAME   every value of one metric of the run: step, value, time\n"
    "    --after-step N       only the values of later steps (to follow a running job)\n"
    "    --limit N            about N values, ending with a whole step (default 0: all)\n"
    "\n"
    "--json prints JSON instead of text. Instead of --config CONFIG, --storage URI opens a\n"
    "store directly, in one of the forms the storage plugins declare (listed below).\n"
    "\n"
    "Exit code: 0 success; 1 the store failed (I/O error, corrupt record); 2 bad input: usage,\n"
    "a bad filter, an invalid configuration, no storage node, an unknown run or experiment.\n"
    "\n"
    "Examples:\n"
    "  aimass runs list --config configs/quickstart.yaml\n"
    "  aimass runs list --filter 'val_accuracy>0.8' --sort val_accuracy --desc --limit 5 \\\n"
    "      --config configs/quickstart.yaml\n"
    "  aimass runs show 3 --config configs/quickstart.yaml\n"
    "  aimass runs metric 3 val_accuracy --config configs/quickstart.yaml\n"
    "  aimass runs list --status failed --storage sqlite:///var/lib/aimass/store.db\n";

namespace {

std::string formatFigure(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", v);
  return buffer;
}

std::string formatDuration(const RunInfo& run) {
  if (run.end_unix_ms == 0) {
    return "-";
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1fs",
                static_cast<double>(run.end_unix_ms - run.start_unix_ms) / 1000.0);
  return buffer;
}

/// `runs show`'s lines about a run's stored evaluation report (evaluationJson()): what was
/// evaluated, which plots it holds and where the whole report is. The metrics are the run's.
std::string evaluationSummary(const std::string& report, std::int64_t id) {
  const std::string where = "  report      GET /api/v1/runs/" + std::to_string(id) +
                            "/evaluation, or runs show " + std::to_string(id) + " --json\n";
  Poco::JSON::Object::Ptr root;
  try {
    root = Poco::JSON::Parser().parse(report).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception& e) {
    return "  (the stored report is no JSON object: " + std::string(e.what()) + ")\n" + where;
  }
  auto text = [&](const Poco::JSON::Object::Ptr& object, const std::string& key) {
    return object->has(key) && !object->isNull(key) ? object->get(key).toString()
                                                    : std::string("?");
  };
  auto size = [&](const Poco::JSON::Object::Ptr& object, const std::string& key) {
    auto array = object ? object->getArray(key) : nullptr;
    return array ? std::to_string(array->size()) : std::string("?");
  };
  std::string out = "  task        " + text(root, "task") + ", " + text(root, "rows") +
                    " rows of dataset '" + text(root, "dataset") + "', model '" +
                    text(root, "model") + "'\n";
  if (auto roc = root->getObject("roc"); roc) {
    auto pr = root->getObject("pr");
    out += "  curves      ROC and precision-recall of class '" + text(roc, "positive_class") +
           "', " + size(roc, "fpr") + " points of " + text(roc, "distinct_thresholds") +
           "; average precision " + (pr ? text(pr, "average_precision") : "?") + "\n";
  }
  if (auto residuals = root->getObject("residuals"); residuals) {
    auto histogram = root->getObject("residual_histogram");
    out += "  residuals   " + size(residuals, "predicted") + " (predicted, actual) pairs, every " +
           text(residuals, "stride") + " of " + text(residuals, "values") +
           " values; histogram of " + size(histogram, "counts") + " bins\n";
  }
  if (auto confusion = root->getArray("confusion_matrix"); confusion) {
    out += "  confusion   " + std::to_string(confusion->size()) + " x " +
           std::to_string(confusion->size()) + " matrix, with per-class scores\n";
  }
  return out + where;
}

}  // namespace

Status printRunList(const RunsCommand& command, Tracking& tracking, std::ostream& out) {
  AIMASS_ASSIGN_OR_RETURN(RunListing result, runListing(tracking, command.query));
  const RunQuery& query = command.query;
  if (command.json) {
    out << runListJson(result);
    return Status();
  }
  if (result.runs.empty()) {
    out << "no runs\n";
    return Status();
  }
  // Metric columns: the sort and filter metrics, then the usual figures of a training run.
  std::vector<std::string> columns;
  auto addColumn = [&](const std::string& name) {
    if (std::find(columns.begin(), columns.end(), name) != columns.end()) {
      return;
    }
    for (const auto& run : result.runs) {
      if (run.metrics.count(name) > 0) {
        columns.push_back(name);
        return;
      }
    }
  };
  if (!query.sort_metric.empty()) {
    addColumn(query.sort_metric);
  }
  for (const auto& filter : query.filters) {
    addColumn(filter.metric);
  }
  for (const char* name : {"val_accuracy", "val_loss", "train_loss", "objective"}) {
    addColumn(name);
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"ID", "EXPERIMENT", "STATUS", "STARTED", "DURATION"};
  for (const auto& name : columns) {
    std::string upper;
    for (char c : name) {
      upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    header.push_back(upper);
  }
  rows.push_back(std::move(header));
  for (const auto& run : result.runs) {
    std::vector<std::string> row = {std::to_string(run.id), run.experiment,
                                    std::string(runStateName(run.state)),
                                    formatUtcTime(run.start_unix_ms), formatDuration(run)};
    for (const auto& name : columns) {
      auto it = run.metrics.find(name);
      row.push_back(it == run.metrics.end() ? "-" : formatFigure(it->second));
    }
    rows.push_back(std::move(row));
  }
  out << textTable(rows);
  if (result.matched > result.runs.size()) {
    if (query.offset == 0) {
      out << "(" << result.runs.size() << " of " << result.matched << " matching runs shown";
    } else {
      out << "(runs " << query.offset + 1 << " to " << query.offset + result.runs.size() << " of "
          << result.matched << " matching shown";
    }
    out << "; --limit 0 shows all)\n";
  }
  return Status();
}

Status printRun(const RunsCommand& command, Tracking& tracking, std::ostream& out,
                Storage* storage) {
  AIMASS_ASSIGN_OR_RETURN(RunDetails details, runDetails(tracking, command.run_id));
  const RunInfo& run = details.run;
  const auto& summaries = details.metrics;
  std::string evaluation;
  if (storage != nullptr && run.node_type == "job.evaluate") {
    auto stored = storedEvaluation(*storage, run.id);
    if (stored.ok()) {
      evaluation = std::move(stored).value();
    } else if (stored.status().code() != StatusCode::kNotFound) {
      return stored.status();
    }
  }
  if (command.json) {
    std::string json = runJson(details);
    // The report goes in as the object's last member, after the last one runJson() wrote.
    const std::size_t close = json.rfind('}');
    if (!evaluation.empty() && close != std::string::npos && close > 0) {
      const std::size_t last = json.find_last_not_of(" \n", close - 1);
      evaluation.erase(evaluation.find_last_not_of(" \n") + 1);
      json.insert(last + 1, ",\n  \"evaluation\": " + evaluation);
    }
    out << json;
    return Status();
  }
  out << "run         " << run.id << "\n"
      << "experiment  " << run.experiment << "\n"
      << "status      " << runStateName(run.state) << "\n";
  if (!run.error.empty()) {
    out << "error       " << run.error << "\n";
  }
  out << "node        " << run.node << " (" << run.node_type << ")\n"
      << "started     " << formatUtcTime(run.start_unix_ms) << "\n"
      << "ended       " << (run.end_unix_ms > 0 ? formatUtcTime(run.end_unix_ms) : "-") << "\n"
      << "duration    " << formatDuration(run) << "\n"
      << "process     pid " << run.pid << " on " << run.host << "\n";
  out << "params\n";
  if (run.params.empty()) {
    out << "  -\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [name, value] : run.params) {
      rows.push_back({"  " + name, value.empty() ? "\"\"" : value});
    }
    out << textTable(rows);
  }
  out << "metrics\n";
  if (summaries.empty()) {
    out << "  -\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"  NAME", "LAST", "MIN", "MAX", "POINTS", "LAST STEP"}};
    for (const auto& s : summaries) {
      rows.push_back({"  " + s.name, formatFigure(s.last), formatFigure(s.min), formatFigure(s.max),
                      std::to_string(s.points), std::to_string(s.last_step)});
    }
    out << textTable(rows);
  }
  out << "artifacts\n";
  if (run.artifacts.empty()) {
    out << "  -\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [name, value] : run.artifacts) {
      rows.push_back({"  " + name, value});
    }
    out << textTable(rows);
  }
  if (!evaluation.empty()) {
    out << "evaluation\n" << evaluationSummary(evaluation, run.id);
  }
  return Status();
}

Status printMetricHistory(const RunsCommand& command, Tracking& tracking, std::ostream& out) {
  AIMASS_ASSIGN_OR_RETURN(RunMetricHistory history, metricHistory(tracking, command.metric_query));
  if (command.json) {
    out << metricHistoryJson(history);
    return Status();
  }
  if (history.points.empty()) {
    out << "run " << history.run << " has no value of '" << history.metric << "'"
        << (command.metric_query.after_step
                ? " after step " + std::to_string(*command.metric_query.after_step)
                : std::string())
        << "\n";
    return Status();
  }
  std::vector<std::vector<std::string>> rows = {{"STEP", "VALUE", "TIME"}};
  for (const auto& p : history.points) {
    rows.push_back({std::to_string(p.step), formatFigure(p.value), formatUtcTime(p.unix_ms)});
  }
  out << textTable(rows);
  if (history.more) {
    out << "(" << history.points.size() << " of the " << history.total
        << " values shown; --after-step " << history.points.back().step
        << " shows the next ones)\n";
  }
  return Status();
}

namespace {

/// A whole number (negative too when `negative`); kInvalidArgument naming `what` otherwise.
Expected<std::int64_t> parseWhole(std::string_view text, const std::string& what,
                                  bool negative = false) {
  std::int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      (value < 0 && !negative)) {
    return invalidArgument(what + " must be a whole number, got '" + std::string(text) + "'");
  }
  return value;
}

/// A run ID: a whole number from 1.
Expected<std::int64_t> parseRunId(const std::string& text) {
  auto id = parseWhole(text, "the run ID");
  if (!id.ok() || *id == 0) {
    return invalidArgument("the run ID must be a whole number from 1, got '" + text + "'");
  }
  return id;
}

/// `runs metric ID NAME`: the run and metric, and no option of `list` but --limit.
Status parseMetricArguments(RunsCommand& command, const std::vector<std::string>& options) {
  if (command.arguments.size() != 2) {
    return invalidArgument(
        "'aimass runs metric' takes a run ID and a metric name (usage: aimass runs metric ID "
        "NAME [--after-step N] [--limit N] [--json] --config CONFIG)");
  }
  for (const std::string& option : options) {
    if (option != "--limit" && option != "--after-step") {
      return invalidArgument(option + " is not an option of 'aimass runs metric'");
    }
  }
  AIMASS_ASSIGN_OR_RETURN(command.metric_query.run, parseRunId(command.arguments[0]));
  AIMASS_RETURN_IF_ERROR(Tracking::validateName(command.arguments[1], "metric"));
  command.metric_query.metric = command.arguments[1];
  return Status();
}

}  // namespace

Expected<RunsCommand> parseRunsCommand(const std::vector<std::string>& words) {
  RunsCommand command;
  command.query.limit = 100;
  std::vector<std::string> list_options;  // given, for the check that show takes none
  auto handle = [&](const std::string& option, const std::string& taken) -> Status {
    if (option == "--json") {
      command.json = true;
      return Status();
    }
    list_options.push_back(option);
    if (option == "--desc") {
      command.query.descending = true;
    } else if (option == "--experiment") {
      AIMASS_RETURN_IF_ERROR(Tracking::validateName(taken, "experiment"));
      command.query.experiment = taken;
    } else if (option == "--filter") {
      AIMASS_ASSIGN_OR_RETURN(auto filters, parseMetricFilters(taken));
      command.query.filters.insert(command.query.filters.end(), filters.begin(), filters.end());
    } else if (option == "--status") {
      auto status = parseRunStatus(taken);
      if (!status) {
        return invalidArgument("unknown run status '" + taken +
                               "' for --status: use running, finished, failed or killed");
      }
      command.query.status = *status;
    } else if (option == "--sort") {
      AIMASS_RETURN_IF_ERROR(Tracking::validateName(taken, "metric").withContext("--sort"));
      command.query.sort_metric = taken;
    } else if (option == "--after-step") {
      AIMASS_ASSIGN_OR_RETURN(command.metric_query.after_step,
                              parseWhole(taken, "--after-step", /*negative=*/true));
    } else if (option == "--offset") {
      AIMASS_ASSIGN_OR_RETURN(std::int64_t offset, parseWhole(taken, "--offset"));
      command.query.offset = static_cast<std::size_t>(offset);
    } else {  // --limit
      AIMASS_ASSIGN_OR_RETURN(std::int64_t limit, parseWhole(taken, "--limit"));
      command.query.limit = static_cast<std::size_t>(limit);
      command.metric_query.limit = static_cast<std::size_t>(limit);
    }
    return Status();
  };
  AIMASS_ASSIGN_OR_RETURN(
      StoreOptions options,
      parseStoreOptions(words,
                        {.command = "runs",
                         .flags = {"--json", "--desc"},
                         .valued = {"--experiment", "--filter", "--status", "--sort", "--limit",
                                    "--offset", "--after-step"}},
                        handle));
  assignStoreChoice(options, command);
  const auto& positional = options.positional;
  if (positional.empty()) {
    return invalidArgument("'runs' needs a subcommand: list, show or metric");
  }
  command.action = positional.front();
  command.arguments.assign(positional.begin() + 1, positional.end());
  if (command.action == "list") {
    if (!command.arguments.empty()) {
      return invalidArgument("'aimass runs list' takes no arguments, got '" +
                             command.arguments.front() + "'");
    }
    if (command.metric_query.after_step) {
      return invalidArgument("--after-step is an option of 'aimass runs metric', not of list");
    }
    if (command.query.descending && command.query.sort_metric.empty()) {
      return invalidArgument("--desc needs --sort METRIC");
    }
  } else if (command.action == "show") {
    if (command.arguments.size() != 1) {
      return invalidArgument(
          "'aimass runs show' takes one run ID (usage: aimass runs show ID "
          "[--json] --config CONFIG)");
    }
    if (!list_options.empty()) {
      return invalidArgument(list_options.front() + " is not an option of 'aimass runs show'");
    }
    AIMASS_ASSIGN_OR_RETURN(command.run_id, parseRunId(command.arguments.front()));
  } else if (command.action == "metric") {
    AIMASS_RETURN_IF_ERROR(parseMetricArguments(command, list_options));
  } else {
    return invalidArgument("unknown subcommand 'runs " + command.action +
                           "': use list, show or metric");
  }
  AIMASS_RETURN_IF_ERROR(checkStoreChoice("runs " + command.action, "runs", command.config,
                                          command.storage_uri, command.storage_node));
  return command;
}

int runRunsCommand(const RunsCommand& command, RunsStore& store, std::ostream& out,
                   std::ostream& err) {
  Tracking& tracking = store.tracking;
  auto recovered = tracking.recoverAbandonedRuns();
  if (!recovered.ok()) {
    err << "aimass: warning: could not check for runs left unfinished: "
        << recovered.status().message() << "\n";
  }
  Status status = command.action == "list"   ? printRunList(command, tracking, out)
                  : command.action == "show" ? printRun(command, tracking, out, &store.storage)
                                             : printMetricHistory(command, tracking, out);
  return storeCommandExit(status, err);
}

}  // namespace aimass::core
