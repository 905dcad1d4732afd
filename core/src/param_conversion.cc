// SPDX-License-Identifier: Apache-2.0
#include "param_conversion.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <system_error>

#include "aimass/core/type_registry.h"
#include "aimass/util/http_text.h"
#include "aimass/util/number_text.h"
#include "yaml_location.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;

/// The element type of a list parameter type (the type itself for scalars).
ParamType elementType(ParamType type) {
  switch (type) {
    case ParamType::kStringList:
      return ParamType::kString;
    case ParamType::kIntList:
      return ParamType::kInt;
    case ParamType::kFloatList:
      return ParamType::kFloat;
    case ParamType::kRefList:
      return ParamType::kRef;
    default:
      return type;
  }
}

bool isListType(ParamType type) { return elementType(type) != type; }

/// "an integer", "a number", ...: what a scalar of `type` must be, for messages.
std::string expectedText(ParamType type) {
  switch (elementType(type)) {
    case ParamType::kBool:
      return "true or false";
    case ParamType::kInt:
      return "an integer";
    case ParamType::kFloat:
      return "a number";
    case ParamType::kString:
      return "a string";
    case ParamType::kPath:
      return "a path";
    case ParamType::kRef:
      return "a node name";
    default:
      return "a value";
  }
}

std::optional<bool> parseBool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") {
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE") {
    return false;
  }
  return std::nullopt;
}

enum class NumberError { kNone, kSyntax, kRange };

/// YAML 1.2 core-schema integers: decimal with an optional sign, 0x hex, 0o octal.
NumberError parseInt(const std::string& s, std::int64_t& out) {
  std::string_view text = s;
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    base = text[1] == 'x' ? 16 : 8;
    text.remove_prefix(2);
  }
  if (text.empty() || text.front() == '+' || text.front() == '-') {
    return NumberError::kSyntax;
  }
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (end != text.data() + text.size()) {
    return NumberError::kSyntax;
  }
  constexpr std::uint64_t kMaxPositive = static_cast<std::uint64_t>(INT64_MAX);
  if (ec == std::errc::result_out_of_range || magnitude > kMaxPositive + (negative ? 1 : 0)) {
    return NumberError::kRange;
  }
  if (ec != std::errc()) {
    return NumberError::kSyntax;
  }
  out = negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return NumberError::kNone;
}

/// Decimal and exponent notation, and YAML's .inf / -.inf; never NaN.
NumberError parseFloat(const std::string& s, double& out) {
  std::string_view text = s;
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text == ".inf" || text == ".Inf" || text == ".INF") {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return NumberError::kNone;
  }
  // from_chars would also take "inf", "nan" and hex digits: accept only what YAML calls numbers.
  if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string_view::npos ||
      text.front() == '+' || text.front() == '-') {
    return NumberError::kSyntax;
  }
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (end != text.data() + text.size()) {
    return NumberError::kSyntax;
  }
  if (ec == std::errc::result_out_of_range) {
    return NumberError::kRange;
  }
  if (ec != std::errc()) {
    return NumberError::kSyntax;
  }
  out = negative ? -value : value;
  return NumberError::kNone;
}

}  // namespace

std::string placeOf(const ParamRecord& record, const std::string& field) {
  const std::string at = record.location(field);
  return at.empty() ? record.path() : at + ": " + record.path();
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

std::string ParamConverter::butIs(const std::string& text, const SourceLocation& where) const {
  const std::string* words = decl_.fromEnvironment(where);
  return words != nullptr ? "but " + *words + " is not" : "but is '" + text + "'";
}

std::string ParamConverter::quoted(const std::string& text, const SourceLocation& where) const {
  const std::string* words = decl_.fromEnvironment(where);
  return words != nullptr ? *words : "'" + text + "'";
}

namespace {

bool appendJson(const YAML::Node& value, int depth, std::string& out, std::string& error) {
  if (depth > 64) {
    error = "it nests deeper than 64 levels";
    return false;
  }
  if (value.IsMap()) {
    out += '{';
    bool first = true;
    for (const auto& entry : value) {
      out += first ? "\"" : ",\"";
      first = false;
      out += jsonEscape(entry.first.Scalar()) + "\":";
      if (!appendJson(entry.second, depth + 1, out, error)) {
        return false;
      }
    }
    out += '}';
    return true;
  }
  if (value.IsSequence()) {
    out += '[';
    bool first = true;
    for (const auto& element : value) {
      out += first ? "" : ",";
      first = false;
      if (!appendJson(element, depth + 1, out, error)) {
        return false;
      }
    }
    out += ']';
    return true;
  }
  if (!value.IsDefined() || value.IsNull()) {
    out += "null";
    return true;
  }
  const std::string& text = value.Scalar();
  if (value.Tag() == "!") {  // quoted: always a string
    out += '"' + jsonEscape(text) + '"';
    return true;
  }
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "false") {
    out += lower;
    return true;
  }
  std::int64_t integer = 0;
  double number = 0;
  if (YAML::convert<std::int64_t>::decode(value, integer)) {
    out += std::to_string(integer);
  } else if (YAML::convert<double>::decode(value, number)) {
    if (!std::isfinite(number)) {
      error = "'" + text + "' is not a finite number, which JSON cannot hold";
      return false;
    }
    out += formatNumber(number);
  } else {
    out += '"' + jsonEscape(text) + '"';
  }
  return true;
}

}  // namespace

std::optional<std::string> yamlToJson(const YAML::Node& value, std::string& error) {
  std::string out;
  if (!appendJson(value, 0, out, error)) {
    return std::nullopt;
  }
  return out;
}

std::optional<ParamValue> ParamConverter::convert(const YAML::Node& value,
                                                  const SourceLocation& where,
                                                  const ParamSpec& spec, RefSites& refs) {
  switch (spec.type) {
    case ParamType::kRecordList:
      return convertRecordList(value, where, spec);
    case ParamType::kRecordMap:
      return convertRecordMap(value, where, spec);
    case ParamType::kJson: {
      std::string why;
      auto json = yamlToJson(value, why);
      if (!json) {
        error(where, describe(spec.name) + " is not valid: " + why);
        return std::nullopt;
      }
      return ParamValue(std::move(*json));
    }
    default:
      return convertValue(value, where, spec, spec.name, refs);
  }
}

ParamValue ParamConverter::defaultValue(const ParamSpec& spec) const {
  ParamValue value = spec.default_value;
  if (spec.type == ParamType::kPath) {
    if (auto* s = std::get_if<std::string>(&value)) {
      fs::path p(*s);
      value = (p.is_absolute() ? p : decl_.base_dir / p).lexically_normal().string();
    }
  } else if (spec.type == ParamType::kFloat) {
    if (auto* n = std::get_if<std::int64_t>(&value)) {
      value = static_cast<double>(*n);
    }
  } else if (spec.type == ParamType::kFloatList) {
    if (auto* n = std::get_if<std::vector<std::int64_t>>(&value)) {
      value = std::vector<double>(n->begin(), n->end());
    }
  }
  return value;
}

std::optional<ParamValue> ParamConverter::convertScalar(const YAML::Node& value,
                                                        const ParamSpec& spec,
                                                        const std::string& what,
                                                        const SourceLocation& where) {
  ParamType type = elementType(spec.type);
  if (value.IsNull() || !value.IsDefined()) {
    error(where, what + " has no value",
          spec.required ? "give it " + expectedText(type)
                        : "give it " + expectedText(type) + ", or remove it to use the default");
    return std::nullopt;
  }
  if (!value.IsScalar()) {
    error(where, what + " must be " + expectedText(type) + ", not " + describeNodeType(value));
    return std::nullopt;
  }
  const std::string& text = value.Scalar();
  auto checkRange = [&](double v, const std::string& shown) {
    bool low = spec.min && v < *spec.min;
    bool high = spec.max && v > *spec.max;
    if (!low && !high) {
      return true;
    }
    std::string range = spec.min && spec.max ? "in [" + formatNumber(*spec.min) + ", " +
                                                   formatNumber(*spec.max) + "]"
                        : spec.min ? "at least " + formatNumber(*spec.min)
                                   : "at most " + formatNumber(*spec.max);
    const std::string* words = decl_.fromEnvironment(where);
    error(where, what + " must be " + range + ", " +
                     (words != nullptr ? "but " + *words + " is not" : "but is " + shown));
    return false;
  };
  switch (type) {
    case ParamType::kBool: {
      auto b = parseBool(text);
      if (!b) {
        error(where, what + " must be true or false, " + butIs(text, where));
        return std::nullopt;
      }
      return ParamValue(*b);
    }
    case ParamType::kInt: {
      std::int64_t v = 0;
      switch (parseInt(text, v)) {
        case NumberError::kNone:
          break;
        case NumberError::kRange:
          error(where, what + " is outside the 64-bit integer range: " + quoted(text, where));
          return std::nullopt;
        case NumberError::kSyntax:
          error(where, what + " must be an integer, " + butIs(text, where));
          return std::nullopt;
      }
      if (!checkRange(static_cast<double>(v), std::to_string(v))) {
        return std::nullopt;
      }
      return ParamValue(v);
    }
    case ParamType::kFloat: {
      double v = 0;
      switch (parseFloat(text, v)) {
        case NumberError::kNone:
          break;
        case NumberError::kRange:
          error(where, what + " is outside the range of a 64-bit float: " + quoted(text, where));
          return std::nullopt;
        case NumberError::kSyntax:
          error(where, what + " must be a number, " + butIs(text, where));
          return std::nullopt;
      }
      if (!checkRange(v, formatNumber(v))) {
        return std::nullopt;
      }
      return ParamValue(v);
    }
    case ParamType::kString: {
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        std::string guess = closestMatch(text, spec.choices);
        error(where,
              what + " must be one of: " + joinNames(spec.choices) + ", " + butIs(text, where),
              guess.empty() ? std::string() : "did you mean '" + guess + "'?");
        return std::nullopt;
      }
      return ParamValue(text);
    }
    case ParamType::kPath: {
      if (text.empty()) {
        error(where, what + " must be a path, but is empty");
        return std::nullopt;
      }
      fs::path p(text);
      return ParamValue((p.is_absolute() ? p : decl_.base_dir / p).lexically_normal().string());
    }
    case ParamType::kRef: {
      if (text.empty()) {
        error(where, what + " must be a node name, but is empty");
        return std::nullopt;
      }
      return ParamValue(text);
    }
    default:
      break;
  }
  error(where, what + " has a type the host does not know");
  return std::nullopt;
}

std::optional<ParamValue> ParamConverter::convertValue(const YAML::Node& value,
                                                       const SourceLocation& where,
                                                       const ParamSpec& spec,
                                                       const std::string& name, RefSites& refs) {
  std::string what = describe(name);
  if (!isListType(spec.type)) {
    auto converted = convertScalar(value, spec, what, where);
    if (converted && spec.type == ParamType::kRef) {
      refs.emplace_back(std::get<std::string>(*converted), where);
    }
    return converted;
  }
  // A list parameter also takes a single scalar, as a list of one: `models: clf` reads like
  // `models: [clf]`, as `include:` and `plugins:` do.
  std::vector<std::pair<YAML::Node, SourceLocation>> elements;
  if (value.IsSequence()) {
    for (const auto& element : value) {
      elements.emplace_back(element, locationOf(element, where));
    }
  } else if (value.IsScalar()) {
    elements.emplace_back(value, where);
  } else {
    error(where, value.IsMap() ? what + " must be a list, not a map" : what + " has no value",
          value.IsMap() ? "write it as [a, b, c]" : "give it a list such as [a, b]");
    return std::nullopt;
  }
  std::vector<std::string> strings;
  std::vector<std::int64_t> ints;
  std::vector<double> floats;
  bool ok = true;
  for (std::size_t i = 0; i < elements.size(); ++i) {
    const auto& [element, element_where] = elements[i];
    std::string element_what =
        value.IsSequence() ? "element " + std::to_string(i + 1) + " of " + what : what;
    auto converted = convertScalar(element, spec, element_what, element_where);
    if (!converted) {
      ok = false;
      continue;
    }
    if (auto* s = std::get_if<std::string>(&*converted)) {
      if (spec.type == ParamType::kRefList) {
        refs.emplace_back(*s, element_where);
      }
      strings.push_back(std::move(*s));
    } else if (auto* n = std::get_if<std::int64_t>(&*converted)) {
      ints.push_back(*n);
    } else if (auto* d = std::get_if<double>(&*converted)) {
      floats.push_back(*d);
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  switch (spec.type) {
    case ParamType::kIntList:
      return ParamValue(std::move(ints));
    case ParamType::kFloatList:
      return ParamValue(std::move(floats));
    default:
      return ParamValue(std::move(strings));
  }
}

}  // namespace aimass::core
