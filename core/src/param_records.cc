// SPDX-License-Identifier: Apache-2.0
// The record parameters of ParamConverter (kRecordList, kRecordMap): the YAML shape of a list or
// map of records, and each record's fields, converted with the scalar and list rules of
// param_conversion.cc.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <variant>

#include "aimass/core/type_registry.h"
#include "param_conversion.h"
#include "yaml_location.h"

namespace aimass::core {
namespace {

/// How a record of `spec` is written, for hints: "{name: ..., role: ..., sha256: ...}".
std::string recordSample(const ParamSpec& spec) {
  std::string out;
  for (const auto& field : spec.fields) {
    out += (out.empty() ? "" : ", ") + field.name + ": ...";
  }
  return "{" + out + "}";
}

/// The end of "... must be a list of records, ": "not a map", or "but has no value".
std::string whatItIs(const YAML::Node& value) {
  if (value.IsNull() || !value.IsDefined()) {
    return "but has no value";
  }
  return std::string("not ") + describeNodeType(value);
}

}  // namespace

FieldValue fieldValueOf(ParamValue value) {
  return std::visit(
      [](auto&& v) -> FieldValue {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_constructible_v<FieldValue, T>) {
          return FieldValue(std::move(v));
        } else {
          return FieldValue();
        }
      },
      std::move(value));
}

std::optional<ParamValue> ParamConverter::convertRecordList(const YAML::Node& value,
                                                            const SourceLocation& where,
                                                            const ParamSpec& spec) {
  const std::string what = describe(spec.name);
  if (!value.IsSequence()) {
    error(where, what + " must be a list of records, " + whatItIs(value),
          "write one record a line as '- " + recordSample(spec) + "', or [] for none");
    return std::nullopt;
  }
  std::vector<ParamRecord> records;
  bool ok = true;
  std::size_t i = 0;
  for (const auto& element : value) {
    auto record = convertRecord(element, locationOf(element, where), spec,
                                spec.name + "[" + std::to_string(i++) + "]");
    if (record) {
      records.push_back(std::move(*record));
    }
    ok = ok && record.has_value();
  }
  if (!ok) {
    return std::nullopt;
  }
  return ParamValue(std::move(records));
}

std::optional<ParamValue> ParamConverter::convertRecordMap(const YAML::Node& value,
                                                           const SourceLocation& where,
                                                           const ParamSpec& spec) {
  const std::string what = describe(spec.name);
  if (!value.IsMap()) {
    error(where, what + " must be a map of names to records, " + whatItIs(value),
          "write one entry a line as 'NAME: " + recordSample(spec) + "', or {} for none");
    return std::nullopt;
  }
  ParamRecordMap records;
  Sites sites;
  bool ok = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const YAML::Node key = it->first;  // copies: it-> returns a temporary proxy
    const YAML::Node item = it->second;
    const SourceLocation key_where = locationOf(key, where);
    if (!key.IsScalar() || key.Scalar().empty()) {
      error(key_where, "a name in " + what + " must be a non-empty string, but is " +
                           (key.IsScalar() ? std::string("empty") : describeNodeType(key)));
      ok = false;
      continue;
    }
    const std::string& name = key.Scalar();
    if (!isFirst(sites, name, key_where, what + " names '" + name + "' twice")) {
      ok = false;
      continue;
    }
    auto record = convertRecord(item, locationOf(item, key_where), spec, spec.name + "." + name);
    if (record) {
      records.emplace(name, std::move(*record));
    }
    ok = ok && record.has_value();
  }
  if (!ok) {
    return std::nullopt;
  }
  return ParamValue(std::move(records));
}

bool ParamConverter::isFirst(Sites& sites, const std::string& name, const SourceLocation& where,
                             const std::string& twice) {
  auto [first, inserted] = sites.emplace(name, where);
  if (!inserted) {
    error(where, twice + "; it was first given at " + formatLocation(first->second));
  }
  return inserted;
}

std::optional<ParamRecord> ParamConverter::convertRecord(const YAML::Node& value,
                                                         const SourceLocation& where,
                                                         const ParamSpec& spec,
                                                         const std::string& path) {
  const std::string what = describe(path);
  if (!value.IsMap()) {
    error(
        where,
        what + " must be a record (a map of field names to values), not " + describeNodeType(value),
        "write it as " + recordSample(spec));
    return std::nullopt;
  }
  std::vector<std::string> names;
  for (const auto& field : spec.fields) {
    names.push_back(field.name);
  }
  ParamRecord record;
  record.setPath(path, formatLocation(where));
  Sites given;
  bool ok = true;
  for (auto it = value.begin(); it != value.end(); ++it) {
    const YAML::Node key = it->first;  // copies: it-> returns a temporary proxy
    const YAML::Node item = it->second;
    const SourceLocation key_where = locationOf(key, where);
    if (!key.IsScalar()) {
      error(key_where,
            "a field name in " + what + " must be a string, but is " + describeNodeType(key));
      ok = false;
      continue;
    }
    const std::string& name = key.Scalar();
    if (!isFirst(given, name, key_where, what + " gives the field '" + name + "' twice")) {
      ok = false;
      continue;
    }
    auto field = std::find_if(spec.fields.begin(), spec.fields.end(),
                              [&](const ParamSpec& f) { return f.name == name; });
    if (field == spec.fields.end()) {
      std::string guess = closestMatch(name, names);
      error(
          key_where, what + " has no field '" + name + "'",
          guess.empty() ? "the fields are: " + joinNames(names) : "did you mean '" + guess + "'?");
      ok = false;
      continue;
    }
    const SourceLocation value_where = locationOf(item, key_where);
    RefSites no_refs;  // fields are never references
    auto converted = convertValue(item, value_where, *field, path + "." + name, no_refs);
    if (!converted) {
      ok = false;
      continue;
    }
    record.setValue(name, fieldValueOf(std::move(*converted)));
    record.setFieldLocation(name, formatLocation(value_where));
  }
  for (const auto& field : spec.fields) {
    if (given.count(field.name) != 0) {
      continue;
    }
    if (field.required) {
      error(where, what + " is missing the required field '" + field.name + "'",
            field.name + " (" + std::string(paramTypeName(field.type)) + "): " + field.doc);
      ok = false;
    } else if (!std::holds_alternative<std::monostate>(field.default_value)) {
      record.setValue(field.name, fieldValueOf(defaultValue(field)));
    }
  }
  if (!ok) {
    return std::nullopt;
  }
  return record;
}

}  // namespace aimass::core
