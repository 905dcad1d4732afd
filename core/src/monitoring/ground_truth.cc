// SPDX-License-Identifier: Apache-2.0
#include "monitoring/ground_truth.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <exception>

#include "aimass/util/number_text.h"
#include "record_text.h"

namespace aimass::core {
namespace {

constexpr std::string_view kHeader = "aimass-ground-truth 1";

/// One label: a string, or a whole number (a class index) written as digits.
Expected<std::string> labelOf(const Poco::Dynamic::Var& v, const std::string& where) {
  if (v.isString()) {
    std::string text = v.convert<std::string>();
    if (text.empty()) {
      return invalidArgument(where + " is an empty label");
    }
    return text;
  }
  if (v.isInteger() && !v.isBoolean()) {
    const auto n = v.convert<std::int64_t>();
    if (n < 0) {
      return invalidArgument(where + " is a negative class index");
    }
    return std::to_string(n);
  }
  return invalidArgument(where + " must be a class name (string) or index (whole number)");
}

Expected<double> valueOf(const Poco::Dynamic::Var& v, const std::string& where) {
  if (!v.isNumeric() || v.isBoolean()) {
    return invalidArgument(where + " must be a number");
  }
  const double d = v.convert<double>();
  if (!std::isfinite(d)) {
    return invalidArgument(where + " must be finite");
  }
  return d;
}

Status readOutcome(const Poco::JSON::Object& item, const std::string& where, GroundTruth& out) {
  if (!item.has("id") || !item.get("id").isString() ||
      item.get("id").convert<std::string>().empty()) {
    return invalidArgument(where + ".id must be a non-empty string (the request's id)");
  }
  out.request_id = item.get("id").convert<std::string>();
  int given = 0;
  for (const char* field : {"label", "labels", "value", "values"}) {
    given += item.has(field) ? 1 : 0;
  }
  if (given != 1) {
    return invalidArgument(where + " needs exactly one of label, labels, value, values");
  }
  for (const auto& [key, value] : item) {
    if (key != "id" && key != "label" && key != "labels" && key != "value" && key != "values") {
      return invalidArgument(where + " has an unknown field '" + key + "'");
    }
  }
  auto listOf = [&](const char* field, auto read) -> Status {
    const std::string at = where + "." + field;
    if (!item.isArray(field) || item.getArray(field)->size() == 0) {
      return invalidArgument(at + " must be a non-empty list");
    }
    const auto& list = *item.getArray(field);
    for (std::size_t i = 0; i < list.size(); ++i) {
      AIMASS_RETURN_IF_ERROR(read(list.get(static_cast<unsigned>(i)),
                                  at + "[" + std::to_string(i) + "]"));
    }
    return Status();
  };
  auto addLabel = [&](const Poco::Dynamic::Var& v, const std::string& at) -> Status {
    AIMASS_ASSIGN_OR_RETURN(std::string label, labelOf(v, at));
    out.labels.push_back(std::move(label));
    return Status();
  };
  auto addValue = [&](const Poco::Dynamic::Var& v, const std::string& at) -> Status {
    AIMASS_ASSIGN_OR_RETURN(double value, valueOf(v, at));
    out.values.push_back(value);
    return Status();
  };
  if (item.has("label")) return addLabel(item.get("label"), where + ".label");
  if (item.has("value")) return addValue(item.get("value"), where + ".value");
  if (item.has("labels")) return listOf("labels", addLabel);
  return listOf("values", addValue);
}

/// One value of a row's "features" object.
Expected<FeatureCell> cellOf(const Poco::Dynamic::Var& v, const std::string& where) {
  FeatureCell cell;
  if (v.isEmpty()) return cell;  // null: missing
  if (v.isString()) {
    cell.kind = FeatureCell::Kind::kText;
    cell.text = v.convert<std::string>();
    return cell;
  }
  if (v.isNumeric() && !v.isBoolean()) {
    cell.kind = FeatureCell::Kind::kNumber;
    AIMASS_ASSIGN_OR_RETURN(cell.number, valueOf(v, where));
    return cell;
  }
  return invalidArgument(where + " must be a number, a text or null");
}

/// One element of "rows": {"input": [...], "features": {...}, "label" | "value"}.
Status readLabelledRow(const Poco::JSON::Object& item, const std::string& where, LabelledRow& out) {
  for (const auto& [key, value] : item) {
    if (key != "input" && key != "features" && key != "label" && key != "value") {
      return invalidArgument(where + " has an unknown field '" + key +
                             "' (a row holds input, features, and label or value)");
    }
  }
  if (item.has("label") == item.has("value")) {
    return invalidArgument(where + " needs exactly one of label, value");
  }
  if (!item.has("input") && !item.has("features")) {
    return invalidArgument(where + " needs input (the number features in order), features "
                                   "(by name) or both");
  }
  if (item.has("label")) {
    AIMASS_ASSIGN_OR_RETURN(out.label, labelOf(item.get("label"), where + ".label"));
  } else {
    AIMASS_ASSIGN_OR_RETURN(out.value, valueOf(item.get("value"), where + ".value"));
  }
  if (item.has("input")) {
    if (!item.isArray("input")) {
      return invalidArgument(where + ".input must be a list of numbers");
    }
    const auto& list = *item.getArray("input");
    out.input.emplace();
    out.input->reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto v = list.get(static_cast<unsigned>(i));
      if (v.isEmpty()) {
        out.input->push_back(std::nullopt);
        continue;
      }
      AIMASS_ASSIGN_OR_RETURN(double d, valueOf(v, where + ".input[" + std::to_string(i) + "]"));
      out.input->push_back(d);
    }
  }
  if (item.has("features")) {
    if (!item.isObject("features")) {
      return invalidArgument(where + ".features must be an object of feature name to value");
    }
    for (const auto& [name, value] : *item.getObject("features")) {
      AIMASS_ASSIGN_OR_RETURN(FeatureCell cell, cellOf(value, where + ".features." + name));
      out.features.emplace_back(name, std::move(cell));
    }
  }
  return Status();
}

/// The list `field` of the body, when it is there, read into `out` by `read` (an object each,
/// 1 to `most` of them), naming the first mistake's element ("rows[3]").
template <typename Item, typename Read>
Status readObjects(const Poco::JSON::Object& root, const std::string& field, std::size_t most,
                   std::vector<Item>& out, Read read) {
  if (!root.has(field)) return Status();
  if (!root.isArray(field)) {
    return invalidArgument("\"" + field + "\" must be a list");
  }
  const auto& list = *root.getArray(field);
  if (list.size() == 0 || list.size() > most) {
    return invalidArgument("\"" + field + "\" must hold 1 to " + std::to_string(most) +
                           " elements, got " + std::to_string(list.size()));
  }
  out.resize(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (!list.isObject(static_cast<unsigned>(i))) {
      return invalidArgument(where + " must be an object");
    }
    AIMASS_RETURN_IF_ERROR(read(*list.getObject(static_cast<unsigned>(i)), where, out[i]));
  }
  return Status();
}

/// Whether a key's last segment is "<20 digits>-<8 hex digits>", as record::timeTaggedName()
/// makes.
bool isRecordName(std::string_view name) {
  return name.size() == 29 && name[20] == '-' &&
         name.substr(0, 20).find_first_not_of("0123456789") == std::string_view::npos &&
         name.substr(21).find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

Expected<FeedbackPost> parseFeedbackBody(std::string_view body) {
  Poco::JSON::Object::Ptr root;
  try {
    Poco::JSON::Parser parser;
    auto parsed = parser.parse(std::string(body));
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
      return invalidArgument("the body must be a JSON object {\"ground_truth\": [...]} or "
                             "{\"rows\": [...]}");
    }
    root = parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return invalidArgument(std::string("the body is not JSON: ") + e.what());
  }
  for (const auto& [key, value] : *root) {
    if (key != "ground_truth" && key != "rows") {
      return invalidArgument("the body has an unknown field '" + key +
                             "' (it holds \"ground_truth\", \"rows\" or both)");
    }
  }
  if (!root->has("ground_truth") && !root->has("rows")) {
    return invalidArgument("the body needs a \"ground_truth\" list (outcomes of requests) or a "
                           "\"rows\" list (new labelled rows)");
  }
  FeedbackPost post;
  AIMASS_RETURN_IF_ERROR(
      readObjects(*root, "ground_truth", kMaxGroundTruthPerPost, post.outcomes, readOutcome));
  AIMASS_RETURN_IF_ERROR(
      readObjects(*root, "rows", kMaxLabelledRowsPerPost, post.rows, readLabelledRow));
  return post;
}

std::string encodeGroundTruth(const std::vector<GroundTruth>& outcomes) {
  std::string out(kHeader);
  for (const auto& o : outcomes) {
    out += o.labels.empty() ? "\nvalue " : "\nlabel ";
    out += record::escape(o.request_id);
    out += ' ';
    out += std::to_string(o.unix_ns);
    for (const auto& label : o.labels) {
      out += ' ';
      out += record::escape(label);
    }
    for (double value : o.values) {
      out += ' ';
      out += formatNumber(value);
    }
  }
  out += '\n';
  return out;
}

Expected<std::vector<GroundTruth>> decodeGroundTruth(std::string_view text) {
  AIMASS_ASSIGN_OR_RETURN(auto lines, record::parseRecord(text, kHeader));
  std::vector<GroundTruth> out;
  out.reserve(lines.size());
  for (const auto& fields : lines) {
    const bool label = fields[0] == "label";
    if ((!label && fields[0] != "value") || fields.size() < 4) {
      return dataLoss("a ground-truth line must be 'label|value ID NS V...'");
    }
    GroundTruth o;
    o.request_id = fields[1];
    auto ns = record::parseInt(fields[2]);
    if (!ns) {
      return dataLoss("ground-truth time '" + fields[2] + "' is not a number");
    }
    o.unix_ns = *ns;
    for (std::size_t i = 3; i < fields.size(); ++i) {
      if (label) {
        o.labels.push_back(fields[i]);
        continue;
      }
      double value = 0;
      const char* end = fields[i].data() + fields[i].size();
      auto [ptr, error] = std::from_chars(fields[i].data(), end, value);
      if (error != std::errc() || ptr != end) {
        return dataLoss("ground-truth value '" + fields[i] + "' is not a number");
      }
      o.values.push_back(value);
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::string groundTruthPrefix(std::string_view model) {
  return "monitoring/" + std::string(model) + "/truth/";
}

Expected<std::string> appendGroundTruth(Storage& storage, std::string_view model,
                                        std::vector<GroundTruth> outcomes) {
  const std::int64_t now = record::nowUnixNs();
  for (auto& o : outcomes) {
    o.unix_ns = now;
  }
  const std::string full = groundTruthPrefix(model) + record::timeTaggedName(now);
  AIMASS_ASSIGN_OR_RETURN(bool written,
                          storage.compareAndSet(full, std::nullopt, encodeGroundTruth(outcomes)));
  if (!written) {
    return internalError("ground-truth record '" + full + "' exists already");
  }
  return full;
}

Expected<std::vector<GroundTruth>> readGroundTruth(const Storage& storage, std::string_view model,
                                                   std::string& cursor, std::size_t max_records,
                                                   std::int64_t until_ns) {
  const std::string prefix = groundTruthPrefix(model);
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage.list(prefix));
  std::vector<GroundTruth> out;
  std::size_t records = 0;
  for (const auto& key : keys) {  // sorted, and the name starts with the fixed-width time
    if (records == max_records) {
      break;
    }
    const std::string_view name = std::string_view(key).substr(prefix.size());
    if (key <= cursor || !isRecordName(name)) {
      continue;
    }
    if (record::parseInt(name.substr(0, 20)).value_or(0) >= until_ns) {
      break;  // keys sort by time: the rest are later still
    }
    auto text = storage.get(key);
    if (!text.ok()) {
      return text.status().withContext("ground-truth record '" + key + "'");
    }
    auto decoded = decodeGroundTruth(*text);
    if (!decoded.ok()) {
      return decoded.status().withContext("ground-truth record '" + key + "'");
    }
    for (auto& o : *decoded) out.push_back(std::move(o));
    ++records;
    cursor = key;
  }
  return out;
}

}  // namespace aimass::core
