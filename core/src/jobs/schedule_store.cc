// SPDX-License-Identifier: Apache-2.0
#include "jobs/schedule_store.h"

#include <array>
#include <utility>

#include "jobs/cron.h"
#include "jobs/record_fields.h"
#include "record_text.h"

namespace aimass::core::jobs {
namespace {

using fields::addLine;
using fields::FieldReader;

constexpr std::string_view kHeader = "aimass-job-schedule 1";
constexpr std::string_view kRecordPrefix = "jobs/schedules/";
const std::string kCounterKey = "jobs/next_schedule_id";

constexpr std::array<std::pair<Overlap, std::string_view>, 3> kOverlapNames{{
    {Overlap::kSkip, "skip"},
    {Overlap::kQueue, "queue"},
    {Overlap::kReplace, "replace"},
}};


// Claims the firing due at `due_ms` (nothing when another caller already has, or the schedule
// was deleted) and moves its next firing past `now_ms`.
Expected<std::optional<ScheduleRecord>> claimFiring(ScheduleStore& schedules,
                                                    const ScheduleRecord& due,
                                                    std::int64_t now_ms) {
  auto claimed = schedules.update(due.id, [&](ScheduleRecord& r) -> Status {
    if (r.next_fire_ms != due.next_fire_ms) return aborted("fired by another caller");
    auto cron = CronExpression::parse(r.cron);
    if (!cron.ok()) return cron.status();
    r.last_fire_ms = now_ms;
    // nextAfter() always has an answer for a parsed expression; a day past now otherwise.
    r.next_fire_ms = cron->nextAfter(now_ms).value_or(now_ms + 86'400'000);
    return okStatus();
  });
  if (claimed.ok()) return std::optional<ScheduleRecord>(std::move(*claimed));
  const StatusCode code = claimed.status().code();
  if (code == StatusCode::kAborted || code == StatusCode::kNotFound) {
    return std::optional<ScheduleRecord>();
  }
  return claimed.status();
}

// Carries out one claimed firing against the schedule's unfinished jobs.
Firing fireOne(const ScheduleRecord& schedule, const std::vector<std::int64_t>& unfinished,
               const FiringActions& actions) {
  Firing firing;
  firing.schedule = schedule.id;
  auto list = [&unfinished] {
    std::string ids;
    for (std::int64_t id : unfinished) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    return ids;
  };
  if (!unfinished.empty() && schedule.overlap == Overlap::kSkip) {
    firing.outcome = Firing::Outcome::kSkipped;
    firing.reason = "skipped: job " + list() + " of this schedule has not ended (overlap skip)";
    return firing;
  }
  if (schedule.overlap == Overlap::kReplace) {
    for (std::int64_t id : unfinished) {
      const Status cancelled = actions.cancel(id);
      // A job that ended meanwhile needs no cancelling.
      if (cancelled.ok()) firing.replaced.push_back(id);
    }
  }
  auto submitted = actions.submit(schedule);
  if (!submitted.ok()) {
    firing.outcome = Firing::Outcome::kFailed;
    firing.reason = "failed: " + submitted.status().message();
    return firing;
  }
  firing.job = submitted->id;
  return firing;
}

std::string describe(const Firing& firing) {
  if (firing.outcome != Firing::Outcome::kSubmitted) return firing.reason;
  std::string text = "submitted job " + std::to_string(firing.job);
  if (!firing.replaced.empty()) {
    text += ", replacing job";
    for (std::size_t i = 0; i < firing.replaced.size(); ++i) {
      text += (i ? ", " : " ") + std::to_string(firing.replaced[i]);
    }
  }
  return text;
}

}  // namespace

std::string_view overlapName(Overlap overlap) { return fields::nameIn(kOverlapNames, overlap); }

std::optional<Overlap> parseOverlap(std::string_view text) {
  return fields::valueIn(kOverlapNames, text);
}

std::string formatScheduleRecord(const ScheduleRecord& r) {
  std::string out(kHeader);
  out += '\n';
  auto num = [](std::int64_t v) { return std::to_string(v); };
  addLine(out, "id", {num(r.id)});
  addLine(out, "name", {r.name});
  addLine(out, "cron", {r.cron});
  addLine(out, "overlap", {std::string(overlapName(r.overlap))});
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
  addLine(out, "times", {num(r.created_ms), num(r.next_fire_ms), num(r.last_fire_ms)});
  addLine(out, "last_job", {num(r.last_job)});
  addLine(out, "counts", {num(r.fires), num(r.skips)});
  addLine(out, "last_result", {r.last_result});
  return out;
}

Expected<ScheduleRecord> parseScheduleRecord(std::string_view text) {
  auto lines = record::parseRecord(text, kHeader);
  if (!lines.ok()) return lines.status();
  FieldReader read(*lines);
  ScheduleRecord r;
  r.id = read.number("id");
  r.name = read.text("name");
  r.cron = read.text("cron");
  const std::string overlap = read.text("overlap");
  r.queue = read.text("queue");
  r.owner = read.text("owner");
  r.priority = read.number("priority");
  Status shape = read.numbers("resources", {&r.resources.threads, &r.resources.memory_bytes,
                                       &r.resources.gpus});
  r.ranks = read.has("ranks") ? read.number("ranks") : 1;  // records older than ranks
  r.preemptible = read.number("preemptible") != 0;
  r.config_name = read.text("config_name");
  r.config = read.text("config");
  r.base_dir = read.text("base_dir");
  if (shape.ok()) shape = read.numbers("times", {&r.created_ms, &r.next_fire_ms, &r.last_fire_ms});
  r.last_job = read.number("last_job");
  if (shape.ok()) shape = read.numbers("counts", {&r.fires, &r.skips});
  r.last_result = read.text("last_result");
  if (!read.error().ok()) return read.error();
  if (!shape.ok()) return shape;
  const std::optional<Overlap> parsed = parseOverlap(overlap);
  if (!parsed) return dataLoss("field 'overlap' holds '" + overlap + "', not skip|queue|replace");
  r.overlap = *parsed;
  return r;
}

ScheduleStore::ScheduleStore(std::shared_ptr<Storage> storage) : storage_(std::move(storage)) {}

fields::RecordTable<ScheduleRecord> ScheduleStore::table() const {
  return {*storage_, kRecordPrefix, "schedule", parseScheduleRecord, formatScheduleRecord};
}

Expected<ScheduleRecord> ScheduleStore::create(ScheduleRecord record, std::int64_t now_ms) {
  return table().insert(std::move(record), kCounterKey,
                        [now_ms](ScheduleRecord& r) { r.created_ms = now_ms; });
}

Expected<ScheduleRecord> ScheduleStore::get(std::int64_t id) const { return table().get(id); }

Expected<std::vector<ScheduleRecord>> ScheduleStore::list() const { return table().list(); }

Expected<ScheduleRecord> ScheduleStore::update(
    std::int64_t id, const std::function<Status(ScheduleRecord&)>& change) {
  return table().update(id, change);
}

Status ScheduleStore::remove(std::int64_t id) {
  AIMASS_RETURN_IF_ERROR(table().get(id).status());
  return storage_->remove(table().key(id));
}

Expected<std::vector<Firing>> fireDueSchedules(ScheduleStore& schedules, const JobStore& jobs,
                                               std::int64_t now_ms,
                                               const FiringActions& actions) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<ScheduleRecord> all, schedules.list());
  std::vector<Firing> firings;
  std::optional<std::vector<JobRecord>> job_records;  // read once, when something is due
  for (const ScheduleRecord& due : all) {
    if (due.next_fire_ms > now_ms) continue;
    AIMASS_ASSIGN_OR_RETURN(std::optional<ScheduleRecord> claimed,
                            claimFiring(schedules, due, now_ms));
    if (!claimed) continue;
    if (!job_records) {
      AIMASS_ASSIGN_OR_RETURN(job_records, jobs.list());
    }
    std::vector<std::int64_t> unfinished;
    for (const JobRecord& job : *job_records) {
      if (job.schedule_id == due.id && !isFinal(job.state) && !job.cancel_requested) {
        unfinished.push_back(job.id);
      }
    }
    Firing firing = fireOne(*claimed, unfinished, actions);
    (void)schedules.update(due.id, [&firing](ScheduleRecord& r) {
      if (firing.outcome == Firing::Outcome::kSubmitted) {
        r.last_job = firing.job;
        r.fires += 1;
      } else if (firing.outcome == Firing::Outcome::kSkipped) {
        r.skips += 1;
      }
      r.last_result = describe(firing);
      return okStatus();
    });
    firings.push_back(std::move(firing));
  }
  return firings;
}

}  // namespace aimass::core::jobs
