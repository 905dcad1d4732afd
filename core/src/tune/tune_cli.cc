// SPDX-License-Identifier: Apache-2.0
#include "tune/tune_cli.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <set>
#include <utility>

#include "aimass/core/cli.h"
#include "aimass/core/tracking.h"
#include "aimass/util/json_writer.h"
#include "parsed_json_writer.h"
#include "store_options.h"
#include "text_format.h"
#include "tune/importance.h"
#include "tune/study.h"

namespace aimass::core {

const char kTuneHelp[] =
    "The studies of job.tune kept in the storage of a configuration: each study's settings,\n"
    "its trials (the values tried, the objective each reached, how each ended) and the search\n"
    "optimizer's state, under the keys tune/STUDY/. Only the configuration's storage node is\n"
    "created (the first one, or --storage-node NAME); nothing is trained or tuned.\n"
    "\n"
    "  list        one row per study: optimizer, objective and direction, trials (all,\n"
    "              complete, pruned, failed, running) and the best value\n"
    "  show STUDY  the study's settings (optimizer, seed, objective, search space), the\n"
    "              leaderboard and the parameter importances\n"
    "    --top N   only the N best trials of the leaderboard (default: all)\n"
    "\n"
    "The leaderboard lists complete trials best first, then pruned ones (by their last value),\n"
    "then failed and running ones: rank, trial number, state, objective value, epochs reported\n"
    "(or the epoch a pruned trial stopped at), each dimension's value (\"-\" where a\n"
    "conditional dimension was inactive), the tracked run (see `aimass runs show`) and the\n"
    "duration; failed trials' reasons follow it.\n"
    "\n"
    "Parameter importances estimate how much of the objective's variation over the complete\n"
    "trials each dimension explains on its own: the trials are grouped by the dimension's\n"
    "value (by choice, or into 4 bins at the quartiles of a numeric dimension; an inactive\n"
    "conditional dimension is one more group), the variance between the groups' means is\n"
    "taken as a fraction of the total variance, less what as many groups explain by chance\n"
    "(epsilon squared), and the shares are scaled to sum to 1. They need at least 4 complete\n"
    "trials; interactions between dimensions are not seen, and a few trials give a rough\n"
    "picture.\n"
    "\n"
    "--json prints JSON instead of text. Instead of --config CONFIG, --storage URI opens a\n"
    "store directly, in one of the forms the storage plugins declare (listed below).\n"
    "\n"
    "Exit code: 0 success; 1 the store failed (I/O error, corrupt record); 2 bad input: usage,\n"
    "an invalid configuration, no storage node, an unknown study.\n"
    "\n"
    "Examples:\n"
    "  aimass tune list --config configs/tune.yaml\n"
    "  aimass tune show fashion --top 10 --config configs/tune.yaml\n"
    "  aimass tune show fashion --json --storage sqlite:///var/lib/aimass/store.db\n";

namespace {

using State = Trial::State;

std::string formatFigure(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

std::string formatShare(double share) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", share);
  return buffer;
}

std::string formatSeconds(double seconds) {
  char buffer[32];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  } else if (seconds < 3600) {
    const auto s = static_cast<long long>(std::llround(seconds));
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
  } else {
    const auto m = static_cast<long long>(std::llround(seconds / 60));
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", m / 60, m % 60);
  }
  return buffer;
}

/// The trial's duration in seconds; negative while it has not ended.
double duration(const Trial& t) { return t.ended > 0 ? std::max(0.0, t.ended - t.started) : -1; }

/// The highest epoch the trial reported; nullopt when it reported none.
std::optional<std::uint64_t> lastEpoch(const Trial& t) {
  if (t.intermediate.empty()) {
    return std::nullopt;
  }
  return t.intermediate.rbegin()->first;
}

/// Dimension `d`'s value in trial `t` as trialValueText() writes it; empty when inactive.
std::string dimensionText(const TuneDimension& d, std::size_t index, const Trial& t) {
  return index < t.values.size() ? trialValueText(d, t.values[index]) : std::string();
}

/// The trials best first: complete ones by value, then pruned ones by their last value, then
/// failed and running ones by number. Ties keep trial order.
std::vector<const Trial*> leaderboard(const StudySettings& settings,
                                      const std::vector<Trial>& trials) {
  std::vector<const Trial*> order;
  for (const auto& t : trials) {
    order.push_back(&t);
  }
  auto tier = [](const Trial* t) {
    if (t->state == State::kComplete && t->value) return 0;
    if (t->state == State::kPruned && t->value) return 1;
    if (t->state == State::kComplete || t->state == State::kPruned) return 2;
    return 3;
  };
  auto better = [&](const Trial* a, const Trial* b) {
    if (tier(a) != tier(b)) {
      return tier(a) < tier(b);
    }
    if (tier(a) <= 1 && *a->value != *b->value) {
      return settings.maximize ? *a->value > *b->value : *a->value < *b->value;
    }
    return a->number < b->number;
  };
  std::stable_sort(order.begin(), order.end(), better);
  return order;
}

/// The best trial: the first of the leaderboard when it has a value and did not fail.
const Trial* bestOf(const std::vector<const Trial*>& board) {
  if (board.empty() || !board.front()->value ||
      (board.front()->state != State::kComplete && board.front()->state != State::kPruned)) {
    return nullptr;
  }
  return board.front();
}

std::size_t countIn(const std::vector<Trial>& trials, State state) {
  return static_cast<std::size_t>(std::count_if(trials.begin(), trials.end(),
                                                [&](const Trial& t) { return t.state == state; }));
}

void writeDimensionValue(JsonWriter& json, const TuneDimension& d, std::size_t index,
                         const Trial& t) {
  const std::string text = dimensionText(d, index, t);
  if (text.empty()) {
    json.null();
    return;
  }
  // Parsed inside an array: Poco's parser wants a container at the top.
  Poco::Dynamic::Var value;
  Status parsed = guard("reading a tried value", [&]() -> Status {
    Poco::JSON::Parser parser;
    auto array = parser.parse("[" + text + "]").extract<Poco::JSON::Array::Ptr>();
    if (array->size() != 1) {
      return dataLoss("not one JSON value");
    }
    value = array->get(0);
    return Status();
  });
  if (parsed.ok()) {
    writeParsedJson(json, value);
  } else {
    json.value(text);  // not JSON after all: the text as it is
  }
}

void writeParams(JsonWriter& json, const StudySettings& settings, const Trial& t) {
  json.beginObject();
  for (std::size_t d = 0; d < settings.dimensions.size(); ++d) {
    json.key(settings.dimensions[d].key);
    writeDimensionValue(json, settings.dimensions[d], d, t);
  }
  json.endObject();
}

void writeOptional(JsonWriter& json, const std::optional<double>& v) {
  if (v) {
    json.value(*v);
  } else {
    json.null();
  }
}

void writeTrialJson(JsonWriter& json, const StudySettings& settings, const Trial& t,
                    std::size_t rank) {
  json.beginObject().key("rank").value(std::uint64_t{rank});
  json.key("number").value(t.number).key("state").value(trialStateName(t.state));
  json.key("value");
  writeOptional(json, t.value);
  json.key("epochs");
  if (auto epoch = lastEpoch(t)) {
    json.value(*epoch);
  } else {
    json.null();
  }
  json.key("intermediate").beginObject();
  for (const auto& [epoch, v] : t.intermediate) {
    json.key(std::to_string(epoch)).value(v);
  }
  json.endObject();
  json.key("params");
  writeParams(json, settings, t);
  json.key("reason").value(t.reason).key("run_id").value(std::int64_t{t.run_id});
  json.key("artifact").value(t.artifact);
  json.key("started").value(t.started).key("ended").value(t.ended).key("duration");
  const double seconds = duration(t);
  writeOptional(json, seconds >= 0 ? std::optional<double>(seconds) : std::nullopt);
  json.endObject();
}

/// "[0.0001, 0.1]" or "[128] | [256, 128]": what a dimension may take.
std::string domainText(const TuneDimension& d) {
  if (d.kind != TuneDimension::Kind::kChoice) {
    return "[" + formatFigure(d.low) + ", " + formatFigure(d.high) + "]";
  }
  std::string text;
  for (const auto& c : d.choices) {
    text += (text.empty() ? "" : " | ") + c;
  }
  return text;
}

/// "fashion.hidden in [256, 128]" for a conditional dimension; "-" otherwise.
std::string whenText(const StudySettings& settings, const TuneDimension& d) {
  if (!d.parent || *d.parent >= settings.dimensions.size()) {
    return "-";
  }
  const TuneDimension& parent = settings.dimensions[*d.parent];
  std::string values;
  for (std::size_t c : d.parent_choices) {
    values += (values.empty() ? "" : " | ") +
              (c < parent.choices.size() ? parent.choices[c] : std::to_string(c));
  }
  return parent.key + " in " + values;
}

std::string studyJsonText(const StudySettings& settings, const std::vector<const Trial*>& board,
                          const std::vector<double>& importances, std::size_t shown) {
  JsonWriter json;
  json.beginObject().key("study").value(settings.name);
  json.key("optimizer").value(settings.optimizer_type).key("seed").value(settings.seed);
  json.key("objective").value(settings.objective);
  json.key("direction").value(settings.maximize ? "maximize" : "minimize");
  json.key("space");
  writeTuneSpace(json, settings.dimensions);
  json.key("trials").beginArray();
  for (std::size_t i = 0; i < shown; ++i) {
    writeTrialJson(json, settings, *board[i], i + 1);
  }
  json.endArray().key("importances");
  if (importances.empty()) {
    json.null();
  } else {
    json.beginObject();
    for (std::size_t d = 0; d < settings.dimensions.size(); ++d) {
      json.key(settings.dimensions[d].key).value(importances[d]);
    }
    json.endObject();
  }
  json.key("best");
  if (const Trial* best = bestOf(board)) {
    json.beginObject().key("number").value(best->number).key("value").value(*best->value);
    json.key("params");
    writeParams(json, settings, *best);
    json.endObject();
  } else {
    json.null();
  }
  json.endObject();
  return json.str();
}

/// The leaderboard's table: a header and the first `shown` trials.
std::vector<std::vector<std::string>> leaderboardRows(const StudySettings& settings,
                                                      const std::vector<const Trial*>& board,
                                                      std::size_t shown) {
  std::vector<std::string> header = {"  RANK", "TRIAL", "STATE", "VALUE", "EPOCHS"};
  for (const auto& d : settings.dimensions) {
    header.push_back(d.key);
  }
  header.push_back("RUN");
  header.push_back("DURATION");
  std::vector<std::vector<std::string>> rows = {std::move(header)};
  for (std::size_t i = 0; i < shown; ++i) {
    const Trial& t = *board[i];
    const auto epoch = lastEpoch(t);
    std::string epochs = epoch ? std::to_string(*epoch) : "-";
    if (t.state == State::kPruned) {
      epochs = epoch ? "pruned at epoch " + epochs : "pruned";
    }
    std::vector<std::string> row = {"  " + std::to_string(i + 1), std::to_string(t.number),
                                    trialStateName(t.state), t.value ? formatFigure(*t.value) : "-",
                                    epochs};
    for (std::size_t d = 0; d < settings.dimensions.size(); ++d) {
      const TuneDimension& dimension = settings.dimensions[d];
      const std::string text = dimensionText(dimension, d, t);
      // Floats to 6 figures here (the JSON has them exactly); choices and ints as they are.
      const bool figure = !text.empty() && dimension.kind != TuneDimension::Kind::kChoice &&
                          dimension.param_type != ParamType::kInt;
      row.push_back(text.empty() ? "-" : figure ? formatFigure(t.values[d]) : text);
    }
    row.push_back(t.run_id > 0 ? std::to_string(t.run_id) : "-");
    const double seconds = duration(t);
    row.push_back(seconds >= 0 ? formatSeconds(seconds) : "-");
    rows.push_back(std::move(row));
  }
  return rows;
}

void printStudyText(const StudySettings& settings, const std::vector<Trial>& trials,
                    const std::vector<const Trial*>& board, const std::vector<double>& importances,
                    std::size_t shown, std::ostream& out) {
  out << "study      " << settings.name << "\n"
      << "optimizer  " << settings.optimizer_type << " (seed " << settings.seed << ")\n"
      << "objective  " << settings.objective << " ("
      << (settings.maximize ? "maximize" : "minimize") << ")\n"
      << "trials     " << trials.size() << ": " << countIn(trials, State::kComplete)
      << " complete, " << countIn(trials, State::kPruned) << " pruned, "
      << countIn(trials, State::kFailed) << " failed, " << countIn(trials, State::kRunning)
      << " running\n";
  if (const Trial* best = bestOf(board)) {
    out << "best       trial " << best->number << ": " << settings.objective << " "
        << formatFigure(*best->value) << "\n";
  }
  out << "space\n";
  std::vector<std::vector<std::string>> space = {{"  KEY", "KIND", "VALUES", "WHEN"}};
  for (const auto& d : settings.dimensions) {
    space.push_back({"  " + d.key, tuneKindName(d.kind), domainText(d), whenText(settings, d)});
  }
  out << textTable(space) << "leaderboard\n";
  if (board.empty()) {
    out << "  no trials yet\n";
  } else {
    out << textTable(leaderboardRows(settings, board, shown));
    if (shown < board.size()) {
      out << "  (" << shown << " of " << board.size() << " trials shown; drop --top for all)\n";
    }
    for (std::size_t i = 0; i < shown; ++i) {
      if (board[i]->state == State::kFailed) {
        out << "  trial " << board[i]->number
            << " failed: " << (board[i]->reason.empty() ? "(no reason recorded)" : board[i]->reason)
            << "\n";
      }
    }
  }
  out << "importances\n";
  if (importances.empty()) {
    out << "  need at least " << kMinImportanceTrials << " complete trials ("
        << countIn(trials, State::kComplete) << " so far)\n";
    return;
  }
  if (std::all_of(importances.begin(), importances.end(), [](double s) { return s == 0; })) {
    out << "  no dimension explains more of the objective's variation than chance\n";
    return;
  }
  std::vector<std::size_t> order(settings.dimensions.size());
  for (std::size_t d = 0; d < order.size(); ++d) {
    order[d] = d;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return importances[a] > importances[b]; });
  std::size_t width = 0;
  for (const auto& d : settings.dimensions) {
    width = std::max(width, d.key.size());
  }
  for (std::size_t d : order) {
    const auto bar = static_cast<std::size_t>(std::lround(importances[d] * 40));
    const std::string& key = settings.dimensions[d].key;
    out << "  " << key << std::string(width - key.size() + 2, ' ') << formatShare(importances[d])
        << (bar > 0 ? "  " + std::string(bar, '#') : "") << "\n";
  }
}

/// The known studies, for the error of an unknown one.
std::string studyHint(const Storage& storage) {
  auto names = Study::list(storage);
  if (!names.ok()) {
    return "";
  }
  if (names->empty()) {
    return " (it holds no studies)";
  }
  std::string hint = " (studies there: ";
  for (std::size_t i = 0; i < names->size(); ++i) {
    hint += (i > 0 ? ", " : "") + (*names)[i];
  }
  return hint + ")";
}

/// A stored study, or kNotFound naming the studies there.
Expected<std::pair<StudySettings, std::vector<Trial>>> readStudy(const Storage& storage,
                                                                 const std::string& name) {
  auto study = Study::read(storage, name);
  if (!study.ok() && study.status().code() == StatusCode::kNotFound) {
    return notFound(study.status().message() + studyHint(storage));
  }
  return study;
}

/// A study as `tune show` presents it: its leaderboard, importances and how many trials show.
struct ShownStudy {
  const StudySettings& settings;
  const std::vector<Trial>& trials;
  std::vector<const Trial*> board;
  std::vector<double> importances;
  std::size_t shown = 0;
};

/// Reads study `name` (readStudy()) and gives what `render` makes of it; `top` > 0 shows that
/// many of the best trials only.
template <typename Render>
auto onStudy(const Storage& storage, const std::string& name, std::size_t top, Render render)
    -> Expected<decltype(render(std::declval<const ShownStudy&>()))> {
  AIMASS_ASSIGN_OR_RETURN(auto study, readStudy(storage, name));
  const auto& [settings, trials] = study;
  ShownStudy shown{settings, trials, leaderboard(settings, trials),
                   parameterImportances(settings.dimensions, trials), 0};
  shown.shown = top > 0 ? std::min(top, shown.board.size()) : shown.board.size();
  return render(shown);
}

/// One study of `tune list`, as its table and its JSON show it.
struct StudyRow {
  std::string name;
  std::string optimizer;
  std::string objective;
  const char* direction = "minimize";
  std::size_t trials = 0;
  std::size_t complete = 0;
  std::size_t pruned = 0;
  std::size_t failed = 0;
  std::size_t running = 0;
  std::optional<std::pair<std::uint64_t, double>> best;  ///< trial number, value
};

/// Every study in `storage`, by name; kDataLoss naming the key of a corrupt record.
Expected<std::vector<StudyRow>> studyRows(const Storage& storage) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<std::string> names, Study::list(storage));
  std::vector<StudyRow> rows;
  for (const auto& name : names) {
    AIMASS_ASSIGN_OR_RETURN(auto study, Study::read(storage, name));
    const auto& [settings, trials] = study;
    StudyRow row;
    row.name = name;
    row.optimizer = settings.optimizer_type;
    row.objective = settings.objective;
    row.direction = settings.maximize ? "maximize" : "minimize";
    row.trials = trials.size();
    row.complete = countIn(trials, State::kComplete);
    row.pruned = countIn(trials, State::kPruned);
    row.failed = countIn(trials, State::kFailed);
    row.running = countIn(trials, State::kRunning);
    if (const Trial* best = bestOf(leaderboard(settings, trials))) {
      row.best = std::pair{best->number, *best->value};
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

Expected<std::string> studyListJson(const Storage& storage) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<StudyRow> rows, studyRows(storage));
  JsonWriter json;
  json.beginObject().key("studies").beginArray();
  for (const StudyRow& row : rows) {
    json.beginObject().key("study").value(row.name).key("optimizer").value(row.optimizer);
    json.key("objective").value(row.objective).key("direction").value(row.direction);
    json.key("trials").value(std::uint64_t{row.trials});
    json.key("complete").value(std::uint64_t{row.complete});
    json.key("pruned").value(std::uint64_t{row.pruned});
    json.key("failed").value(std::uint64_t{row.failed});
    json.key("running").value(std::uint64_t{row.running});
    json.key("best");
    if (row.best) {
      json.beginObject().key("number").value(row.best->first).key("value").value(row.best->second);
      json.endObject();
    } else {
      json.null();
    }
    json.endObject();
  }
  json.endArray().endObject();
  return json.str();
}

Status printStudyList(const TuneCommand& command, const Storage& storage, std::ostream& out) {
  if (command.json) {
    AIMASS_ASSIGN_OR_RETURN(std::string json, studyListJson(storage));
    out << json;
    return Status();
  }
  AIMASS_ASSIGN_OR_RETURN(std::vector<StudyRow> studies, studyRows(storage));
  if (studies.empty()) {
    out << "no studies\n";
    return Status();
  }
  std::vector<std::vector<std::string>> rows = {{"STUDY", "OPTIMIZER", "OBJECTIVE", "TRIALS",
                                                 "COMPLETE", "PRUNED", "FAILED", "RUNNING",
                                                 "BEST"}};
  for (const StudyRow& row : studies) {
    rows.push_back(
        {row.name, row.optimizer,
         row.objective + (row.direction == std::string("maximize") ? " (max)" : " (min)"),
         std::to_string(row.trials), std::to_string(row.complete), std::to_string(row.pruned),
         std::to_string(row.failed), std::to_string(row.running),
         row.best
             ? formatFigure(row.best->second) + " (trial " + std::to_string(row.best->first) + ")"
             : "-"});
  }
  out << textTable(rows);
  return Status();
}

Expected<std::string> studyJson(const Storage& storage, const std::string& name, std::size_t top) {
  return onStudy(storage, name, top, [](const ShownStudy& study) {
    return studyJsonText(study.settings, study.board, study.importances, study.shown);
  });
}

Status printStudy(const TuneCommand& command, const Storage& storage, std::ostream& out) {
  if (command.json) {
    AIMASS_ASSIGN_OR_RETURN(std::string json, studyJson(storage, command.study, command.top));
    out << json;
    return Status();
  }
  return onStudy(storage, command.study, command.top,
                 [&out](const ShownStudy& study) {
                   printStudyText(study.settings, study.trials, study.board, study.importances,
                                  study.shown, out);
                   return true;
                 })
      .status();
}

namespace {

const std::set<std::string> kValuedOptions = {"--config", "--storage",   "--storage-node",
                                              "--top",    "--log-level", "--plugin-path"};

}  // namespace

std::string tuneAction(const std::vector<std::string>& words) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (!words[i].starts_with("--")) {
      return words[i];
    }
    if (kValuedOptions.count(words[i]) > 0) {
      ++i;
    }
  }
  return "";
}

Expected<TuneCommand> parseTuneCommand(const std::vector<std::string>& words) {
  TuneCommand command;
  bool top_given = false;
  auto handle = [&](const std::string& option, const std::string& value) -> Status {
    if (option == "--json") {
      command.json = true;
      return Status();
    }
    std::size_t top = 0;  // --top
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), top);
    if (value.empty() || error != std::errc() || end != value.data() + value.size() || top == 0) {
      return invalidArgument("--top must be a whole number from 1, got '" + value + "'");
    }
    command.top = top;
    top_given = true;
    return Status();
  };
  AIMASS_ASSIGN_OR_RETURN(
      StoreOptions options,
      parseStoreOptions(words, {.command = "tune", .flags = {"--json"}, .valued = {"--top"}},
                        handle));
  assignStoreChoice(options, command);
  const auto& positional = options.positional;
  if (positional.empty()) {
    return invalidArgument("'tune' needs a subcommand: list or show");
  }
  command.action = positional.front();
  if (command.action == "list") {
    if (positional.size() > 1) {
      return invalidArgument("'aimass tune list' takes no arguments, got '" + positional[1] + "'");
    }
    if (top_given) {
      return invalidArgument("--top is not an option of 'aimass tune list'");
    }
  } else if (command.action == "show") {
    if (positional.size() != 2) {
      return invalidArgument(
          "'aimass tune show' takes one study name (usage: aimass tune show STUDY [--json] "
          "[--top N] --config CONFIG)");
    }
    command.study = positional[1];
    AIMASS_RETURN_IF_ERROR(Tracking::validateName(command.study, "study"));
  } else {
    return invalidArgument("unknown subcommand 'tune " + command.action + "': use list or show");
  }
  AIMASS_RETURN_IF_ERROR(checkStoreChoice("tune " + command.action, "studies", command.config,
                                          command.storage_uri, command.storage_node));
  return command;
}

int runTuneCommand(const TuneCommand& command, Storage& storage, std::ostream& out,
                   std::ostream& err) {
  Status status = command.action == "list" ? printStudyList(command, storage, out)
                                           : printStudy(command, storage, out);
  return storeCommandExit(status, err);
}

}  // namespace aimass::core
