// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/tracking.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_set>
#include <utility>

#include "aimass/core/registry.h"
#include "aimass/util/number_text.h"
#include "process_identity.h"
#include "record_text.h"
#include "text_format.h"

namespace aimass::core {
namespace {

constexpr std::string_view kRoot = "tracking/";
constexpr std::string_view kRunHeader = "aimass-run 1";
constexpr std::string_view kLiveHeader = "aimass-run-live 1";
constexpr std::string_view kPointsHeader = "aimass-metric-points 1";

std::string runSegment(std::int64_t id) { return record::versionSegment(id); }
std::string runKey(std::int64_t id) { return std::string(kRoot) + "runs/" + runSegment(id); }
std::string liveKey(std::int64_t id) { return std::string(kRoot) + "live/" + runSegment(id); }
std::string pointsPrefix(std::int64_t id) {
  return std::string(kRoot) + "points/" + runSegment(id) + "/";
}
std::string experimentNameKey(std::string_view experiment) {
  return std::string(kRoot) + "experiment-names/" + std::string(experiment);
}
std::string experimentPrefix(std::string_view experiment) {
  return std::string(kRoot) + "experiments/" + std::string(experiment) + "/";
}
std::string memberKey(std::string_view experiment, std::int64_t id) {
  return experimentPrefix(experiment) + "runs/" + runSegment(id);
}
std::string statusPrefix(std::string_view experiment, RunStatus status) {
  return experimentPrefix(experiment) + "status/" + std::string(runStatusName(status)) + "/";
}
std::string metricPrefix(std::string_view experiment, std::string_view metric) {
  return experimentPrefix(experiment) + "metric/" + std::string(metric) + "/";
}
std::string metricKey(std::string_view experiment, std::string_view metric, double value,
                      std::int64_t id) {
  return metricPrefix(experiment, metric) + sortableNumber(value) + "/" + runSegment(id);
}

/// The run id at the end of an index key ("…/0000000042"); nullopt when it is not one.
std::optional<std::int64_t> trailingRunId(std::string_view key) {
  const auto slash = key.rfind('/');
  auto id = record::parseInt(slash == std::string_view::npos ? key : key.substr(slash + 1));
  if (!id || *id <= 0) {
    return std::nullopt;
  }
  return id;
}

bool indexable(double value) { return !std::isnan(value); }

Status removeIfPresent(Storage& storage, const std::string& key) {
  Status removed = storage.remove(key);
  if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
    return removed;
  }
  return Status();
}

// --- Liveness -------------------------------------------------------------------------------

std::string encodeLive(const ProcessIdentity& p) {
  return std::string(kLiveHeader) + "\npid " + std::to_string(p.pid) + "\nhost " +
         record::escape(p.host) + "\nboot " + record::escape(p.boot_id) + "\nstart_ticks " +
         std::to_string(p.start_ticks) + "\n";
}

std::optional<ProcessIdentity> decodeLive(std::string_view text) {
  auto lines = record::parseRecord(text, kLiveHeader);
  if (!lines.ok()) {
    return std::nullopt;
  }
  ProcessIdentity p;
  for (const auto& f : *lines) {
    if (f.size() != 2) {
      return std::nullopt;
    }
    if (f[0] == "pid") {
      auto v = record::parseInt(f[1]);
      if (!v) return std::nullopt;
      p.pid = *v;
    } else if (f[0] == "host") {
      p.host = f[1];
    } else if (f[0] == "boot") {
      p.boot_id = f[1];
    } else if (f[0] == "start_ticks") {
      auto v = record::parseInt(f[1]);
      if (!v || *v < 0) return std::nullopt;
      p.start_ticks = static_cast<std::uint64_t>(*v);
    } else {
      return std::nullopt;
    }
  }
  if (p.pid <= 0) {
    return std::nullopt;
  }
  return p;
}

// --- Points ---------------------------------------------------------------------------------

Expected<std::vector<MetricPoint>> decodePoints(std::string_view text, const std::string& key) {
  auto bad = [&](const std::string& why) {
    return dataLoss("malformed metric points record '" + key + "': " + why);
  };
  auto lines = record::parseRecord(text, kPointsHeader);
  if (!lines.ok()) {
    return bad(lines.status().message());
  }
  std::vector<MetricPoint> points;
  points.reserve(lines->size());
  for (const auto& f : *lines) {
    if (f.size() != 4) {
      return bad("a line has " + std::to_string(f.size()) + " fields, not 4");
    }
    MetricPoint p;
    p.name = f[0];
    auto step = record::parseInt(f[1]);
    auto ms = record::parseInt(f[3]);
    auto parsed = std::from_chars(f[2].data(), f[2].data() + f[2].size(), p.value);
    if (!step || !ms || parsed.ec != std::errc() || parsed.ptr != f[2].data() + f[2].size()) {
      return bad("point '" + f[0] + " " + f[1] + " " + f[2] + " " + f[3] + "'");
    }
    p.step = *step;
    p.unix_ms = *ms;
    points.push_back(std::move(p));
  }
  return points;
}

// --- Filters --------------------------------------------------------------------------------

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// Splits at ',' and at the word "and" (any case, with blanks around it).
std::vector<std::string_view> splitConditions(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
      continue;
    }
    const bool blank_before = i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t');
    if (blank_before && i + 4 <= text.size()) {
      std::string word(text.substr(i, 3));
      std::transform(word.begin(), word.end(), word.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (word == "and" && (text[i + 3] == ' ' || text[i + 3] == '\t')) {
        parts.push_back(text.substr(start, i - start));
        start = i + 3;
        i += 2;
      }
    }
  }
  return parts;
}

}  // namespace

std::string_view runStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kFinished:
      return "finished";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kKilled:
      return "killed";
  }
  return "unknown";
}

std::optional<RunStatus> parseRunStatus(std::string_view name) {
  for (auto status :
       {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kFailed, RunStatus::kKilled}) {
    if (runStatusName(status) == name) {
      return status;
    }
  }
  return std::nullopt;
}

std::string sortableNumber(double value) {
  auto bits = std::bit_cast<std::uint64_t>(value);
  // Positive numbers: set the sign bit so they sort above negatives. Negative numbers: flip
  // every bit, so a larger magnitude sorts lower.
  bits = (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llX", static_cast<unsigned long long>(bits));
  return buffer;
}

std::optional<double> parseSortableNumber(std::string_view text) {
  if (text.size() != 16) {
    return std::nullopt;
  }
  std::uint64_t bits = 0;
  auto parsed = std::from_chars(text.data(), text.data() + text.size(), bits, 16);
  if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  bits = (bits >> 63) != 0 ? bits & ~(std::uint64_t{1} << 63) : ~bits;
  const double value = std::bit_cast<double>(bits);
  if (sortableNumber(value) != text) {
    return std::nullopt;  // lowercase hex or another spelling this code never writes
  }
  return value;
}

std::string encodeRunRecord(const RunRecord& r) {
  using record::escape;
  std::string out(kRunHeader);
  out += "\nid " + std::to_string(r.id);
  out += "\nexperiment " + escape(r.experiment);
  out += "\nnode " + escape(r.node);
  out += "\ntype " + escape(r.node_type);
  out += "\nstatus " + std::string(runStatusName(r.status));
  out += "\nstart_ms " + std::to_string(r.start_unix_ms);
  out += "\nend_ms " + std::to_string(r.end_unix_ms);
  out += "\nupdated_ms " + std::to_string(r.updated_unix_ms);
  out += "\nerror " + escape(r.error);
  out += "\npid " + std::to_string(r.pid);
  out += "\nhost " + escape(r.host);
  for (const auto& [name, value] : r.params) {
    out += "\nparam " + escape(name) + " " + escape(value);
  }
  for (const auto& [name, value] : r.metrics) {
    out += "\nmetric " + escape(name) + " " + formatNumber(value);
  }
  for (const auto& [name, value] : r.artifacts) {
    out += "\nartifact " + escape(name) + " " + escape(value);
  }
  return out + "\n";
}

Expected<RunRecord> decodeRunRecord(std::string_view text) {
  auto bad = [](const std::string& why) { return dataLoss("malformed run record: " + why); };
  auto lines = record::parseRecord(text, kRunHeader);
  if (!lines.ok()) {
    return bad(lines.status().message());
  }
  RunRecord r;
  bool has_status = false;
  auto integer = [&](const std::string& field, const std::string& value,
                     std::int64_t& out) -> bool {
    auto v = record::parseInt(value);
    if (!v) {
      return false;
    }
    out = *v;
    (void)field;
    return true;
  };
  for (const auto& f : *lines) {
    const std::string& field = f[0];
    bool ok = true;
    if (f.size() == 2 && field == "id") {
      ok = integer(field, f[1], r.id);
    } else if (f.size() == 2 && field == "experiment") {
      r.experiment = f[1];
    } else if (f.size() == 2 && field == "node") {
      r.node = f[1];
    } else if (f.size() == 2 && field == "type") {
      r.node_type = f[1];
    } else if (f.size() == 2 && field == "status") {
      auto status = parseRunStatus(f[1]);
      ok = status.has_value();
      if (ok) {
        r.status = *status;
        has_status = true;
      }
    } else if (f.size() == 2 && field == "start_ms") {
      ok = integer(field, f[1], r.start_unix_ms);
    } else if (f.size() == 2 && field == "end_ms") {
      ok = integer(field, f[1], r.end_unix_ms);
    } else if (f.size() == 2 && field == "updated_ms") {
      ok = integer(field, f[1], r.updated_unix_ms);
    } else if (f.size() == 2 && field == "error") {
      r.error = f[1];
    } else if (f.size() == 2 && field == "pid") {
      ok = integer(field, f[1], r.pid);
    } else if (f.size() == 2 && field == "host") {
      r.host = f[1];
    } else if (f.size() == 3 && field == "param") {
      r.params[f[1]] = f[2];
    } else if (f.size() == 3 && field == "metric") {
      double value = 0;
      auto parsed = std::from_chars(f[2].data(), f[2].data() + f[2].size(), value);
      ok = parsed.ec == std::errc() && parsed.ptr == f[2].data() + f[2].size();
      r.metrics[f[1]] = value;
    } else if (f.size() == 3 && field == "artifact") {
      r.artifacts[f[1]] = f[2];
    } else {
      return bad("unexpected line '" + field + "'");
    }
    if (!ok) {
      return bad("bad " + field + " '" + f.back() + "'");
    }
  }
  if (r.id <= 0 || r.experiment.empty() || !has_status) {
    return bad("no id, experiment or status");
  }
  return r;
}

bool MetricFilter::matches(double v) const {
  switch (op) {
    case Op::kLess:
      return v < value;
    case Op::kLessEqual:
      return v <= value;
    case Op::kGreater:
      return v > value;
    case Op::kGreaterEqual:
      return v >= value;
    case Op::kEqual:
      return v == value;
    case Op::kNotEqual:
      return v != value;
  }
  return false;
}

Expected<std::vector<MetricFilter>> parseMetricFilters(std::string_view text) {
  const std::string whole = "bad filter '" + std::string(text) + "': ";
  const std::string form =
      " (write METRIC OP NUMBER, e.g. val_accuracy>0.8, with OP one of "
      "<, <=, >, >=, =, !=)";
  std::vector<MetricFilter> filters;
  for (std::string_view part : splitConditions(text)) {
    const std::string_view condition = trim(part);
    if (condition.empty()) {
      return invalidArgument(whole + "an empty condition" + form);
    }
    const auto op_at = condition.find_first_of("<>=!");
    if (op_at == std::string_view::npos) {
      return invalidArgument(whole + "'" + std::string(condition) + "' has no comparison" + form);
    }
    MetricFilter filter;
    filter.metric = std::string(trim(condition.substr(0, op_at)));
    std::string_view rest = condition.substr(op_at);
    struct Spelling {
      std::string_view text;
      MetricFilter::Op op;
    };
    static constexpr Spelling kOps[] = {
        {"<=", MetricFilter::Op::kLessEqual}, {">=", MetricFilter::Op::kGreaterEqual},
        {"==", MetricFilter::Op::kEqual},     {"!=", MetricFilter::Op::kNotEqual},
        {"<", MetricFilter::Op::kLess},       {">", MetricFilter::Op::kGreater},
        {"=", MetricFilter::Op::kEqual},
    };
    const Spelling* found = nullptr;
    for (const auto& spelling : kOps) {
      if (rest.starts_with(spelling.text)) {
        found = &spelling;
        break;
      }
    }
    if (found == nullptr) {
      return invalidArgument(whole + "'" + std::string(rest.substr(0, 1)) +
                             "' is not a comparison" + form);
    }
    filter.op = found->op;
    if (filter.metric.empty()) {
      return invalidArgument(whole + "no metric name before '" + std::string(found->text) + "'" +
                             form);
    }
    Status name = Tracking::validateName(filter.metric, "metric");
    if (!name.ok()) {
      return invalidArgument(whole + name.message());
    }
    const std::string_view number = trim(rest.substr(found->text.size()));
    auto parsed = std::from_chars(number.data(), number.data() + number.size(), filter.value);
    if (number.empty() || parsed.ec != std::errc() || parsed.ptr != number.data() + number.size() ||
        std::isnan(filter.value)) {
      return invalidArgument(whole + "'" + std::string(number) + "' is not a number" + form);
    }
    filters.push_back(std::move(filter));
  }
  return filters;
}

// --- RunLogger ------------------------------------------------------------------------------

RunLogger::RunLogger(Storage& storage, TrackingOptions options, RunRecord record)
    : storage_(storage),
      options_(options),
      record_(std::move(record)),
      last_points_write_(std::chrono::steady_clock::now()),
      last_summary_write_(last_points_write_) {}

RunLogger::~RunLogger() {
  if (!finished_) {
    finish(RunStatus::kFailed, "the run ended without reporting its outcome").ignoreError();
  }
}

Status RunLogger::log(std::string_view name, std::int64_t step, double value) {
  return append(name, step, value, record::nowUnixMs());
}

Status RunLogger::append(std::string_view name, std::int64_t step, double value,
                         std::int64_t unix_ms) {
  if (finished_) {
    return failedPrecondition("run " + std::to_string(record_.id) + " is already finished");
  }
  std::uint32_t index = 0;
  while (index < names_.size() && names_[index] != name) {
    ++index;
  }
  if (index == names_.size()) {
    AIMASS_RETURN_IF_ERROR(Tracking::validateName(name, "metric"));
    names_.emplace_back(name);
  }
  buffer_.push_back({index, step, value, unix_ms});
  return Status();
}

Status RunLogger::logAll(std::int64_t step,
                         std::initializer_list<std::pair<std::string_view, double>> values) {
  const std::int64_t unix_ms = record::nowUnixMs();
  for (const auto& [name, value] : values) {
    AIMASS_RETURN_IF_ERROR(append(name, step, value, unix_ms));
  }
  return flushIfDue();
}

void RunLogger::setArtifact(std::string_view name, std::string_view value) {
  record_.artifacts[std::string(name)] = std::string(value);
  summary_dirty_ = true;
}

Status RunLogger::flushIfDue() {
  const auto now = std::chrono::steady_clock::now();
  if (!buffer_.empty() && (buffer_.size() >= options_.flush_points ||
                           now - last_points_write_ >= options_.flush_interval)) {
    AIMASS_RETURN_IF_ERROR(writePoints());
  }
  if (summary_dirty_ && now - last_summary_write_ >= options_.summary_interval) {
    return writeSummary();
  }
  return Status();
}

Status RunLogger::writeRecord() {
  return storage_.put(runKey(record_.id), encodeRunRecord(record_))
      .withContext("writing run " + std::to_string(record_.id));
}

Status RunLogger::writePoints() {
  last_points_write_ = std::chrono::steady_clock::now();
  if (buffer_.empty()) {
    return Status();
  }
  std::string text(kPointsHeader);
  text += '\n';
  text.reserve(text.size() + buffer_.size() * 48);
  std::vector<std::string> escaped;
  escaped.reserve(names_.size());
  for (const auto& name : names_) {
    escaped.push_back(record::escape(name));
  }
  // Numbers are appended in place: this loop runs over every point logged, so it stays cheap.
  char number[64];
  auto append = [&](auto value) {
    auto result = std::to_chars(number, number + sizeof number, value);
    text.append(number, result.ptr);
  };
  std::vector<const BufferedPoint*> last(names_.size(), nullptr);
  for (const auto& p : buffer_) {
    text += escaped[p.name];
    text += ' ';
    append(p.step);
    text += ' ';
    appendNumber(text, p.value);
    text += ' ';
    append(p.unix_ms);
    text += '\n';
    last[p.name] = &p;
  }
  const std::string key = pointsPrefix(record_.id) + record::versionSegment(next_batch_);
  AIMASS_RETURN_IF_ERROR(storage_.put(key, text).withContext("writing metric points of run " +
                                                             std::to_string(record_.id)));
  ++next_batch_;
  for (std::size_t i = 0; i < last.size(); ++i) {
    if (last[i] != nullptr) {
      record_.metrics[names_[i]] = last[i]->value;
    }
  }
  buffer_.clear();
  summary_dirty_ = true;
  return Status();
}

Status RunLogger::writeSummary() {
  last_summary_write_ = std::chrono::steady_clock::now();
  // New index entries first, the record next, old entries last: a crash in between leaves an
  // extra entry that queries recognise as stale, never a run missing from the index.
  std::vector<std::string> stale;
  for (const auto& [name, value] : record_.metrics) {
    auto old = indexed_.find(name);
    const bool changed = old == indexed_.end() || !indexable(old->second) ||
                         sortableNumber(old->second) != sortableNumber(value);
    if (!changed) {
      continue;
    }
    if (indexable(value)) {
      AIMASS_RETURN_IF_ERROR(
          storage_.put(metricKey(record_.experiment, name, value, record_.id), ""));
    }
    if (old != indexed_.end() && indexable(old->second)) {
      stale.push_back(metricKey(record_.experiment, name, old->second, record_.id));
    }
    indexed_[name] = value;
  }
  record_.updated_unix_ms = record::nowUnixMs();
  AIMASS_RETURN_IF_ERROR(writeRecord());
  for (const auto& key : stale) {
    AIMASS_RETURN_IF_ERROR(removeIfPresent(storage_, key));
  }
  summary_dirty_ = false;
  return Status();
}

Status RunLogger::flush() {
  AIMASS_RETURN_IF_ERROR(writePoints());
  return writeSummary();
}

Status RunLogger::finish(RunStatus status, std::string_view error) {
  if (finished_) {
    return Status();
  }
  if (status == RunStatus::kRunning) {
    return invalidArgument("a run cannot finish with status running");
  }
  AIMASS_RETURN_IF_ERROR(flush());
  const RunStatus old = record_.status;
  record_.status = status;
  record_.error = std::string(error);
  record_.end_unix_ms = record::nowUnixMs();
  record_.updated_unix_ms = record_.end_unix_ms;
  AIMASS_RETURN_IF_ERROR(
      storage_.put(statusPrefix(record_.experiment, status) + runSegment(record_.id), ""));
  AIMASS_RETURN_IF_ERROR(writeRecord());
  finished_ = true;
  if (old != status) {
    AIMASS_RETURN_IF_ERROR(
        removeIfPresent(storage_, statusPrefix(record_.experiment, old) + runSegment(record_.id)));
  }
  return removeIfPresent(storage_, liveKey(record_.id));
}

// --- Tracking -------------------------------------------------------------------------------

Status Tracking::validateName(std::string_view name, std::string_view what) {
  // Experiments follow the registry's naming rule (its extra rule applies to aliases only).
  return ModelRegistry::validateName(name, what);
}

std::string Tracking::experimentNameFrom(std::string_view text) {
  std::string name;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    name += ok ? c : '_';
  }
  while (!name.empty() && (name.front() == '.' || name.front() == '-')) {
    name.erase(name.begin());
  }
  if (name.size() > 128) {
    name.resize(128);
  }
  return name.empty() ? std::string("default") : name;
}

namespace {

// In a job service's worker (docs/jobs.md), each run started is listed, "RUN STORE" a line, in
// the file the service named, so that the job's record can link its runs.
void noteRunForJob(std::int64_t id, const Storage& storage) {
  const char* file = std::getenv("AIMASS_JOB_RUNS_FILE");
  if (file == nullptr || *file == '\0') return;
  std::ofstream out(file, std::ios::app);
  out << id << ' ' << storage.describe() << '\n';
}

}  // namespace

Expected<std::unique_ptr<RunLogger>> Tracking::startRun(const NewRun& run) {
  AIMASS_RETURN_IF_ERROR(validateName(run.experiment, "experiment"));
  AIMASS_ASSIGN_OR_RETURN(std::int64_t id,
                          record::takeNextNumber(storage_, std::string(kRoot) + "next-run"));
  const ProcessIdentity& self = currentProcess();
  RunRecord r;
  r.id = id;
  r.experiment = run.experiment;
  r.node = run.node;
  r.node_type = run.node_type;
  r.status = RunStatus::kRunning;
  r.start_unix_ms = record::nowUnixMs();
  r.updated_unix_ms = r.start_unix_ms;
  r.params = run.params;
  r.pid = self.pid;
  r.host = self.host;
  // Liveness first: whatever a crash leaves behind after this point, recovery can find it.
  AIMASS_RETURN_IF_ERROR(storage_.put(liveKey(id), encodeLive(self)));
  AIMASS_RETURN_IF_ERROR(storage_.put(experimentNameKey(run.experiment), ""));
  AIMASS_RETURN_IF_ERROR(storage_.put(memberKey(run.experiment, id), ""));
  AIMASS_RETURN_IF_ERROR(
      storage_.put(statusPrefix(run.experiment, RunStatus::kRunning) + runSegment(id), ""));
  AIMASS_RETURN_IF_ERROR(storage_.put(runKey(id), encodeRunRecord(r)));
  noteRunForJob(id, storage_);
  return std::unique_ptr<RunLogger>(new RunLogger(storage_, options_, std::move(r)));
}

Expected<std::vector<RunRecord>> Tracking::recoverAbandonedRuns() {
  const std::string prefix = std::string(kRoot) + "live/";
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(prefix));
  std::vector<RunRecord> recovered;
  for (const auto& key : keys) {
    auto id = trailingRunId(key);
    auto live_text = storage_.get(key);
    if (!live_text.ok()) {
      if (live_text.status().code() == StatusCode::kNotFound) {
        continue;  // finished meanwhile
      }
      return live_text.status();
    }
    auto owner = decodeLive(*live_text);
    if (!id || !owner) {
      return dataLoss("malformed liveness record '" + key + "' in " + storage_.describe());
    }
    if (mayBeAlive(*owner)) {
      continue;
    }
    auto text = storage_.get(runKey(*id));
    if (!text.ok()) {
      if (text.status().code() != StatusCode::kNotFound) {
        return text.status();
      }
      // The process died before writing the record: nothing to mark.
      AIMASS_RETURN_IF_ERROR(removeIfPresent(storage_, key));
      continue;
    }
    auto run = decodeRunRecord(*text);
    if (!run.ok()) {
      return run.status().withContext(runKey(*id));
    }
    if (run->status != RunStatus::kRunning) {
      AIMASS_RETURN_IF_ERROR(removeIfPresent(storage_, key));
      continue;
    }
    RunRecord failed = *run;
    failed.status = RunStatus::kFailed;
    failed.end_unix_ms = run->updated_unix_ms;
    failed.error = "its process (pid " + std::to_string(owner->pid) + " on " + owner->host +
                   ") ended without finishing the run: killed (e.g. SIGKILL) or crashed; last "
                   "written at " +
                   formatUtcTime(run->updated_unix_ms);
    AIMASS_RETURN_IF_ERROR(
        storage_.put(statusPrefix(failed.experiment, RunStatus::kFailed) + runSegment(*id), ""));
    AIMASS_ASSIGN_OR_RETURN(bool set, storage_.compareAndSet(runKey(*id), std::string_view(*text),
                                                             encodeRunRecord(failed)));
    if (!set) {
      continue;  // another process recovered or changed it first
    }
    AIMASS_RETURN_IF_ERROR(removeIfPresent(
        storage_, statusPrefix(failed.experiment, RunStatus::kRunning) + runSegment(*id)));
    AIMASS_RETURN_IF_ERROR(removeIfPresent(storage_, key));
    recovered.push_back(std::move(failed));
  }
  return recovered;
}

Expected<std::vector<std::string>> Tracking::listExperiments() const {
  const std::string prefix = std::string(kRoot) + "experiment-names/";
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(prefix));
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const auto& key : keys) {
    names.push_back(key.substr(prefix.size()));
  }
  return names;
}

Expected<RunRecord> Tracking::getRun(std::int64_t id) const {
  auto text = storage_.get(runKey(id));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return notFound("no run " + std::to_string(id) + " in " + storage_.describe());
    }
    return text.status();
  }
  auto run = decodeRunRecord(*text);
  if (!run.ok()) {
    return run.status().withContext(runKey(id));
  }
  return run;
}

Expected<RunList> Tracking::listRuns(const RunQuery& query) const {
  if (!query.sort_metric.empty()) {
    AIMASS_RETURN_IF_ERROR(validateName(query.sort_metric, "metric"));
  }
  std::vector<std::string> experiments;
  if (query.experiment.empty()) {
    AIMASS_ASSIGN_OR_RETURN(experiments, listExperiments());
  } else {
    AIMASS_RETURN_IF_ERROR(validateName(query.experiment, "experiment"));
    auto marker = storage_.get(experimentNameKey(query.experiment));
    if (!marker.ok()) {
      if (marker.status().code() != StatusCode::kNotFound) {
        return marker.status();
      }
      AIMASS_ASSIGN_OR_RETURN(auto known, listExperiments());
      std::string names;
      for (const auto& name : known) {
        names += (names.empty() ? "" : ", ") + name;
      }
      return notFound(
          "no experiment '" + query.experiment + "' in " + storage_.describe() +
          (names.empty() ? std::string(" (it has no runs)") : " (experiments: " + names + ")"));
    }
    experiments.push_back(query.experiment);
  }

  // Candidates from the indexes only: (run, its indexed value of the sort metric).
  struct Candidate {
    std::int64_t id;
    std::optional<double> sort_value;
  };
  std::vector<Candidate> candidates;
  for (const auto& experiment : experiments) {
    // Each index prefix is listed once per query (a filter and the sort on the same metric
    // share one listing), and the experiment's whole member list only when no status or filter
    // narrows it: every entry of a status or metric index is a member already.
    std::map<std::string, std::vector<std::string>> listed;
    auto listOnce = [&](const std::string& prefix) -> Expected<const std::vector<std::string>*> {
      auto found = listed.find(prefix);
      if (found == listed.end()) {
        AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(prefix));
        found = listed.emplace(prefix, std::move(keys)).first;
      }
      return &found->second;
    };
    std::optional<std::set<std::int64_t>> narrowed;
    auto intersect = [&](std::set<std::int64_t> allowed) {
      if (!narrowed) {
        narrowed = std::move(allowed);
        return;
      }
      std::set<std::int64_t> kept;
      std::set_intersection(narrowed->begin(), narrowed->end(), allowed.begin(), allowed.end(),
                            std::inserter(kept, kept.end()));
      narrowed = std::move(kept);
    };
    if (query.status) {
      AIMASS_ASSIGN_OR_RETURN(const auto* keys, listOnce(statusPrefix(experiment, *query.status)));
      std::set<std::int64_t> with_status;
      for (const auto& key : *keys) {
        if (auto id = trailingRunId(key)) {
          with_status.insert(*id);
        }
      }
      intersect(std::move(with_status));
    }
    for (const auto& filter : query.filters) {
      const std::string prefix = metricPrefix(experiment, filter.metric);
      AIMASS_ASSIGN_OR_RETURN(const auto* keys, listOnce(prefix));
      std::set<std::int64_t> passing;
      for (const auto& key : *keys) {
        std::string_view rest = std::string_view(key).substr(prefix.size());
        auto value = parseSortableNumber(rest.substr(0, rest.find('/')));
        auto id = trailingRunId(key);
        if (value && id && filter.matches(*value)) {
          passing.insert(*id);
        }
      }
      intersect(std::move(passing));
    }
    if (!narrowed) {
      AIMASS_ASSIGN_OR_RETURN(const auto* members,
                              listOnce(experimentPrefix(experiment) + "runs/"));
      std::set<std::int64_t> all;
      for (const auto& key : *members) {
        if (auto id = trailingRunId(key)) {
          all.insert(*id);
        }
      }
      narrowed = std::move(all);
    }
    const std::set<std::int64_t>& ids = *narrowed;
    if (query.sort_metric.empty()) {
      for (std::int64_t id : ids) {
        candidates.push_back({id, std::nullopt});
      }
      continue;
    }
    const std::string prefix = metricPrefix(experiment, query.sort_metric);
    AIMASS_ASSIGN_OR_RETURN(const auto* sort_keys, listOnce(prefix));
    std::set<std::int64_t> sorted;
    for (const auto& key : *sort_keys) {
      std::string_view rest = std::string_view(key).substr(prefix.size());
      auto value = parseSortableNumber(rest.substr(0, rest.find('/')));
      auto id = trailingRunId(key);
      if (value && id && ids.count(*id) > 0) {
        candidates.push_back({*id, value});
        sorted.insert(*id);
      }
    }
    for (std::int64_t id : ids) {
      if (sorted.count(id) == 0) {
        candidates.push_back({id, std::nullopt});
      }
    }
  }

  std::stable_sort(
      candidates.begin(), candidates.end(), [&](const Candidate& a, const Candidate& b) {
        if (a.sort_value.has_value() != b.sort_value.has_value()) {
          return a.sort_value.has_value();  // runs without the metric go last
        }
        if (a.sort_value && *a.sort_value != *b.sort_value) {
          return query.descending ? *a.sort_value > *b.sort_value : *a.sort_value < *b.sort_value;
        }
        return a.id > b.id;  // newest first
      });
  RunList result;
  {
    std::unordered_set<std::int64_t> distinct;
    for (const auto& c : candidates) {
      distinct.insert(c.id);
    }
    result.matched = distinct.size();
  }
  // Only the records returned are read; each is checked against the query, since an index
  // entry may be stale. The first `offset` distinct runs are skipped by their index entries
  // alone, so a deep page costs no more reads than the first.
  std::unordered_set<std::int64_t> emitted;
  std::size_t skipped = 0;
  for (const auto& c : candidates) {
    if (query.limit > 0 && result.runs.size() >= query.limit) {
      break;
    }
    if (emitted.count(c.id) > 0) {
      continue;
    }
    if (skipped < query.offset) {
      emitted.insert(c.id);
      ++skipped;
      continue;
    }
    auto run = getRun(c.id);
    if (!run.ok()) {
      if (run.status().code() == StatusCode::kNotFound) {
        continue;
      }
      return run.status();
    }
    bool ok = !query.status || run->status == *query.status;
    for (const auto& filter : query.filters) {
      auto it = run->metrics.find(filter.metric);
      ok = ok && it != run->metrics.end() && filter.matches(it->second);
    }
    if (c.sort_value) {
      auto it = run->metrics.find(query.sort_metric);
      ok = ok && it != run->metrics.end() &&
           sortableNumber(it->second) == sortableNumber(*c.sort_value);
    }
    if (!ok) {
      continue;
    }
    emitted.insert(c.id);
    result.runs.push_back(std::move(*run));
  }
  return result;
}

Expected<std::vector<MetricPoint>> Tracking::metricPoints(std::int64_t id) const {
  AIMASS_RETURN_IF_ERROR(getRun(id).status());
  AIMASS_ASSIGN_OR_RETURN(auto keys, storage_.list(pointsPrefix(id)));
  std::vector<MetricPoint> points;
  for (const auto& key : keys) {
    AIMASS_ASSIGN_OR_RETURN(auto text, storage_.get(key));
    AIMASS_ASSIGN_OR_RETURN(auto batch, decodePoints(text, key));
    points.insert(points.end(), std::make_move_iterator(batch.begin()),
                  std::make_move_iterator(batch.end()));
  }
  std::stable_sort(points.begin(), points.end(), [](const MetricPoint& a, const MetricPoint& b) {
    return a.name != b.name ? a.name < b.name : a.step < b.step;
  });
  return points;
}

std::vector<MetricSummary> Tracking::summarize(const std::vector<MetricPoint>& points) {
  std::map<std::string, MetricSummary> by_name;
  for (const auto& p : points) {
    auto [it, inserted] = by_name.try_emplace(p.name);
    MetricSummary& s = it->second;
    if (inserted) {
      s.name = p.name;
      s.min = std::numeric_limits<double>::quiet_NaN();
      s.max = std::numeric_limits<double>::quiet_NaN();
      s.last_step = p.step;
      s.last = p.value;
    }
    if (p.step >= s.last_step) {
      s.last_step = p.step;
      s.last = p.value;
    }
    if (!std::isnan(p.value)) {
      s.min = std::isnan(s.min) ? p.value : std::min(s.min, p.value);
      s.max = std::isnan(s.max) ? p.value : std::max(s.max, p.value);
    }
    ++s.points;
  }
  std::vector<MetricSummary> out;
  out.reserve(by_name.size());
  for (auto& [name, summary] : by_name) {
    out.push_back(std::move(summary));
  }
  return out;
}

}  // namespace aimass::core
