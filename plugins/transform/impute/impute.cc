// SPDX-License-Identifier: Apache-2.0
#include "impute.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <utility>

namespace aimass::plugins::transform {

namespace {

constexpr const char* kType = "transform.impute";
constexpr const char* kStrategyNames[] = {"mean", "median", "most_frequent", "constant"};

/// The most frequent of `values`; ties go to the smallest (std::map's order).
/// The whole of `text` as a finite number; nullopt otherwise.
std::optional<double> parseNumber(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

template <typename T>
T mostFrequent(const std::vector<T>& values) {
  std::map<T, std::size_t> counts;
  for (const auto& v : values) {
    ++counts[v];
  }
  auto best = counts.begin();
  for (auto it = counts.begin(); it != counts.end(); ++it) {
    if (it->second > best->second) {
      best = it;
    }
  }
  return best->first;
}

Expected<double> numericFill(const ImputeParams& params, const Table& rows, std::size_t p) {
  if (params.strategy == ImputeStrategy::kConstant) {
    if (params.fill_value.empty()) {
      return 0.0;
    }
    auto number = parseNumber(params.fill_value);
    if (!number.has_value()) {
      return invalidArgument(std::string(kType) + ": fill_value '" + params.fill_value +
                             "' is not a number, so it cannot fill numeric column '" +
                             rows.columns.numeric[p] + "'");
    }
    return *number;
  }
  AIMASS_ASSIGN_OR_RETURN(auto values, presentValues(rows, p, kType));
  switch (params.strategy) {
    case ImputeStrategy::kMean: {
      double sum = 0;
      for (double v : values) {
        sum += v;
      }
      return sum / static_cast<double>(values.size());
    }
    case ImputeStrategy::kMedian:
      return quantileOf(values, 0.5);
    default:
      return mostFrequent(values);
  }
}

Expected<std::string> textFill(const ImputeParams& params, const Table& rows, std::size_t p) {
  if (params.strategy == ImputeStrategy::kConstant) {
    return params.fill_value.empty() ? std::string("missing") : params.fill_value;
  }
  const std::size_t m = rows.columns.strings.size();
  std::vector<std::string> values;
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    const auto& v = rows.strings.strings()[r * m + p];
    if (!v.empty()) {
      values.push_back(v);
    }
  }
  if (values.empty()) {
    return invalidArgument(std::string(kType) + ": text column '" + rows.columns.strings[p] +
                           "' has no value at all to learn from");
  }
  return mostFrequent(values);
}

bool numberMissing(const Table& t, std::size_t row, std::size_t p) {
  return std::isnan(t.numeric.data<float>()[row * t.columns.numeric.size() + p]);
}

bool textMissing(const Table& t, std::size_t row, std::size_t p) {
  return t.strings.strings()[row * t.columns.strings.size() + p].empty();
}

bool anyMissing(const Table& t, bool text, std::size_t p) {
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (text ? textMissing(t, r, p) : numberMissing(t, r, p)) {
      return true;
    }
  }
  return false;
}

/// Splits `columns` (or, when empty, the table's columns) into numeric and text targets.
Status chooseTargets(const ImputeParams& params, const TableColumns& columns,
                     ImputeLearnt& learnt) {
  const bool numbers_only =
      params.strategy == ImputeStrategy::kMean || params.strategy == ImputeStrategy::kMedian;
  if (params.columns.empty()) {
    AIMASS_ASSIGN_OR_RETURN(learnt.numeric_positions, columnPositions({}, columns.numeric, ""));
    if (!numbers_only) {
      AIMASS_ASSIGN_OR_RETURN(learnt.text_positions, columnPositions({}, columns.strings, ""));
    }
  }
  AIMASS_RETURN_IF_ERROR(checkNoRepeats(params.columns, kType));
  for (const auto& name : params.columns) {
    auto numeric = columnPositions({name}, columns.numeric, "");
    auto text = columnPositions({name}, columns.strings, "");
    if (numeric.ok()) {
      learnt.numeric_positions.push_back(numeric->front());
    } else if (!text.ok()) {
      return invalidArgument(std::string(kType) + "'s columns name column '" + name +
                             "', which the data does not have");
    } else if (numbers_only) {
      return invalidArgument(
          std::string(kType) + ": text column '" + name + "' cannot be imputed with strategy '" +
          kStrategyNames[static_cast<int>(params.strategy)] + "'; use most_frequent or constant");
    } else {
      learnt.text_positions.push_back(text->front());
    }
  }
  if (learnt.numeric_positions.empty() && learnt.text_positions.empty()) {
    return invalidArgument(std::string(kType) + ": the data has no column to impute");
  }
  return okStatus();
}

}  // namespace

bool parseImputeStrategy(const std::string& name, ImputeStrategy& strategy) {
  for (int i = 0; i < 4; ++i) {
    if (name == kStrategyNames[i]) {
      strategy = static_cast<ImputeStrategy>(i);
      return true;
    }
  }
  return false;
}

Expected<std::unique_ptr<ImputeTransform>> ImputeTransform::create(ImputeParams params) {
  return std::unique_ptr<ImputeTransform>(new ImputeTransform(std::move(params)));
}

ImputeTransform::ImputeTransform(ImputeParams params) : TableTransform(kType, std::move(params)) {}

Expected<TableColumns> ImputeTransform::learn(const ImputeParams& params, const Table& rows,
                                              ImputeLearnt& learnt) const {
  AIMASS_RETURN_IF_ERROR(chooseTargets(params, rows.columns, learnt));
  TableColumns out = rows.columns;
  for (std::size_t p : learnt.numeric_positions) {
    AIMASS_ASSIGN_OR_RETURN(double fill, numericFill(params, rows, p));
    learnt.numeric_fills.push_back(fill);
    if (params.indicator && anyMissing(rows, false, p)) {
      learnt.indicators.push_back({false, p});
      out.numeric.push_back(rows.columns.numeric[p] + "_missing");
    }
  }
  for (std::size_t p : learnt.text_positions) {
    AIMASS_ASSIGN_OR_RETURN(auto fill, textFill(params, rows, p));
    learnt.text_fills.push_back(std::move(fill));
    if (params.indicator && anyMissing(rows, true, p)) {
      learnt.indicators.push_back({true, p});
      out.numeric.push_back(rows.columns.strings[p] + "_missing");
    }
  }
  return out;
}

Status ImputeTransform::map(const ImputeParams&, const ImputeLearnt& learnt, const Table& in,
                            Table& out) const {
  const std::size_t n_in = in.columns.numeric.size();
  const std::size_t n_out = out.columns.numeric.size();
  const std::size_t m = in.columns.strings.size();
  const float* src = in.numeric.data<float>();
  float* dst = out.numeric.data<float>();
  if (m > 0) {
    mutableStrings(out) = in.strings.strings();
  }
  auto& texts = mutableStrings(out);
  for (std::size_t r = 0; r < in.rows(); ++r) {
    // Indicators look at the input, before anything is filled.
    for (std::size_t i = 0; i < learnt.indicators.size(); ++i) {
      const auto& watch = learnt.indicators[i];
      const bool missing =
          watch.text ? textMissing(in, r, watch.position) : numberMissing(in, r, watch.position);
      dst[r * n_out + n_in + i] = missing ? 1.0f : 0.0f;
    }
    std::copy(src + r * n_in, src + (r + 1) * n_in, dst + r * n_out);
    for (std::size_t i = 0; i < learnt.numeric_positions.size(); ++i) {
      float& v = dst[r * n_out + learnt.numeric_positions[i]];
      if (std::isnan(v)) {
        v = static_cast<float>(learnt.numeric_fills[i]);
      }
    }
    for (std::size_t i = 0; i < learnt.text_positions.size(); ++i) {
      auto& v = texts[r * m + learnt.text_positions[i]];
      if (v.empty()) {
        v = learnt.text_fills[i];
      }
    }
  }
  return okStatus();
}

void ImputeTransform::writeState(const ImputeParams& params, const ImputeLearnt& learnt,
                                 ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(params.strategy));
  writeStrings(writer, params.columns);
  writeStrings(writer, {params.fill_value});
  writer.u8(params.indicator ? 1 : 0);
  writePositions(writer, learnt.numeric_positions);
  writeDoubles(writer, learnt.numeric_fills);
  writePositions(writer, learnt.text_positions);
  writeStrings(writer, learnt.text_fills);
  writer.u64(learnt.indicators.size());
  for (const auto& watch : learnt.indicators) {
    writer.u8(watch.text ? 1 : 0);
    writer.u64(watch.position);
  }
}

bool ImputeTransform::readState(ByteReader& reader, const TableColumns& input,
                                const TableColumns& output, ImputeParams& params,
                                ImputeLearnt& learnt) const {
  const std::uint8_t strategy = reader.u8();
  std::vector<std::string> fill;
  if (strategy > 3 || !readStrings(reader, params.columns) || !readStrings(reader, fill) ||
      fill.size() != 1) {
    return false;
  }
  params.strategy = static_cast<ImputeStrategy>(strategy);
  params.fill_value = fill.front();
  const std::uint8_t indicator = reader.u8();
  params.indicator = indicator == 1;
  if (!reader.ok() || indicator > 1 ||
      !readPositions(reader, input.numeric.size(), learnt.numeric_positions) ||
      !readDoubles(reader, learnt.numeric_positions.size(), learnt.numeric_fills) ||
      !readPositions(reader, input.strings.size(), learnt.text_positions) ||
      !readStrings(reader, learnt.text_fills) ||
      learnt.text_fills.size() != learnt.text_positions.size()) {
    return false;
  }
  const std::uint64_t count = reader.u64();
  if (!reader.ok() || output.strings != input.strings ||
      output.numeric.size() < input.numeric.size() ||
      count != output.numeric.size() - input.numeric.size() ||
      !std::equal(input.numeric.begin(), input.numeric.end(), output.numeric.begin())) {
    return false;
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    ImputeIndicator watch;
    const std::uint8_t text = reader.u8();
    watch.text = text == 1;
    watch.position = static_cast<std::size_t>(reader.u64());
    const std::size_t limit = watch.text ? input.strings.size() : input.numeric.size();
    if (!reader.ok() || text > 1 || watch.position >= limit) {
      return false;
    }
    learnt.indicators.push_back(watch);
  }
  return true;
}

}  // namespace aimass::plugins::transform
