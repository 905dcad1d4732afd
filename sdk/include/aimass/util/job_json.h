// SPDX-License-Identifier: Apache-2.0
#pragma once

// A utility header, not part of the plugin ABI: inline code that host and plugins compile in
// themselves; nothing of it crosses the plugin boundary.
//
// The JSON text of the job service's results (aimass/job_service.h): what `aimass jobs
// list|show|submit --json` print and what frontend.http answers under /api/v1/jobs and
// /api/v1/queues, written by one piece of code so the two stay byte-identical. Each function
// returns a whole document ending with a newline. Thread-safe (no shared state).

#include <cstdint>
#include <string>
#include <vector>

#include "aimass/job_service.h"
#include "aimass/util/json_writer.h"

namespace aimass {

inline void writeJobResourcesJson(JsonWriter& json, const JobResources& r) {
  json.beginObject();
  json.key("threads").value(r.threads);
  json.key("memory_bytes").value(r.memory_bytes);
  json.key("gpus").value(r.gpus);
  json.endObject();
}

/// `value` when above 0 (a time, an id), else null.
inline void writePositiveOrNull(JsonWriter& json, std::int64_t value) {
  if (value > 0) {
    json.value(value);
  } else {
    json.null();
  }
}

/// One job as an object.
inline void writeJobJson(JsonWriter& json, const JobInfo& job) {
  auto timeOrNull = [&json](std::int64_t unix_ms) { writePositiveOrNull(json, unix_ms); };
  json.beginObject();
  json.key("id").value(job.id);
  json.key("state").value(job.state);
  json.key("queue").value(job.queue);
  json.key("owner").value(job.owner);
  json.key("priority").value(job.priority);
  json.key("resources");
  writeJobResourcesJson(json, job.resources);
  json.key("ranks").value(job.ranks);
  json.key("preemptible").value(job.preemptible);
  json.key("config_name").value(job.config_name);
  json.key("reason").value(job.reason);
  json.key("attempts").value(job.attempts);
  json.key("submitted_unix_ms");
  timeOrNull(job.submitted_unix_ms);
  json.key("started_unix_ms");
  timeOrNull(job.started_unix_ms);
  json.key("finished_unix_ms");
  timeOrNull(job.finished_unix_ms);
  json.key("cancel_requested").value(job.cancel_requested);
  json.key("worker_pid").value(job.worker_pid);
  json.key("external_id").value(job.external_id);
  json.key("runs").beginArray();
  for (std::int64_t run : job.runs) json.value(run);
  json.endArray();
  json.key("schedule_id");
  writePositiveOrNull(json, job.schedule_id);
  json.endObject();
}

inline std::string jobJson(const JobInfo& job) {
  JsonWriter json;
  writeJobJson(json, job);
  return json.str();
}

/// {"jobs": [...]}
inline std::string jobListJson(const std::vector<JobInfo>& jobs) {
  JsonWriter json;
  json.beginObject();
  json.key("jobs").beginArray();
  for (const JobInfo& job : jobs) writeJobJson(json, job);
  json.endArray();
  json.endObject();
  return json.str();
}

inline void writeJobQueueJson(JsonWriter& json, const JobQueueInfo& q) {
  json.beginObject();
  json.key("name").value(q.name);
  json.key("cohort").value(q.cohort);
  json.key("ordering").value(q.ordering);
  json.key("nominal");
  writeJobResourcesJson(json, q.nominal);
  json.key("borrowing_limit");
  if (q.borrowing_limit) {
    writeJobResourcesJson(json, *q.borrowing_limit);
  } else {
    json.null();
  }
  json.key("max_running").value(q.max_running);
  json.key("used");
  writeJobResourcesJson(json, q.used);
  json.key("waiting").value(q.waiting);
  json.key("running").value(q.running);
  json.endObject();
}

/// One queue (PUT /api/v1/queues/{name}).
inline std::string jobQueueJson(const JobQueueInfo& queue) {
  JsonWriter json;
  writeJobQueueJson(json, queue);
  return json.str();
}

/// {"queues": [...]}: each queue's quota and what it uses now.
inline std::string jobQueueListJson(const std::vector<JobQueueInfo>& queues) {
  JsonWriter json;
  json.beginObject();
  json.key("queues").beginArray();
  for (const JobQueueInfo& q : queues) writeJobQueueJson(json, q);
  json.endArray();
  json.endObject();
  return json.str();
}

/// One schedule as an object.
inline void writeScheduleJson(JsonWriter& json, const JobScheduleInfo& s) {
  json.beginObject();
  json.key("id").value(s.id);
  json.key("name").value(s.name);
  json.key("cron").value(s.cron);
  json.key("overlap").value(s.overlap);
  json.key("queue").value(s.queue);
  json.key("owner").value(s.owner);
  json.key("priority").value(s.priority);
  json.key("resources");
  writeJobResourcesJson(json, s.resources);
  json.key("preemptible").value(s.preemptible);
  json.key("config_name").value(s.config_name);
  json.key("ranks").value(s.ranks);
  json.key("created_unix_ms");
  writePositiveOrNull(json, s.created_unix_ms);
  json.key("next_fire_unix_ms");
  writePositiveOrNull(json, s.next_fire_unix_ms);
  json.key("last_fire_unix_ms");
  writePositiveOrNull(json, s.last_fire_unix_ms);
  json.key("last_job");
  writePositiveOrNull(json, s.last_job);
  json.key("fires").value(s.fires);
  json.key("skips").value(s.skips);
  json.key("last_result").value(s.last_result);
  json.endObject();
}

inline std::string scheduleJson(const JobScheduleInfo& schedule) {
  JsonWriter json;
  writeScheduleJson(json, schedule);
  return json.str();
}

/// {"schedules": [...]}
inline std::string scheduleListJson(const std::vector<JobScheduleInfo>& schedules) {
  JsonWriter json;
  json.beginObject();
  json.key("schedules").beginArray();
  for (const JobScheduleInfo& s : schedules) writeScheduleJson(json, s);
  json.endArray();
  json.endObject();
  return json.str();
}

}  // namespace aimass
