// SPDX-License-Identifier: Apache-2.0
#include "encode.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

namespace aimass::plugins::transform {

const char* encodeTypeName(EncodeMode mode) {
  return mode == EncodeMode::kOneHot ? "transform.onehot" : "transform.ordinal";
}

namespace {

/// Splits the column's values into the categories to keep (byte order) and the rest.
Status learnCategories(const EncodeParams& params, const Table& rows, std::size_t p,
                       const std::string& type, std::vector<std::string>& categories,
                       std::vector<std::string>& infrequent) {
  const std::size_t m = rows.columns.strings.size();
  std::map<std::string, std::size_t> counts;
  for (std::size_t r = 0; r < rows.rows(); ++r) {
    const auto& v = rows.strings.strings()[r * m + p];
    if (!v.empty()) {
      ++counts[v];
    }
  }
  if (counts.empty()) {
    return invalidArgument(type + ": text column '" + rows.columns.strings[p] +
                           "' has no value at all to learn from");
  }
  std::vector<std::pair<std::string, std::size_t>> ranked(counts.begin(), counts.end());
  if (params.max_categories > 0 && ranked.size() > params.max_categories) {
    // Most frequent first, ties in byte order.
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t i = params.max_categories; i < ranked.size(); ++i) {
      infrequent.push_back(ranked[i].first);
    }
    ranked.resize(params.max_categories);
  }
  if (params.missing_category) {
    categories.emplace_back();
  }
  for (const auto& [value, count] : ranked) {
    categories.push_back(value);
  }
  std::sort(categories.begin(), categories.end());
  std::sort(infrequent.begin(), infrequent.end());
  return okStatus();
}

/// The index of `value` in sorted `values`, or -1.
std::int64_t indexOf(const std::vector<std::string>& values, const std::string& value) {
  auto it = std::lower_bound(values.begin(), values.end(), value);
  return it != values.end() && *it == value ? it - values.begin() : -1;
}

}  // namespace

Expected<std::unique_ptr<EncodeTransform>> EncodeTransform::create(EncodeParams params) {
  return std::unique_ptr<EncodeTransform>(new EncodeTransform(std::move(params)));
}

EncodeTransform::EncodeTransform(EncodeParams params)
    : TableTransform(encodeTypeName(params.mode), std::move(params)) {}

Expected<TableColumns> EncodeTransform::learn(const EncodeParams& params, const Table& rows,
                                              EncodeLearnt& learnt) const {
  AIMASS_ASSIGN_OR_RETURN(learnt.positions, textPositions(params.columns, rows.columns, type()));
  TableColumns out;
  out.numeric = rows.columns.numeric;
  for (std::size_t p : learnt.positions) {
    learnt.categories.emplace_back();
    learnt.infrequent.emplace_back();
    AIMASS_RETURN_IF_ERROR(learnCategories(params, rows, p, type(), learnt.categories.back(),
                                           learnt.infrequent.back()));
    const std::string& name = rows.columns.strings[p];
    if (params.mode == EncodeMode::kOrdinal) {
      out.numeric.push_back(name);
      continue;
    }
    for (const auto& category : learnt.categories.back()) {
      out.numeric.push_back(name + "=" + category);
    }
  }
  for (std::size_t p = 0; p < rows.columns.strings.size(); ++p) {
    if (std::find(learnt.positions.begin(), learnt.positions.end(), p) == learnt.positions.end()) {
      learnt.kept_text.push_back(p);
      out.strings.push_back(rows.columns.strings[p]);
    }
  }
  return out;
}

Status EncodeTransform::map(const EncodeParams& params, const EncodeLearnt& learnt, const Table& in,
                            Table& out) const {
  const std::size_t n_in = in.columns.numeric.size();
  const std::size_t n_out = out.columns.numeric.size();
  const std::size_t m_in = in.columns.strings.size();
  const std::size_t m_out = out.columns.strings.size();
  const auto& texts = in.strings.strings();
  float* dst = out.numeric.data<float>();
  std::fill(dst, dst + in.rows() * n_out, 0.0f);
  auto& kept = mutableStrings(out);
  for (std::size_t r = 0; r < in.rows(); ++r) {
    std::copy(in.numeric.data<float>() + r * n_in, in.numeric.data<float>() + (r + 1) * n_in,
              dst + r * n_out);
    std::size_t column = n_in;
    for (std::size_t i = 0; i < learnt.positions.size(); ++i) {
      const auto& value = texts[r * m_in + learnt.positions[i]];
      const auto& categories = learnt.categories[i];
      const std::size_t width = params.mode == EncodeMode::kOneHot ? categories.size() : 1;
      std::int64_t code =
          value.empty() && !params.missing_category ? -2 : indexOf(categories, value);
      if (code == -1 && params.unknown_error && indexOf(learnt.infrequent[i], value) < 0) {
        return invalidArgument(
            type() + ": text column '" + in.columns.strings[learnt.positions[i]] + "' row " +
            std::to_string(r) + " holds '" + value + "', a category not seen in training");
      }
      float* slot = dst + r * n_out + column;
      if (params.mode == EncodeMode::kOrdinal) {
        // -2 marks a missing value: NaN, so that impute can see it.
        *slot = code == -2 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(code);
      } else if (code >= 0) {
        slot[code] = 1.0f;
      }
      column += width;
    }
    for (std::size_t k = 0; k < m_out; ++k) {
      kept[r * m_out + k] = texts[r * m_in + learnt.kept_text[k]];
    }
  }
  return okStatus();
}

void EncodeTransform::writeState(const EncodeParams& params, const EncodeLearnt& learnt,
                                 ByteWriter& writer) const {
  writer.u8(static_cast<std::uint8_t>(params.mode));
  writeStrings(writer, params.columns);
  writer.u64(params.max_categories);
  writer.u8(params.unknown_error ? 1 : 0);
  writer.u8(params.missing_category ? 1 : 0);
  writePositions(writer, learnt.positions);
  for (std::size_t i = 0; i < learnt.positions.size(); ++i) {
    writeStrings(writer, learnt.categories[i]);
    writeStrings(writer, learnt.infrequent[i]);
  }
  writePositions(writer, learnt.kept_text);
}

bool EncodeTransform::readState(ByteReader& reader, const TableColumns& input,
                                const TableColumns& output, EncodeParams& params,
                                EncodeLearnt& learnt) const {
  params.mode = static_cast<EncodeMode>(reader.u8());
  if (!reader.ok() || params.mode > EncodeMode::kOrdinal || encodeTypeName(params.mode) != type() ||
      !readStrings(reader, params.columns)) {
    return false;
  }
  params.max_categories = reader.u64();
  const std::uint8_t unknown_error = reader.u8();
  const std::uint8_t missing_category = reader.u8();
  params.unknown_error = unknown_error == 1;
  params.missing_category = missing_category == 1;
  if (!reader.ok() || unknown_error > 1 || missing_category > 1 ||
      !readPositions(reader, input.strings.size(), learnt.positions)) {
    return false;
  }
  std::size_t encoded = 0;
  for (std::size_t i = 0; i < learnt.positions.size(); ++i) {
    learnt.categories.emplace_back();
    learnt.infrequent.emplace_back();
    if (!readStrings(reader, learnt.categories.back()) ||
        !readStrings(reader, learnt.infrequent.back()) ||
        !std::is_sorted(learnt.categories.back().begin(), learnt.categories.back().end()) ||
        !std::is_sorted(learnt.infrequent.back().begin(), learnt.infrequent.back().end())) {
      return false;
    }
    encoded += params.mode == EncodeMode::kOneHot ? learnt.categories.back().size() : 1;
  }
  return readPositions(reader, input.strings.size(), learnt.kept_text) &&
         output.numeric.size() == input.numeric.size() + encoded &&
         output.strings.size() == learnt.kept_text.size();
}

}  // namespace aimass::plugins::transform
