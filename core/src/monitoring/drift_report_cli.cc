// SPDX-License-Identifier: Apache-2.0
#include "monitoring/drift_report_cli.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>

#include "aimass/core/cli.h"
#include "aimass/core/registry.h"
#include "aimass/util/csv_text.h"
#include "aimass/util/json_writer.h"
#include "data_profile.h"
#include "monitoring/drift_window_csv.h"
#include "monitoring/payloads_cli.h"
#include "store_options.h"
#include "text_format.h"

namespace aimass::core {
namespace {

constexpr const char* kUsage =
    " (usage: aimass models drift NAME[/VERSION|@ALIAS] --data FILE.csv [--json] "
    "[--number-test ks|wasserstein|psi] [--category-test chi2|jensen_shannon|psi] [--alpha A] "
    "[--correction benjamini_hochberg|bonferroni|none] [--threads N] --config CONFIG)";

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
    if (value.empty() || *end != '\0') {
      return invalidArgument("--alpha '" + value + "' is not a number");
    }
  } else if (name == "--threads") {
    std::size_t threads = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), threads);
    if (error != std::errc() || end != value.data() + value.size() || threads == 0) {
      return invalidArgument("--threads '" + value + "' is not a positive whole number");
    }
    c.options.threads = threads;
  }
  return okStatus();
}

/// A file mapped read-only for as long as this lives: the text is parsed where the page cache
/// holds it, neither zeroed nor copied first. Empty when the file cannot be mapped (missing,
/// a folder, empty, unreadable): readCsvFile() then reads it or says what is wrong.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat info {};
    if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
      void* at = ::mmap(nullptr, static_cast<std::size_t>(info.st_size), PROT_READ, MAP_PRIVATE,
                        fd, 0);
      if (at != MAP_FAILED) {
        data_ = static_cast<const char*>(at);
        size_ = static_cast<std::size_t>(info.st_size);
        ::madvise(at, size_, MADV_WILLNEED);
      }
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  bool mapped() const { return data_ != nullptr; }
  std::string_view text() const { return {data_, size_}; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

/// The CSV as one window (the file's text is released before the tests run).
Expected<CsvWindow> readWindow(const std::string& file, const DataProfile& profile,
                               std::size_t threads) {
  MappedFile mapped(file);
  if (mapped.mapped()) {
    return readCsvWindow(csvWithoutByteOrderMark(mapped.text()), file, profile, threads);
  }
  std::string text;
  AIMASS_RETURN_IF_ERROR(readCsvFile(file, text));
  return readCsvWindow(csvWithoutByteOrderMark(text), file, profile, threads);
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
  command.options.threads = 0;  // the host's hardware threads unless --threads says
  auto handle = [&command](const std::string& name, const std::string& value) {
    return readOption(name, value, command);
  };
  AIMASS_ASSIGN_OR_RETURN(
      StoreOptions options,
      parseStoreOptions(words,
                        {.command = "models drift",
                         .flags = {"--json"},
                         .valued = {"--data", "--number-test", "--category-test", "--alpha",
                                    "--correction", "--threads"}},
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
    AIMASS_ASSIGN_OR_RETURN(CsvWindow read,
                            readWindow(command.data, *profile, command.options.threads));
    const std::size_t rows = read.rows;
    auto drift = compareWindow(*profile, read.window, command.options);
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
