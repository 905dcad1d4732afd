// SPDX-License-Identifier: Apache-2.0
#include "monitoring/drift_report_cli.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>

#include "aimass/core/cli.h"
#include "aimass/core/registry.h"
#include "aimass/util/csv_text.h"
#include "aimass/util/json_writer.h"
#include "data_profile.h"
#include "monitoring/payloads_cli.h"
#include "store_options.h"
#include "text_format.h"

namespace aimass::core {
namespace {

constexpr const char* kUsage =
    " (usage: aimass models drift NAME[/VERSION|@ALIAS] --data FILE.csv [--json] "
    "[--number-test ks|wasserstein|psi] [--category-test chi2|jensen_shannon|psi] [--alpha A] "
    "[--correction benjamini_hochberg|bonferroni|none] --config CONFIG)";

Status readOption(const std::string& name, const std::string& value, DriftReportCommand& c) {
  if (name == "--json") {
    c.json = true;
  } else if (name == "--data") {
    c.data = value;
  } else if (name == "--number-test") {
    auto test = parseNumberDriftTest(value);
    if (!test) return invalidArgument("--number-test '" + value + "': use ks, wasserstein or psi");
    c.options.number_test = *test;
  } else if (name == "--category-test") {
    auto test = parseCategoryDriftTest(value);
    if (!test) {
      return invalidArgument("--category-test '" + value + "': use chi2, jensen_shannon or psi");
    }
    c.options.category_test = *test;
  } else if (name == "--correction") {
    auto correction = parseDriftCorrection(value);
    if (!correction) {
      return invalidArgument("--correction '" + value +
                             "': use benjamini_hochberg, bonferroni or none");
    }
    c.options.correction = *correction;
  } else if (name == "--alpha") {
    char* end = nullptr;
    c.options.alpha = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0') return invalidArgument("--alpha '" + value + "' is not a number");
  }
  return okStatus();
}

/// The CSV as one window: each profile feature's column by name (numbers: an empty cell is a
/// gap, NaN; anything else must be a number).
Expected<DriftWindow> readWindow(const std::string& file, const DataProfile& profile,
                                 std::size_t& rows) {
  std::string text;
  AIMASS_RETURN_IF_ERROR(readCsvFile(file, text));
  CsvRecordReader reader(csvWithoutByteOrderMark(text), ',', file);
  AIMASS_ASSIGN_OR_RETURN(auto names, readCsvHeader(reader, file));
  const std::size_t numbers = profile.numberFeatures();
  std::vector<std::size_t> columns;
  for (const auto& feature : profile.features) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t at, csvColumnIndex(names, feature.name, "feature", file));
    columns.push_back(at);
  }
  DriftWindow window;
  window.numbers.resize(numbers);
  window.categories.resize(profile.features.size() - numbers);
  std::vector<std::string_view> fields;
  rows = 0;
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) break;
    ++rows;
    const std::string where = file + ":" + std::to_string(reader.line());
    if (fields.size() != names.size()) {
      return invalidArgument(where + ": " + std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(names.size()));
    }
    for (std::size_t f = 0; f < columns.size(); ++f) {
      const std::string_view cell = csvTrim(fields[columns[f]]);
      if (f >= numbers) {
        window.categories[f - numbers].emplace_back(cell);
        continue;
      }
      float value = std::numeric_limits<float>::quiet_NaN();
      if (!cell.empty()) {
        if (auto bad = parseCsvFloat(cell, value)) {
          return invalidArgument(where + ": column '" + profile.features[f].name + "' " + *bad);
        }
      }
      window.numbers[f].push_back(value);
    }
  }
  return window;
}

void printReport(const WindowDrift& drift, std::size_t rows, const std::string& reference,
                 std::ostream& out) {
  std::vector<std::vector<std::string>> table = {
      {"FEATURE", "TEST", "STATISTIC", "P-VALUE", "ADJUSTED-P", "PSI", "DRIFTED"}};
  auto number = [](double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return std::string(buffer);
  };
  for (const auto& f : drift.features) {
    if (!f.tested) {
      table.push_back({f.feature, f.test, "-", "-", "-", "-", "not tested: " + f.note});
      continue;
    }
    table.push_back({f.feature, f.test, number(f.statistic),
                     f.p_value_test ? number(f.p_value) : "-",
                     f.p_value_test ? number(f.adjusted_p_value) : "-", number(f.psi),
                     f.drifted ? "yes" : "no"});
  }
  out << textTable(table);
  out << (drift.drifted ? "drifted" : "no drift") << ": " << drift.drifted_features << " of "
      << drift.tested << " features drifted over " << rows << " rows against the profile of "
      << reference << "\n";
}

}  // namespace

bool isDriftReportCommand(const std::vector<std::string>& words) {
  return modelsSubcommandOf(words) == "drift";
}

Expected<DriftReportCommand> parseDriftReportCommand(const std::vector<std::string>& words) {
  DriftReportCommand command;
  auto handle = [&command](const std::string& name, const std::string& value) {
    return readOption(name, value, command);
  };
  AIMASS_ASSIGN_OR_RETURN(
      StoreOptions options,
      parseStoreOptions(words,
                        {.command = "models drift",
                         .flags = {"--json"},
                         .valued = {"--data", "--number-test", "--category-test", "--alpha",
                                    "--correction"}},
                        handle));
  assignStoreChoice(options, command);
  if (options.positional.size() != 2) {
    return invalidArgument(std::string("'aimass models drift' takes 1 argument") + kUsage);
  }
  command.reference = options.positional[1];
  if (command.data.empty()) {
    return invalidArgument(std::string("'aimass models drift' needs --data FILE.csv") + kUsage);
  }
  AIMASS_RETURN_IF_ERROR(validateDriftOptions(command.options));
  AIMASS_RETURN_IF_ERROR(checkStoreChoice("models drift", "registry", command.config,
                                          command.storage_uri, command.storage_node));
  return command;
}

int runDriftReportCommand(const DriftReportCommand& command, Storage& storage, std::ostream& out,
                          std::ostream& err) {
  auto report = [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(ModelVersion version, ModelRegistry(storage).resolve(command.reference));
    const std::string name = version.model + "/" + std::to_string(version.version);
    if (version.profile_key.empty()) {
      return invalidArgument(name + " has no training-data profile to compare with");
    }
    AIMASS_ASSIGN_OR_RETURN(auto profile, readDataProfile(storage, version.profile_key));
    std::size_t rows = 0;
    AIMASS_ASSIGN_OR_RETURN(DriftWindow window, readWindow(command.data, *profile, rows));
    auto drift = compareWindow(*profile, window, command.options);
    if (!drift.ok()) {
      return drift.status().withContext(name);
    }
    if (command.json) {
      out << windowDriftJson(*drift, rows);
    } else {
      printReport(*drift, rows, name, out);
    }
    return Status();
  };
  return storeCommandExit(report(), err);
}

std::string windowDriftJson(const WindowDrift& drift, std::size_t rows, const WindowSpan* span) {
  JsonWriter json;
  json.beginObject().key("rows").value(static_cast<std::uint64_t>(rows));
  if (span != nullptr) {
    json.key("first_request_id").value(span->first_request_id);
    json.key("last_request_id").value(span->last_request_id);
    json.key("first_unix_ns").value(span->first_ns).key("last_unix_ns").value(span->last_ns);
  }
  json.key("drifted").value(drift.drifted);
  json.key("tested").value(static_cast<std::uint64_t>(drift.tested));
  json.key("drifted_features").value(static_cast<std::uint64_t>(drift.drifted_features));
  json.key("features").beginArray();
  for (const auto& f : drift.features) {
    json.beginObject().key("feature").value(f.feature).key("test").value(f.test);
    json.key("tested").value(f.tested).key("statistic").value(f.statistic);
    json.key("p_value").value(f.p_value).key("adjusted_p_value").value(f.adjusted_p_value);
    json.key("psi").value(f.psi).key("drifted").value(f.drifted);
    if (!f.note.empty()) json.key("note").value(f.note);
    json.endObject();
  }
  json.endArray().endObject();
  return json.str();
}

}  // namespace aimass::core
