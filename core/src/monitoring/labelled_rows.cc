// SPDX-License-Identifier: Apache-2.0
#include "monitoring/labelled_rows.h"

#include <cmath>
#include <unordered_map>

#include "aimass/util/number_text.h"

namespace aimass::core {
namespace {

std::string numberField(std::optional<double> v) {
  return v && !std::isnan(*v) ? formatNumber(*v) : std::string();
}

/// One row's fields in the profile's order; `where` is "rows[i]".
Expected<std::vector<std::string>> rowFields(const LabelledRow& row, const DataProfile& profile,
                                             const std::unordered_map<std::string, std::size_t>&
                                                 index,
                                             const std::string& where) {
  const std::size_t numbers = profile.numberFeatures();
  std::vector<std::string> fields(profile.features.size());
  std::vector<bool> given(profile.features.size(), false);
  if (row.input) {
    if (row.input->size() != numbers) {
      return invalidArgument(where + ".input holds " + std::to_string(row.input->size()) +
                             " values; the model has " + std::to_string(numbers) +
                             " number features");
    }
    for (std::size_t f = 0; f < numbers; ++f) {
      fields[f] = numberField((*row.input)[f]);
      given[f] = true;
    }
  }
  for (const auto& [name, cell] : row.features) {
    const std::string at = where + ".features." + name;
    auto it = index.find(name);
    if (it == index.end()) {
      return invalidArgument(at + ": the model's training data has no feature '" + name + "'");
    }
    const std::size_t f = it->second;
    if (given[f]) {
      return invalidArgument(at + " is given twice (also in " + where + ".input)");
    }
    given[f] = true;
    const bool number = profile.features[f].kind == FeatureProfile::Kind::kNumber;
    if (cell.kind == FeatureCell::Kind::kMissing) continue;
    if (number && cell.kind != FeatureCell::Kind::kNumber) {
      return invalidArgument(at + " must be a number (or null)");
    }
    fields[f] = number ? numberField(cell.number)
                       : csvField(cell.kind == FeatureCell::Kind::kText
                                      ? cell.text
                                      : formatNumber(cell.number));
  }
  return fields;
}

}  // namespace

std::string csvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  std::string out = "\"";
  for (char c : text) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

Expected<std::string> labelledRowsCsv(const std::vector<LabelledRow>& rows,
                                      const DataProfile& profile) {
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t f = 0; f < profile.features.size(); ++f) {
    index.emplace(profile.features[f].name, f);
  }
  std::string csv;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    AIMASS_ASSIGN_OR_RETURN(auto fields,
                            rowFields(rows[r], profile, index, "rows[" + std::to_string(r) + "]"));
    for (const auto& field : fields) {
      csv += field;
      csv += ',';
    }
    csv += rows[r].label ? csvField(*rows[r].label) : formatNumber(rows[r].value.value_or(0));
    csv += '\n';
  }
  return csv;
}

}  // namespace aimass::core
