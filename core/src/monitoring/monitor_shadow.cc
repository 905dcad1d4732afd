// SPDX-License-Identifier: Apache-2.0
// The gate's shadow traffic: served rows that got ground truth, kept as the monitor joins them,
// and answered by both champion and challenger when the gate runs (neither answer is served).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "ensemble/subset_dataset.h"
#include "monitoring/monitor_node.h"
#include "monitoring/monitor_state.h"

namespace aimass::core {
namespace {

/// The number fields of one CSV line; false when a field is not a number (a category).
bool readNumbers(const std::string& line, std::vector<float>& out) {
  out.clear();
  const char* at = line.data();
  const char* end = at + line.size();
  while (true) {
    const char* comma = std::find(at, end, ',');
    if (at == comma) {
      out.push_back(std::numeric_limits<float>::quiet_NaN());
    } else {
      float value = 0;
      auto [ptr, error] = std::from_chars(at, comma, value);
      if (error != std::errc() || ptr != comma) return false;
      out.push_back(value);
    }
    if (comma == end) return true;
    at = comma + 1;
  }
}

/// The class index of a posted label: its name among `names`, or its index as digits.
std::optional<std::int64_t> classIndex(const std::string& label,
                                       const std::vector<std::string>& names) {
  auto named = std::find(names.begin(), names.end(), label);
  if (named != names.end()) return named - names.begin();
  std::int64_t index = -1;
  auto [ptr, error] = std::from_chars(label.data(), label.data() + label.size(), index);
  if (error == std::errc() && ptr == label.data() + label.size() && index >= 0 &&
      static_cast<std::size_t>(index) < names.size()) {
    return index;
  }
  return std::nullopt;
}

}  // namespace

void keepShadowRows(MonitorState& state, const LoggedAnswer& answer, const GroundTruth& truth,
                    std::size_t limit) {
  const std::size_t rows = answer.rows_csv.size();
  if (rows != std::max(truth.labels.size(), truth.values.size())) return;
  for (std::size_t i = 0; i < rows; ++i) {
    ShadowRow row;
    if (!readNumbers(answer.rows_csv[i], row.features)) return;
    if (!truth.labels.empty()) {
      row.label = truth.labels[i];
    } else {
      row.value = truth.values[i];
    }
    state.shadow.push_back(std::move(row));
    if (state.shadow.size() > limit) state.shadow.pop_front();
  }
}

Expected<GateReport> MonitorNode::judgeOnShadowTraffic(std::int64_t challenger,
                                                       const GateSpec& spec) {
  const MonitorState& s = *state_;
  auto tooFew = [&](std::size_t rows) {
    GateReport report;
    report.metric = spec.metric;
    report.rows = rows;
    report.reason = "only " + std::to_string(rows) + " served rows with ground truth to judge "
                    "on, fewer than min_feedback (" +
                    std::to_string(settings_.triggers.min_feedback) + ")";
    return report;
  };
  const std::size_t min_rows = std::max<std::size_t>(settings_.triggers.min_feedback, 1);
  if (s.shadow.size() < min_rows) return tooFew(s.shadow.size());
  const DatasetSchema& schema = holdout_->schema();
  if (schema.label_kind != LabelKind::kClass &&
      !(schema.label_kind == LabelKind::kValue && schema.num_targets == 1)) {
    return failedPrecondition("shadow traffic is judged for classification and single-target "
                              "regression only");
  }
  const auto width = static_cast<std::int64_t>(s.shadow.front().features.size());
  if (schema.row_shape != Shape{width}) {
    return failedPrecondition("the served rows hold " + std::to_string(width) +
                              " number features, the holdout data's rows " +
                              shapeToString(schema.row_shape) +
                              ": shadow traffic needs a model of number features only");
  }
  std::vector<float> features;
  std::vector<std::int64_t> classes;
  std::vector<float> values;
  for (const ShadowRow& row : s.shadow) {
    if (static_cast<std::int64_t>(row.features.size()) != width) continue;
    if (schema.label_kind == LabelKind::kClass) {
      auto index = classIndex(row.label, schema.class_names);
      if (!index) continue;  // a class the holdout data does not know
      classes.push_back(*index);
    } else {
      values.push_back(static_cast<float>(row.value));
    }
    features.insert(features.end(), row.features.begin(), row.features.end());
  }
  const auto n = static_cast<std::int64_t>(features.size() / static_cast<std::size_t>(width));
  if (static_cast<std::size_t>(n) < min_rows) return tooFew(static_cast<std::size_t>(n));
  Tensor labels = schema.label_kind == LabelKind::kClass ? Tensor(DType::kInt64, {n})
                                                         : Tensor(DType::kFloat32, {n, 1});
  if (schema.label_kind == LabelKind::kClass) {
    std::copy(classes.begin(), classes.end(), labels.data<std::int64_t>());
  } else {
    std::copy(values.begin(), values.end(), labels.data<float>());
  }
  auto data = std::make_shared<MatrixDataset>(schema, std::move(features), width, std::move(labels));
  AIMASS_ASSIGN_OR_RETURN(auto champion, evaluateVersion(s.champion, data, "shadow traffic"));
  AIMASS_ASSIGN_OR_RETURN(auto challenger_report,
                          evaluateVersion(challenger, data, "shadow traffic"));
  return judgeGate(champion, challenger_report, spec);
}

}  // namespace aimass::core
