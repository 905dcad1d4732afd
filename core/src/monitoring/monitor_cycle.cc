// SPDX-License-Identifier: Apache-2.0
// What one monitor cycle reads: the version the alias points at, the requests serving logged
// (into the drift window and the answers remembered for the ground-truth join), each full
// window's drift test, and the ground truth posted since, joined into live metrics.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include "aimass/core/registry.h"
#include "aimass/tensor_names.h"
#include "aimass/util/json_writer.h"
#include "aimass/util/number_text.h"
#include "monitoring/drift_report_cli.h"
#include "monitoring/ground_truth.h"
#include "monitoring/labelled_rows.h"
#include "monitoring/monitor_node.h"
#include "monitoring/monitor_state.h"
#include "monitoring/monitoring_records.h"
#include "monitoring/payload_record.h"
#include "monitoring/payload_view.h"
#include "monitoring/policy.h"
#include "record_text.h"

namespace aimass::core {
namespace {

/// Most logged entries read per query, and queries per cycle (so a backlog is caught up over
/// several cycles, never holding the lock long).
constexpr std::size_t kEntriesPerRead = 1000;
constexpr int kReadsPerCycle = 50;
/// Window results kept per model; older ones are removed, whenever this many more have been
/// written (listing the records after every window was 7% of the monitor's time on W13).
constexpr std::size_t kWindowsKept = 1000;
constexpr std::size_t kWindowsTrimEvery = 100;
/// How old ground truth must be before it is joined (see readOutcomes()).
constexpr std::int64_t kGroundTruthDelayNs = 2'000'000'000;

/// Empties the drift window (one column per profile feature, room for `rows` values each, up
/// to a bound: a window fills without reallocating). The columns keep their memory from one
/// window to the next: freeing and allocating them anew (3 MB for W13's 784 features) had the
/// monitor fault in fresh pages for every window.
void startWindow(MonitorState& s, std::size_t rows) {
  s.window_rows = 0;
  s.window_block_rows = 0;
  s.window_span = WindowSpan{};
  if (!s.profile) {
    s.window = FloatDriftWindow{};
    return;
  }
  s.window.numbers.resize(s.profile->numberFeatures());
  for (auto& column : s.window.numbers) {
    column.clear();
    column.reserve(std::min<std::size_t>(rows, 100'000));
  }
  s.window.categories.resize(s.profile->features.size() - s.profile->numberFeatures());
  for (auto& column : s.window.categories) column.clear();
}

/// Starts over with `version` when the alias moves: its profile, an empty drift window, and
/// its own first window of answers for prediction drift.
void watchVersion(MonitorState& s, std::int64_t version, std::shared_ptr<const DataProfile> profile,
                  std::size_t window, std::string note) {
  s.champion = version;
  s.profile = std::move(profile);
  s.profile_note = std::move(note);
  s.drift_pending = false;
  s.last_verdict.reset();  // the new version's first window may start an episode
  s.episode_windows = 0;
  startWindow(s, window);
  s.prediction_window = DriftWindow{};
  s.prediction_rows = 0;
  s.prediction_reference.reset();
}

// Logged rows gather in a row-major block and move into the window's columns this many at a
// time: each column then takes a run of values at once. One value per column and row touched
// every column's end for every row (784 vectors a W6 row), a fifth of the monitor's time under
// W6's load.
constexpr std::size_t kWindowBlockRows = 64;

/// Moves the block's rows to the ends of the window's columns.
void moveBlockIntoWindow(MonitorState& s) {
  const std::size_t width = s.window.numbers.size(), rows = s.window_block_rows;
  for (std::size_t f = 0; f < width; ++f) {
    std::vector<float>& column = s.window.numbers[f];  // reserved for the window: no growth
    for (std::size_t r = 0; r < rows; ++r) {
      column.push_back(s.window_block[r * width + f]);
    }
  }
  s.window_block_rows = 0;
}

/// Appends one logged request's rows to the drift window; false when its inputs do not fit
/// the profile (another width, a category input missing).
bool addToWindow(MonitorState& s, const PayloadEntryView& entry) {
  const DataProfile& profile = *s.profile;
  const std::size_t width = s.window.numbers.size();  // the profile's number features
  std::int64_t rows = -1;
  if (width > 0) {
    const PayloadTensorView* input = entry.inputs.find(tensor_names::kInput);
    if (input == nullptr || input->dtype() != DType::kFloat32 || input->rank() != 2 ||
        input->dim(1) != static_cast<std::int64_t>(width)) {
      return false;
    }
    rows = input->dim(0);
    s.window_block.resize(kWindowBlockRows * width);
    for (std::int64_t r = 0; r < rows; ++r) {
      // The record's floats need not be aligned: copied, not read in place.
      input->copy(static_cast<std::size_t>(r) * width, width,
                  s.window_block.data() + s.window_block_rows * width);
      if (++s.window_block_rows == kWindowBlockRows) {
        moveBlockIntoWindow(s);
      }
    }
  }
  for (std::size_t c = 0; c < s.window.categories.size(); ++c) {
    const PayloadTensorView* column = entry.inputs.find(profile.features[width + c].name);
    if (column == nullptr || column->dtype() != DType::kBytes ||
        (rows >= 0 && column->numel() != rows)) {
      return false;
    }
    rows = column->numel();
    for (const auto& value : column->strings()) {
      s.window.categories[c].push_back(value);
    }
  }
  s.window_rows += static_cast<std::size_t>(std::max<std::int64_t>(rows, 0));
  if (s.window_span.first_request_id.empty()) {
    s.window_span.first_request_id = entry.request_id;
    s.window_span.first_ns = entry.unix_ns;
  }
  s.window_span.last_request_id = entry.request_id;
  s.window_span.last_ns = entry.unix_ns;
  return true;
}

/// What a logged request was answered: the classes or the predicted values.
std::optional<LoggedAnswer> answerOf(const PayloadEntryView& entry, std::int64_t version) {
  LoggedAnswer answer;
  answer.version = version;
  if (const PayloadTensorView* names = entry.outputs.find(tensor_names::kClass);
      names != nullptr && names->dtype() == DType::kBytes) {
    answer.labels = names->strings();
  } else if (const PayloadTensorView* label = entry.outputs.find(tensor_names::kLabel);
             label != nullptr && label->dtype() == DType::kInt64) {
    answer.labels_are_indices = true;
    for (std::int64_t i = 0; i < label->numel(); ++i) {
      answer.labels.push_back(std::to_string(label->at<std::int64_t>(static_cast<std::size_t>(i))));
    }
  } else if (const PayloadTensorView* prediction = entry.outputs.find(tensor_names::kPrediction);
             prediction != nullptr && prediction->dtype() == DType::kFloat32) {
    for (std::int64_t i = 0; i < prediction->numel(); ++i) {
      answer.values.push_back(prediction->at<float>(static_cast<std::size_t>(i)));
    }
  } else {
    return std::nullopt;
  }
  return answer;
}

/// The request's rows as CSV fields: the "input" block's numbers, then the profile's category
/// inputs; empty when the request does not hold them.
std::vector<std::string> rowsAsCsv(const PayloadEntryView& entry, const DataProfile* profile) {
  const PayloadTensorView* input = entry.inputs.find(tensor_names::kInput);
  if (input == nullptr || input->dtype() != DType::kFloat32 || input->rank() != 2) {
    return {};
  }
  const auto rows = static_cast<std::size_t>(input->dim(0));
  const auto width = static_cast<std::size_t>(input->dim(1));
  std::vector<std::string> out(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t f = 0; f < width; ++f) {
      const float v = input->at<float>(r * width + f);
      out[r] += (f == 0 ? "" : ",") + (std::isnan(v) ? std::string() : formatNumber(v));
    }
  }
  if (profile == nullptr) {
    return out;
  }
  for (std::size_t c = profile->numberFeatures(); c < profile->features.size(); ++c) {
    const PayloadTensorView* column = entry.inputs.find(profile->features[c].name);
    if (column == nullptr || column->dtype() != DType::kBytes ||
        static_cast<std::size_t>(column->numel()) != rows) {
      return {};
    }
    const std::vector<std::string> values = column->strings();
    for (std::size_t r = 0; r < rows; ++r) {
      out[r] += "," + csvField(values[r]);
    }
  }
  return out;
}

void remember(MonitorState& s, const std::string& id, LoggedAnswer answer) {
  auto [it, added] = s.answers.insert_or_assign(id, std::move(answer));
  if (added) {
    s.answer_order.push_back(id);
  }
  while (s.answers.size() > kMaxRememberedAnswers) {
    s.answers.erase(s.answer_order.front());
    s.answer_order.pop_front();
  }
}

/// The per-row scores of an outcome against its answer (1/0 correct, or squared error);
/// empty when they do not fit together (row counts, a class name against indices).
std::vector<double> scoresOf(const GroundTruth& truth, const LoggedAnswer& answer) {
  std::vector<double> scores;
  if (!truth.labels.empty() && truth.labels.size() == answer.labels.size()) {
    for (std::size_t i = 0; i < truth.labels.size(); ++i) {
      scores.push_back(truth.labels[i] == answer.labels[i] ? 1.0 : 0.0);
    }
  } else if (!truth.values.empty() && truth.values.size() == answer.values.size()) {
    for (std::size_t i = 0; i < truth.values.size(); ++i) {
      const double error = truth.values[i] - answer.values[i];
      scores.push_back(error * error);
    }
  }
  return scores;
}

}  // namespace

std::optional<double> liveMetricOf(const MonitorState& state, std::int64_t version) {
  auto it = state.live.find(version);
  if (it == state.live.end() || it->second.scores.empty()) {
    return std::nullopt;
  }
  const double mean = it->second.sum / static_cast<double>(it->second.scores.size());
  return state.lower_is_better ? std::sqrt(mean) : mean;
}

Expected<std::optional<ModelVersion>> MonitorNode::aliasTarget() const {
  ModelRegistry registry(*storage_);
  auto alias = registry.getAlias(settings_.model, settings_.alias);
  if (alias.ok()) {
    AIMASS_ASSIGN_OR_RETURN(ModelVersion version,
                            registry.getVersion(settings_.model, alias->version));
    return std::optional<ModelVersion>(std::move(version));
  }
  if (alias.status().code() != StatusCode::kNotFound) {
    return alias.status();
  }
  auto latest = registry.resolve(settings_.model);  // no alias yet: the newest version
  return latest.ok() ? std::optional<ModelVersion>(*latest) : std::nullopt;
}

Status MonitorNode::followAlias() {
  MonitorState& s = *state_;
  AIMASS_ASSIGN_OR_RETURN(std::optional<ModelVersion> watched, aliasTarget());
  if (!watched || watched->version == s.champion) {
    return Status();
  }
  std::string note;
  auto profile = profileOf(*storage_, *watched, note);
  if (!note.empty()) {
    host_.log(LogLevel::kWarning, settings_.model,
              "monitor: version " + std::to_string(watched->version) +
                  " is not tested for drift: " + note);
  }
  const bool moved_outside = s.champion != 0 && watched->version != s.expected_champion;
  if (s.champion == 0) {
    s.payload_from_ns = s.started_ms * 1'000'000;
  } else if (moved_outside && settings_.watch.rows > 0) {
    // Promoted by someone else (aimass models promote, the REST API): watched the same way.
    s.watched = watched->version;
    s.previous_champion = s.champion;
    s.baseline = liveMetricOf(s, s.champion);
    AIMASS_RETURN_IF_ERROR(recordEvent(
        "watch_started", watched->version,
        "'" + settings_.alias + "' moved from version " + std::to_string(s.champion) +
            " to version " + std::to_string(watched->version) +
            " outside the monitor: watching it over " + std::to_string(settings_.watch.rows) +
            " labelled rows",
        ""));
  }
  s.expected_champion = watched->version;
  watchVersion(s, watched->version, std::move(profile), settings_.window, std::move(note));
  return moved_outside ? hotSwap("'" + settings_.alias + "' moved to version " +
                                 std::to_string(watched->version))
                       : Status();
}

Status MonitorNode::readLoggedRequests() {
  MonitorState& s = *state_;
  for (int read = 0; read < kReadsPerCycle; ++read) {
    PayloadQuery query;
    query.model = settings_.model;
    query.from_ns = s.payload_from_ns;
    query.limit = kEntriesPerRead;
    // Read in place: each entry's inputs go straight into the window's columns.
    AIMASS_RETURN_IF_ERROR(readPayloadViews(*storage_, query, s.logged));
    const std::vector<PayloadEntryView>& entries = s.logged.entries();
    for (const PayloadEntryView& entry : entries) {
      s.payload_from_ns = entry.unix_ns + 1;
      if (entry.outcome != "ok") continue;
      std::int64_t version = 0;
      std::from_chars(entry.version.data(), entry.version.data() + entry.version.size(), version);
      if (auto answer = answerOf(entry, version)) {
        if (!settings_.feedback_csv.empty()) {
          answer->rows_csv = rowsAsCsv(entry, s.profile.get());
        }
        if (version == s.champion) {
          addPredictions(s, *answer);
          // Each window is tested as it fills, so a window holds its own requests and no
          // more, however many one read brings.
          AIMASS_RETURN_IF_ERROR(testPredictionsIfFull());
        }
        remember(s, std::string(entry.request_id), std::move(*answer));
      }
      if (version == s.champion && s.profile && addToWindow(s, entry)) {
        AIMASS_RETURN_IF_ERROR(testWindowIfFull());
      }
    }
    if (entries.size() < kEntriesPerRead) {
      s.log_lag_ns = 0;  // caught up with the log
      return Status();
    }
  }
  // More is logged than one cycle reads: behind by the age of the last request read.
  s.log_lag_ns = std::max<std::int64_t>(0, record::nowUnixNs() - s.payload_from_ns);
  return Status();
}

Status MonitorNode::trimWindowRecords() {
  MonitorState& s = *state_;
  if (s.window_records && ++*s.window_records < kWindowsKept + kWindowsTrimEvery) {
    return Status();
  }
  AIMASS_ASSIGN_OR_RETURN(auto kept, storage_->list(windowRecordsPrefix(settings_.model)));
  for (std::size_t i = 0; i + kWindowsKept < kept.size(); ++i) {
    AIMASS_RETURN_IF_ERROR(storage_->remove(kept[i]));
  }
  s.window_records = std::min(kept.size(), kWindowsKept);
  return Status();
}

Status MonitorNode::testWindowIfFull() {
  MonitorState& s = *state_;
  if (!s.profile || s.window_rows < settings_.window) {
    return Status();
  }
  moveBlockIntoWindow(s);
  auto drift = compareWindow(*s.profile, s.window, settings_.drift);
  const std::size_t rows = s.window_rows;
  const WindowSpan span = s.window_span;
  startWindow(s, settings_.window);  // the next window starts empty
  if (!drift.ok()) {
    return drift.status().withContext("drift window of version " + std::to_string(s.champion));
  }
  ++s.windows_tested;
  s.last_window = *drift;
  const std::string details = windowDriftJson(*drift, rows, &span);
  char key[96];
  std::snprintf(key, sizeof key, "monitoring/%s/windows/%020lld", settings_.model.c_str(),
                static_cast<long long>(record::nowUnixNs()));
  AIMASS_RETURN_IF_ERROR(storage_->put(key, details));
  AIMASS_RETURN_IF_ERROR(trimWindowRecords());
  const DriftEpisodeEvent event = driftEpisodeEvent(s.last_verdict, drift->drifted);
  s.last_verdict = drift->drifted;
  if (drift->drifted) {
    ++s.windows_drifted;
    ++s.episode_windows;
    s.drift_pending = true;  // the policy reads every drifted window, not only the events
  }
  if (event == DriftEpisodeEvent::kCleared) {
    const std::uint64_t episode = std::exchange(s.episode_windows, 0);
    return recordEvent("drift_cleared", s.champion,
                       "no feature drifted over " + std::to_string(rows) + " served rows, after " +
                           std::to_string(episode) +
                           (episode == 1 ? " drifted window" : " drifted windows in a row"),
                       details);
  }
  if (event != DriftEpisodeEvent::kStarted) {
    return Status();
  }
  // The message names the first few; the details list every feature.
  constexpr std::size_t kNamed = 10;
  std::string names;
  std::size_t named = 0;
  for (const auto& f : drift->features) {
    if (f.drifted && named++ < kNamed) {
      names += (names.empty() ? "" : ", ") + f.feature + " (" + f.test + ")";
    }
  }
  if (named > kNamed) names += " and " + std::to_string(named - kNamed) + " more";
  return recordEvent("drift", s.champion,
                     std::to_string(drift->drifted_features) + " of " +
                         std::to_string(drift->tested) + " features drifted over " +
                         std::to_string(rows) + " served rows: " + names,
                     details);
}

Status MonitorNode::readOutcomes() {
  MonitorState& s = *state_;
  // Ground truth posted right after its request may be stored before serving's payload log
  // wrote the request (it batches for a fraction of a second): outcomes are read once they are
  // older than that, so their requests were read this cycle or before.
  const std::int64_t until_ns = record::nowUnixNs() - kGroundTruthDelayNs;
  const std::uint64_t posted = posted_rows_.exchange(0);
  s.labelled_since_retrain += posted;
  s.rows_posted += posted;
  std::set<std::int64_t> changed;  // versions whose live metric moved: their records are rewritten
  for (int read = 0; read < kReadsPerCycle; ++read) {
    const std::string before = s.truth_cursor;
    AIMASS_ASSIGN_OR_RETURN(auto outcomes, readGroundTruth(*storage_, settings_.model,
                                                           s.truth_cursor, 100, until_ns));
    for (const GroundTruth& truth : outcomes) {
      auto it = s.answers.find(truth.request_id);
      if (it == s.answers.end()) {
        ++s.truth_unmatched;
        continue;
      }
      const std::vector<double> scores = scoresOf(truth, it->second);
      if (scores.empty()) {
        ++s.truth_mismatched;
        continue;
      }
      s.lower_is_better = !truth.values.empty();
      if (settings_.shadow_rows > 0) {
        keepShadowRows(s, it->second, truth, settings_.shadow_rows);
      }
      LiveWindow& live = s.live[it->second.version];
      for (double score : scores) {
        live.scores.push_back(score);
        live.sum += score;
        if (live.scores.size() > settings_.feedback_window) {
          live.sum -= live.scores.front();
          live.scores.pop_front();
        }
      }
      live.labelled += scores.size();
      s.labelled_since_retrain += scores.size();
      changed.insert(it->second.version);
      const auto& fields = it->second.rows_csv;
      for (std::size_t i = 0; i < fields.size() && fields.size() == scores.size(); ++i) {
        s.labelled_csv += fields[i] + "," +
                          (truth.labels.empty() ? formatNumber(truth.values[i])
                                                : csvField(truth.labels[i])) +
                          "\n";
      }
    }
    if (s.truth_cursor == before) break;
  }
  if (!s.labelled_csv.empty()) {
    char key[96];
    std::snprintf(key, sizeof key, "%s%020lld", labelledRowsPrefix(settings_.model).c_str(),
                  static_cast<long long>(record::nowUnixNs()));
    AIMASS_RETURN_IF_ERROR(storage_->put(key, s.labelled_csv));
    s.labelled_csv.clear();
  }
  for (std::int64_t version : changed) {
    AIMASS_RETURN_IF_ERROR(storage_->put(liveMetricKey(settings_.model, version),
                                         liveMetricRecord(s, version)));
  }
  return Status();
}

std::string labelledRowsPrefix(std::string_view model) {
  return "monitoring/" + std::string(model) + "/labelled/";
}

std::shared_ptr<const DataProfile> profileOf(const Storage& storage, const ModelVersion& version,
                                             std::string& note) {
  if (version.profile_key.empty()) {
    note = "it has no training-data profile";
    return nullptr;
  }
  auto read = readDataProfile(storage, version.profile_key);
  if (!read.ok()) {
    note = read.status().message();
    return nullptr;
  }
  return *read;
}

std::string postedRowsKey(std::string_view model) {
  return labelledRowsPrefix(model) + record::timeTaggedName(record::nowUnixNs());
}

std::string liveMetricKey(std::string_view model, std::int64_t version) {
  return "monitoring/" + std::string(model) + "/live/" + std::to_string(version);
}

std::string liveMetricRecord(const MonitorState& state, std::int64_t version) {
  const LiveWindow& live = state.live.at(version);
  JsonWriter json;
  json.beginObject().key("metric").value(liveMetricName(state));
  json.key("value").value(liveMetricOf(state, version).value_or(0));
  json.key("window_rows").value(static_cast<std::uint64_t>(live.scores.size()));
  json.key("labelled_rows").value(live.labelled);
  json.key("unix_ms").value(record::nowUnixMs()).endObject();
  return json.str();
}

}  // namespace aimass::core
