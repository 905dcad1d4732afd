// SPDX-License-Identifier: Apache-2.0
// The line-per-field text of the job service's records (jobs, schedules, queue edits): each
// line is a field name and its escaped values (record_text.h). Writing and reading by name.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "record_text.h"

namespace aimass::core::jobs::fields {

inline void addLine(std::string& out, std::string_view name,
                    std::initializer_list<std::string> fields) {
  out += name;
  for (const std::string& field : fields) {
    out += ' ';
    out += record::escape(field);
  }
  out += '\n';
}

// Reads the fields of a parsed record by name, each once, into typed values.
class FieldReader {
 public:
  explicit FieldReader(const std::vector<std::vector<std::string>>& lines) {
    for (const auto& line : lines) {
      if (!line.empty()) fields_[line[0]] = std::vector<std::string>(line.begin() + 1, line.end());
    }
  }
  Status error() const { return error_; }
  /// Whether the record has the field (fields added later are absent from older records).
  bool has(const std::string& name) const { return fields_.count(name) > 0; }

  std::vector<std::string> list(const std::string& name) {
    auto it = fields_.find(name);
    if (it == fields_.end()) {
      fail("no field '" + name + "'");
      return {};
    }
    return it->second;
  }
  std::string text(const std::string& name) {
    std::vector<std::string> values = list(name);
    if (values.size() > 1) fail("field '" + name + "' has " + std::to_string(values.size()) +
                                " values");
    return values.empty() ? std::string() : values[0];
  }
  std::int64_t number(const std::string& name) {
    std::vector<std::string> values = list(name);
    if (values.size() != 1) {
      fail("field '" + name + "' needs one number");
      return 0;
    }
    return parse(name, values[0]);
  }
  /// The field's values, as many numbers as `into` has places. kDataLoss for another count.
  Status numbers(const std::string& name, std::initializer_list<std::int64_t*> into) {
    const std::vector<std::string> values = list(name);
    if (values.size() != into.size()) {
      return dataLoss("field '" + name + "' needs " + std::to_string(into.size()) + " numbers");
    }
    std::size_t i = 0;
    for (std::int64_t* target : into) *target = parse(name, values[i++]);
    return okStatus();
  }
  std::int64_t parse(const std::string& name, const std::string& value) {
    const std::optional<std::int64_t> parsed = record::parseInt(value);
    if (!parsed) fail("field '" + name + "' holds '" + value + "', not a number");
    return parsed.value_or(0);
  }

 private:
  void fail(std::string message) {
    if (error_.ok()) error_ = dataLoss(std::move(message));
  }
  std::map<std::string, std::vector<std::string>> fields_;
  Status error_;
};

/// The name of `value` in a table of (value, name) pairs; "unknown" when it has none.
template <typename Enum, std::size_t N>
std::string_view nameIn(const std::array<std::pair<Enum, std::string_view>, N>& names,
                        Enum value) {
  for (const auto& [each, name] : names) {
    if (each == value) return name;
  }
  return "unknown";
}

/// The value named `text` in a table of (value, name) pairs.
template <typename Enum, std::size_t N>
std::optional<Enum> valueIn(const std::array<std::pair<Enum, std::string_view>, N>& names,
                            std::string_view text) {
  for (const auto& [value, name] : names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

/// The records of one kind (jobs, schedules), each under `prefix` + its id, read, listed and
/// changed by compare-and-set. `Record` has an `id`; `kind` ("job") names it in errors.
template <typename Record>
struct RecordTable {
  Storage& storage;
  std::string_view prefix;
  std::string_view kind;
  Expected<Record> (*parse)(std::string_view text);
  std::string (*format)(const Record& record);

  std::string key(std::int64_t id) const {
    return std::string(prefix) + record::versionSegment(id);
  }

  /// Stores `record` as a new record under the next number of the counter `counter_key`
  /// (set as its id before `prepare` completes it).
  Expected<Record> insert(Record record, const std::string& counter_key,
                          const std::function<void(Record&)>& prepare) const {
    AIMASS_ASSIGN_OR_RETURN(record.id, record::takeNextNumber(storage, counter_key));
    prepare(record);
    auto set = storage.compareAndSet(key(record.id), std::nullopt, format(record));
    if (!set.ok()) return set.status();
    if (!*set) {
      return internalError(std::string(kind) + " " + std::to_string(record.id) +
                           " was stored twice");
    }
    return record;
  }

  /// kNotFound "no KIND N"; kDataLoss naming the key for a damaged record.
  Expected<Record> get(std::int64_t id) const {
    auto text = read(id);
    if (!text.ok()) return text.status();
    return parseAt(key(id), *text);
  }

  /// Every record, by id (one removed meanwhile is left out).
  Expected<std::vector<Record>> list() const {
    auto keys = storage.list(prefix);
    if (!keys.ok()) return keys.status();
    std::vector<Record> records;
    for (const std::string& at : *keys) {
      auto text = storage.get(at);
      if (!text.ok()) {
        if (text.status().code() == StatusCode::kNotFound) continue;
        return text.status();
      }
      AIMASS_ASSIGN_OR_RETURN(Record parsed, parseAt(at, *text));
      records.push_back(std::move(parsed));
    }
    return records;
  }

  /// Applies `change` and stores the result in one step, retrying on a lost race (so `change`
  /// may run more than once). A non-OK status from `change` is returned; nothing is stored.
  Expected<Record> update(std::int64_t id, const std::function<Status(Record&)>& change) const {
    for (;;) {
      auto text = read(id);
      if (!text.ok()) return text.status();
      AIMASS_ASSIGN_OR_RETURN(Record changed, parseAt(key(id), *text));
      if (Status status = change(changed); !status.ok()) return status;
      changed.id = id;
      auto set = storage.compareAndSet(key(id), std::string_view(*text), format(changed));
      if (!set.ok()) return set.status();
      if (*set) return changed;
    }
  }

 private:
  Expected<std::string> read(std::int64_t id) const {
    auto text = storage.get(key(id));
    if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
      return notFound("no " + std::string(kind) + " " + std::to_string(id));
    }
    return text;
  }
  Expected<Record> parseAt(const std::string& at, std::string_view text) const {
    auto parsed = parse(text);
    if (!parsed.ok()) {
      return parsed.status().withContext(std::string(kind) + " record '" + at + "'");
    }
    return parsed;
  }
};

}  // namespace aimass::core::jobs::fields
