// SPDX-License-Identifier: Apache-2.0
#include "select.h"

#include <algorithm>
#include <utility>

namespace aimass::plugins::transform {

namespace {

constexpr const char* kType = "transform.select";

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// The positions of `columns` that stay, and their names appended to `out`.
std::vector<std::size_t> staying(const SelectParams& params,
                                 const std::vector<std::string>& columns,
                                 std::vector<std::string>& out) {
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (listed(params.names, columns[i]) == params.keep) {
      positions.push_back(i);
      out.push_back(columns[i]);
    }
  }
  return positions;
}

}  // namespace

Expected<std::unique_ptr<SelectTransform>> SelectTransform::create(SelectParams params) {
  if (params.names.empty()) {
    return invalidArgument(std::string(kType) +
                           ": give the columns to keep (keep: [...]) or to drop (drop: [...])");
  }
  return std::unique_ptr<SelectTransform>(new SelectTransform(std::move(params)));
}

SelectTransform::SelectTransform(SelectParams params) : TableTransform(kType, std::move(params)) {}

Expected<TableColumns> SelectTransform::learn(const SelectParams& params, const Table& rows,
                                              SelectLearnt& learnt) const {
  for (const auto& name : params.names) {
    if (!listed(rows.columns.numeric, name) && !listed(rows.columns.strings, name)) {
      return invalidArgument(std::string(kType) + ": " + (params.keep ? "keep" : "drop") +
                             " names column '" + name + "', which the data does not have");
    }
  }
  TableColumns out;
  learnt.numeric = staying(params, rows.columns.numeric, out.numeric);
  learnt.strings = staying(params, rows.columns.strings, out.strings);
  if (out.numeric.empty() && out.strings.empty()) {
    return invalidArgument(std::string(kType) + ": no column would be left");
  }
  return out;
}

Status SelectTransform::map(const SelectParams&, const SelectLearnt& learnt, const Table& in,
                            Table& out) const {
  const std::size_t n_in = in.columns.numeric.size();
  const std::size_t n_out = learnt.numeric.size();
  const std::size_t m_in = in.columns.strings.size();
  const std::size_t m_out = learnt.strings.size();
  const float* src = in.numeric.data<float>();
  float* dst = out.numeric.data<float>();
  auto& texts = mutableStrings(out);
  for (std::size_t r = 0; r < in.rows(); ++r) {
    for (std::size_t k = 0; k < n_out; ++k) {
      dst[r * n_out + k] = src[r * n_in + learnt.numeric[k]];
    }
    for (std::size_t k = 0; k < m_out; ++k) {
      texts[r * m_out + k] = in.strings.strings()[r * m_in + learnt.strings[k]];
    }
  }
  return okStatus();
}

void SelectTransform::writeState(const SelectParams& params, const SelectLearnt& learnt,
                                 ByteWriter& writer) const {
  writer.u8(params.keep ? 1 : 0);
  writeStrings(writer, params.names);
  writePositions(writer, learnt.numeric);
  writePositions(writer, learnt.strings);
}

bool SelectTransform::readState(ByteReader& reader, const TableColumns& input,
                                const TableColumns& output, SelectParams& params,
                                SelectLearnt& learnt) const {
  const std::uint8_t keep = reader.u8();
  params.keep = keep == 1;
  return reader.ok() && keep <= 1 && readStrings(reader, params.names) && !params.names.empty() &&
         readPositions(reader, input.numeric.size(), learnt.numeric) &&
         readPositions(reader, input.strings.size(), learnt.strings) &&
         learnt.numeric.size() == output.numeric.size() &&
         learnt.strings.size() == output.strings.size();
}

}  // namespace aimass::plugins::transform
