// SPDX-License-Identifier: Apache-2.0
// Prediction drift: the answers a version gives, window by window, against the answers of its
// own first full window (the training profile holds no predictions). Classes are tested as a
// category, predicted values as a number (every target pooled), with the same tests and options
// as the inputs.
#include <algorithm>
#include <cmath>
#include <map>

#include "aimass/util/json_writer.h"
#include "monitoring/monitor_node.h"
#include "monitoring/monitor_state.h"

namespace aimass::core {
namespace {

/// A format-2 profile of one feature, "prediction", made from the window's own values: the
/// reference later windows are tested against.
DataProfile referenceOf(const DriftWindow& window) {
  FeatureProfile f;
  f.name = "prediction";
  if (!window.categories.empty()) {
    f.kind = FeatureProfile::Kind::kCategory;
    std::map<std::string, std::uint64_t> counts;
    for (const auto& label : window.categories.front()) ++counts[label];
    for (const auto& [label, count] : counts) {
      f.categories.push_back(label);
      f.category_counts.push_back(count);
      f.present += count;
    }
  } else {
    std::vector<double> values = window.numbers.front();
    std::sort(values.begin(), values.end());
    const auto n = values.size();
    f.present = n;
    f.sample_size = n;
    f.min = values.front();
    f.max = values.back();
    double sum = 0, squares = 0;
    for (double v : values) sum += v;
    f.mean = sum / static_cast<double>(n);
    for (double v : values) squares += (v - f.mean) * (v - f.mean);
    f.stddev = n > 1 ? std::sqrt(squares / static_cast<double>(n - 1)) : 0;
    for (std::size_t p = 0; p < kProfilePercentiles; ++p) {  // linear between order statistics
      const double at = static_cast<double>(p) / 100.0 * static_cast<double>(n - 1);
      const auto below = static_cast<std::size_t>(at);
      const double above = values[std::min(below + 1, n - 1)];
      f.percentiles.push_back(values[below] + (at - static_cast<double>(below)) *
                                                  (above - values[below]));
    }
    f.quantiles = quantilesOfPercentiles(f.percentiles);
  }
  DataProfile profile;
  profile.format = 2;
  profile.rows = f.present;
  profile.features.push_back(std::move(f));
  return profile;
}

}  // namespace

void addPredictions(MonitorState& s, const LoggedAnswer& answer) {
  if (!answer.labels.empty()) {
    s.prediction_window.categories.resize(1);
    auto& column = s.prediction_window.categories.front();
    column.insert(column.end(), answer.labels.begin(), answer.labels.end());
    s.prediction_rows += answer.labels.size();
  } else if (!answer.values.empty()) {
    s.prediction_window.numbers.resize(1);
    auto& column = s.prediction_window.numbers.front();
    column.insert(column.end(), answer.values.begin(), answer.values.end());
    s.prediction_rows += answer.values.size();
  }
}

Status MonitorNode::testPredictionsIfFull() {
  MonitorState& s = *state_;
  if (s.prediction_rows < settings_.window) {
    return Status();
  }
  DriftWindow window = std::move(s.prediction_window);
  const std::size_t rows = s.prediction_rows;
  s.prediction_window = DriftWindow{};
  s.prediction_rows = 0;
  if (!s.prediction_reference) {
    s.prediction_reference = referenceOf(window);  // the version's first window
    return Status();
  }
  if (window.categories.size() != s.prediction_reference->features.size() - 
                                      s.prediction_reference->numberFeatures()) {
    return Status();  // answers of another kind than the reference's: nothing to compare
  }
  auto drift = compareWindow(*s.prediction_reference, window, settings_.drift);
  if (!drift.ok()) {
    return drift.status().withContext("prediction drift of version " +
                                      std::to_string(s.champion));
  }
  ++s.prediction_windows_tested;
  if (!drift->drifted) {
    return Status();
  }
  ++s.prediction_windows_drifted;
  const FeatureDrift& f = drift->features.front();
  JsonWriter details;
  details.beginObject().key("rows").value(static_cast<std::uint64_t>(rows));
  details.key("test").value(f.test).key("statistic").value(f.statistic);
  details.key("p_value").value(f.p_value).key("psi").value(f.psi).endObject();
  return recordEvent("prediction_drift", s.champion,
                     "the answers of " + std::to_string(rows) +
                         " served rows drifted from the version's first window (" + f.test +
                         " " + decisionNumber(f.statistic) + ")",
                     details.str());
}

}  // namespace aimass::core
