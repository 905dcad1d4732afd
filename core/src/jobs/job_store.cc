// SPDX-License-Identifier: Apache-2.0
#include "jobs/job_store.h"

#include <array>
#include <map>
#include <utility>

#include "jobs/record_fields.h"
#include "jobs/launcher.h"
#include "record_text.h"

namespace aimass::core::jobs {
namespace {

using fields::addLine;
using fields::FieldReader;

constexpr std::string_view kHeader = "aimass-job 1";
constexpr std::string_view kRecordPrefix = "jobs/records/";
const std::string kCounterKey = "jobs/next_id";

constexpr std::array<std::pair<JobState, std::string_view>, 5> kStateNames{{
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
}};

fields::RecordTable<JobRecord> tableOf(Storage& storage) {
  return {storage, kRecordPrefix, "job", parseJobRecord, formatJobRecord};
}

}  // namespace

std::string_view jobStateName(JobState state) { return fields::nameIn(kStateNames, state); }

std::optional<JobState> parseJobState(std::string_view text) {
  return fields::valueIn(kStateNames, text);
}

bool isFinal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

JobRequest JobRecord::request() const {
  JobRequest request;
  request.id = id;
  request.queue = queue;
  request.owner = owner;
  request.priority = priority;
  request.resources = rankTotal(resources, ranks);
  request.preemptible = preemptible;
  return request;
}

std::string formatJobRecord(const JobRecord& r) {
  std::string out(kHeader);
  out += '\n';
  auto num = [](std::int64_t v) { return std::to_string(v); };
  addLine(out, "id", {num(r.id)});
  addLine(out, "queue", {r.queue});
  addLine(out, "owner", {r.owner});
  addLine(out, "priority", {num(r.priority)});
  addLine(out, "resources",
          {num(r.resources.threads), num(r.resources.memory_bytes), num(r.resources.gpus)});
  addLine(out, "ranks", {num(r.ranks)});
  addLine(out, "preemptible", {r.preemptible ? "1" : "0"});
  addLine(out, "config_name", {r.config_name});
  addLine(out, "config", {r.config});
  addLine(out, "base_dir", {r.base_dir});
  addLine(out, "state", {std::string(jobStateName(r.state))});
  addLine(out, "attempts", {num(r.attempts)});
  addLine(out, "times", {num(r.submitted_ms), num(r.started_ms), num(r.finished_ms)});
  addLine(out, "reason", {r.reason});
  addLine(out, "cancel_requested", {r.cancel_requested ? "1" : "0"});
  addLine(out, "worker_pid", {num(r.worker_pid)});
  addLine(out, "external_id", {r.external_id});
  out += "runs";
  for (std::int64_t run : r.runs) out += ' ' + num(run);
  out += '\n';
  if (r.schedule_id != 0) addLine(out, "schedule", {num(r.schedule_id)});
  return out;
}

Expected<JobRecord> parseJobRecord(std::string_view text) {
  auto lines = record::parseRecord(text, kHeader);
  if (!lines.ok()) return lines.status();
  FieldReader read(*lines);
  JobRecord r;
  r.id = read.number("id");
  r.queue = read.text("queue");
  r.owner = read.text("owner");
  r.priority = read.number("priority");
  const std::vector<std::string> resources = read.list("resources");
  if (resources.size() == 3) {
    r.resources = {read.parse("resources", resources[0]), read.parse("resources", resources[1]),
                   read.parse("resources", resources[2])};
  } else if (read.error().ok()) {
    return dataLoss("field 'resources' needs 3 numbers (threads, memory, gpus)");
  }
  r.ranks = read.has("ranks") ? read.number("ranks") : 1;  // records older than ranks
  r.preemptible = read.number("preemptible") != 0;
  r.config_name = read.text("config_name");
  r.config = read.text("config");
  r.base_dir = read.text("base_dir");
  const std::string state = read.text("state");
  r.attempts = read.number("attempts");
  const std::vector<std::string> times = read.list("times");
  if (times.size() == 3) {
    r.submitted_ms = read.parse("times", times[0]);
    r.started_ms = read.parse("times", times[1]);
    r.finished_ms = read.parse("times", times[2]);
  } else if (read.error().ok()) {
    return dataLoss("field 'times' needs 3 numbers (submitted, started, finished)");
  }
  r.reason = read.text("reason");
  r.cancel_requested = read.number("cancel_requested") != 0;
  r.worker_pid = read.number("worker_pid");
  if (read.has("external_id")) r.external_id = read.text("external_id");  // else older record
  for (const std::string& run : read.list("runs")) r.runs.push_back(read.parse("runs", run));
  if (read.has("schedule")) r.schedule_id = read.number("schedule");  // absent before schedules
  if (!read.error().ok()) return read.error();
  const std::optional<JobState> parsed_state = parseJobState(state);
  if (!parsed_state) return dataLoss("field 'state' holds '" + state + "', not a job state");
  r.state = *parsed_state;
  return r;
}

JobStore::JobStore(std::shared_ptr<Storage> storage) : storage_(std::move(storage)) {}

fields::RecordTable<JobRecord> JobStore::table() const { return tableOf(*storage_); }

Expected<JobRecord> JobStore::submit(JobRecord record) {
  return table().insert(std::move(record), kCounterKey, [](JobRecord& r) {
    r.state = JobState::kQueued;
    r.submitted_ms = record::nowUnixMs();
  });
}

Expected<JobRecord> JobStore::get(std::int64_t id) const { return table().get(id); }

Expected<std::vector<JobRecord>> JobStore::list() const { return table().list(); }

Expected<JobRecord> JobStore::update(std::int64_t id,
                                     const std::function<Status(JobRecord&)>& change) {
  return table().update(id, change);
}

Expected<std::vector<JobRecord>> JobStore::requeueInterrupted(
    const std::function<bool(const JobRecord&)>& still_running) {
  auto records = list();
  if (!records.ok()) return records.status();
  std::vector<JobRecord> requeued;
  for (const JobRecord& stored : *records) {
    if (stored.state != JobState::kRunning) continue;
    if (still_running && still_running(stored)) continue;
    auto changed = update(stored.id, [](JobRecord& r) {
      if (r.state != JobState::kRunning) return aborted("no longer running");
      r.state = r.cancel_requested ? JobState::kCancelled : JobState::kQueued;
      r.reason = r.cancel_requested ? "cancelled (the service stopped while it ran)"
                                    : "interrupted: the service stopped while it ran";
      if (r.cancel_requested) r.finished_ms = record::nowUnixMs();
      r.worker_pid = 0;
      return okStatus();
    });
    if (!changed.ok()) {
      if (changed.status().code() == StatusCode::kAborted) continue;
      return changed.status();
    }
    if (changed->state == JobState::kQueued) requeued.push_back(std::move(*changed));
  }
  return requeued;
}

}  // namespace aimass::core::jobs
