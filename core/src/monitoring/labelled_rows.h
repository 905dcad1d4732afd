// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aimass/status.h"
#include "data_profile.h"

/// Labelled rows posted without a request: new examples with their label (or value) that a
/// client sends to POST /v2/models/<model>/ground_truth as {"rows": [...]}, beside or instead of
/// the outcomes of served requests. The monitor keeps them with the rows its ground truth
/// labelled (monitoring/<model>/labelled/), so they reach feedback_csv and count toward
/// retrain_after_labels; they do not move a live metric (no version answered them).
namespace aimass::core {

/// One feature's value by name: a number, a text (a category), or missing (JSON null).
struct FeatureCell {
  enum class Kind { kMissing, kNumber, kText };
  Kind kind = Kind::kMissing;
  double number = 0;
  std::string text;
};

/// One posted row. "input" holds the number features in the profile's order (as the model's
/// input block does; null: missing); "features" holds features by name; a row has either or
/// both (then "features" may name only category features). Exactly one of label and value.
struct LabelledRow {
  std::optional<std::vector<std::optional<double>>> input;
  std::vector<std::pair<std::string, FeatureCell>> features;
  std::optional<std::string> label;  ///< a class name, or an index as digits
  std::optional<double> value;       ///< regression
};

/// Most rows one post may hold.
inline constexpr std::size_t kMaxLabelledRowsPerPost = 10000;

/// The rows as lines of the feedback CSV (the profile's features in its order, then the label
/// or value; each line ends with '\n'). kInvalidArgument naming the row and the feature when a
/// row does not fit the profile: an "input" of another width, a feature the profile does not
/// have, a text for a number feature, a number feature given twice. A feature a row does not
/// give is missing (an empty field), as in a CSV.
Expected<std::string> labelledRowsCsv(const std::vector<LabelledRow>& rows,
                                      const DataProfile& profile);

/// A CSV field: quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string csvField(const std::string& text);

}  // namespace aimass::core
