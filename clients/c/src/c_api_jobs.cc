// SPDX-License-Identifier: Apache-2.0
// The C ABI of the job service's routes: /api/v1/jobs (submit, list, show, cancel, log) and
// GET /api/v1/queues, decoded into typed handles read with accessors (schedules and queue edits:
// c_api_schedules.cc).
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aimass_client.h"
#include "c_boundary.h"
#include "client_failure.h"
#include "client_handle.h"
#include "jobs_codec.h"
#include "json_value.h"

using aimass::client::detail::arrayOf;
using aimass::client::detail::encodePathSegment;
using aimass::client::detail::guarded;
using aimass::client::detail::JobResources;
using aimass::client::detail::jsonAnswer;
using aimass::client::detail::JsonValue;
using aimass::client::detail::memberBoolean;
using aimass::client::detail::memberInteger;
using aimass::client::detail::memberText;
using aimass::client::detail::objectOf;
using aimass::client::detail::queueOf;
using aimass::client::detail::require;
using aimass::client::detail::resourcesOf;
using aimass::client::detail::setText;
using aimass::client::detail::storeResources;
using aimass::client::detail::submissionJson;

struct aimass_client_job {
  std::int64_t id = 0;
  std::string state;
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  JobResources resources;
  bool preemptible = false;
  std::string config_name;
  std::string reason;
  std::int64_t attempts = 0;
  std::int64_t submitted_unix_ms = 0;
  std::int64_t started_unix_ms = 0;
  std::int64_t finished_unix_ms = 0;
  bool cancel_requested = false;
  std::int64_t worker_pid = 0;
  std::int64_t ranks = 1;
  std::string external_id;
  std::int64_t schedule_id = 0;
  std::vector<std::int64_t> runs;
};

struct aimass_client_job_list {
  std::vector<aimass_client_job> jobs;
};

struct aimass_client_queue_list {
  std::vector<aimass_client_queue> queues;
};

namespace {

aimass_client_job jobOf(const JsonValue* v, const std::string& what) {
  const JsonValue& o = objectOf(v, what);
  aimass_client_job job;
  job.id = memberInteger(o, "id");
  job.state = memberText(o, "state");
  job.queue = memberText(o, "queue");
  job.owner = memberText(o, "owner");
  job.priority = memberInteger(o, "priority");
  job.resources = resourcesOf(o, "resources", what);
  job.preemptible = memberBoolean(o, "preemptible");
  job.config_name = memberText(o, "config_name");
  job.reason = memberText(o, "reason");
  job.attempts = memberInteger(o, "attempts");
  job.submitted_unix_ms = memberInteger(o, "submitted_unix_ms");
  job.started_unix_ms = memberInteger(o, "started_unix_ms");
  job.finished_unix_ms = memberInteger(o, "finished_unix_ms");
  job.cancel_requested = memberBoolean(o, "cancel_requested");
  job.worker_pid = memberInteger(o, "worker_pid");
  job.ranks = memberInteger(o, "ranks");
  job.external_id = memberText(o, "external_id");
  job.schedule_id = memberInteger(o, "schedule_id");
  for (const JsonValue& run : arrayOf(o.get("runs"), what + "'s runs").items) {
    job.runs.push_back(run.is_int ? run.integer : 0);
  }
  return job;
}

void storeJob(aimass_client* client, const char* method, const std::string& path,
              const std::string* body, aimass_client_job** out) {
  require(out, "the out pointer");
  *out = nullptr;
  JsonValue root = jsonAnswer(client, method, path, body);
  *out = new aimass_client_job(jobOf(&root, "job"));
}

std::string jobPath(std::int64_t id) { return "/api/v1/jobs/" + std::to_string(id); }

/// Sets an integer member of a submission.
aimass_client_code setInteger(aimass_client_job_submission* s,
                              std::optional<std::int64_t> aimass_client_job_submission::*field,
                              std::int64_t value) {
  if (!s) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  s->*field = value;
  return AIMASS_CLIENT_OK;
}

}  // namespace

extern "C" {

// ---- submissions -------------------------------------------------------------------------

aimass_client_job_submission* aimass_client_job_submission_create(const char* config_yaml) {
  if (!config_yaml) {
    return nullptr;
  }
  try {
    auto* s = new aimass_client_job_submission;
    s->config = config_yaml;
    return s;
  } catch (...) {
    return nullptr;
  }
}

void aimass_client_job_submission_free(aimass_client_job_submission* submission) {
  delete submission;
}

aimass_client_code aimass_client_job_submission_set_config_name(
    aimass_client_job_submission* submission, const char* config_name) {
  return submission ? setText(submission->config_name, config_name)
                    : AIMASS_CLIENT_INVALID_ARGUMENT;
}

aimass_client_code aimass_client_job_submission_set_queue(aimass_client_job_submission* submission,
                                                          const char* queue) {
  return submission ? setText(submission->queue, queue) : AIMASS_CLIENT_INVALID_ARGUMENT;
}

aimass_client_code aimass_client_job_submission_set_priority(
    aimass_client_job_submission* submission, int64_t priority) {
  return setInteger(submission, &aimass_client_job_submission::priority, priority);
}

aimass_client_code aimass_client_job_submission_set_threads(
    aimass_client_job_submission* submission, int64_t threads) {
  return setInteger(submission, &aimass_client_job_submission::threads, threads);
}

aimass_client_code aimass_client_job_submission_set_memory(aimass_client_job_submission* submission,
                                                           const char* memory) {
  if (!submission) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  submission->memory_bytes.reset();
  return setText(submission->memory, memory);
}

aimass_client_code aimass_client_job_submission_set_memory_bytes(
    aimass_client_job_submission* submission, int64_t memory_bytes) {
  if (!submission) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  submission->memory.reset();
  return setInteger(submission, &aimass_client_job_submission::memory_bytes, memory_bytes);
}

aimass_client_code aimass_client_job_submission_set_gpus(aimass_client_job_submission* submission,
                                                         int64_t gpus) {
  return setInteger(submission, &aimass_client_job_submission::gpus, gpus);
}

aimass_client_code aimass_client_job_submission_set_ranks(aimass_client_job_submission* submission,
                                                          int64_t ranks) {
  return setInteger(submission, &aimass_client_job_submission::ranks, ranks);
}

aimass_client_code aimass_client_job_submission_set_preemptible(
    aimass_client_job_submission* submission, int preemptible) {
  if (!submission) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  submission->preemptible = preemptible != 0;
  return AIMASS_CLIENT_OK;
}

// ---- the routes ----------------------------------------------------------------------------

aimass_client_code aimass_client_submit_job(aimass_client* client,
                                            const aimass_client_job_submission* submission,
                                            aimass_client_job** out, aimass_client_error** error) {
  return guarded(error, [&] {
    require(submission, "the submission");
    std::string body = submissionJson(*submission);
    storeJob(client, "POST", "/api/v1/jobs", &body, out);
  });
}

aimass_client_code aimass_client_list_jobs(aimass_client* client, const char* state,
                                           const char* queue, const char* owner,
                                           aimass_client_job_list** out,
                                           aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    std::string query;
    const std::pair<const char*, const char*> filters[] = {
        {"state", state}, {"queue", queue}, {"owner", owner}};
    for (const auto& [key, value] : filters) {
      if (value) {
        query += query.empty() ? '?' : '&';
        query += std::string(key) + "=" + encodePathSegment(value);
      }
    }
    JsonValue root = jsonAnswer(client, "GET", "/api/v1/jobs" + query, nullptr);
    const JsonValue& jobs = arrayOf(objectOf(&root, "job list").get("jobs"), "jobs");
    auto list = std::make_unique<aimass_client_job_list>();
    for (std::size_t i = 0; i < jobs.items.size(); ++i) {
      list->jobs.push_back(jobOf(&jobs.items[i], "job " + std::to_string(i)));
    }
    *out = list.release();
  });
}

aimass_client_code aimass_client_get_job(aimass_client* client, int64_t id, aimass_client_job** out,
                                         aimass_client_error** error) {
  return guarded(error, [&] { storeJob(client, "GET", jobPath(id), nullptr, out); });
}

aimass_client_code aimass_client_cancel_job(aimass_client* client, int64_t id,
                                            aimass_client_job** out, aimass_client_error** error) {
  return guarded(error, [&] {
    std::string body = "{}";
    storeJob(client, "POST", jobPath(id) + "/cancel", &body, out);
  });
}

aimass_client_code aimass_client_job_log(aimass_client* client, int64_t id, int64_t bytes,
                                         char** out, size_t* size, aimass_client_error** error) {
  return guarded(error, [&] {
    require(client, "the client");
    require(out, "the out pointer");
    *out = nullptr;
    std::string path = jobPath(id) + "/log";
    if (bytes > 0) {
      path += "?bytes=" + std::to_string(bytes);
    }
    auto response = client->transport.send("GET", path, nullptr, 0, true);
    char* copy = static_cast<char*>(std::malloc(response.body.size() + 1));
    if (!copy) {
      throw std::bad_alloc();
    }
    std::memcpy(copy, response.body.data(), response.body.size());
    copy[response.body.size()] = '\0';
    *out = copy;
    if (size) {
      *size = response.body.size();
    }
  });
}

void aimass_client_text_free(char* text) { std::free(text); }

aimass_client_code aimass_client_list_queues(aimass_client* client, aimass_client_queue_list** out,
                                             aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    JsonValue root = jsonAnswer(client, "GET", "/api/v1/queues", nullptr);
    const JsonValue& queues = arrayOf(objectOf(&root, "queue list").get("queues"), "queues");
    auto list = std::make_unique<aimass_client_queue_list>();
    for (std::size_t i = 0; i < queues.items.size(); ++i) {
      list->queues.push_back(queueOf(&queues.items[i], "queue " + std::to_string(i)));
    }
    *out = list.release();
  });
}

// ---- jobs --------------------------------------------------------------------------------

size_t aimass_client_job_list_size(const aimass_client_job_list* list) {
  return list ? list->jobs.size() : 0;
}
const aimass_client_job* aimass_client_job_list_at(const aimass_client_job_list* list,
                                                   size_t index) {
  return list && index < list->jobs.size() ? &list->jobs[index] : nullptr;
}
void aimass_client_job_list_free(aimass_client_job_list* list) { delete list; }
void aimass_client_job_free(aimass_client_job* job) { delete job; }

int64_t aimass_client_job_id(const aimass_client_job* job) { return job ? job->id : 0; }
const char* aimass_client_job_state(const aimass_client_job* job) {
  return job ? job->state.c_str() : "";
}
const char* aimass_client_job_queue(const aimass_client_job* job) {
  return job ? job->queue.c_str() : "";
}
const char* aimass_client_job_owner(const aimass_client_job* job) {
  return job ? job->owner.c_str() : "";
}
int64_t aimass_client_job_priority(const aimass_client_job* job) { return job ? job->priority : 0; }
void aimass_client_job_resources(const aimass_client_job* job, int64_t* threads,
                                 int64_t* memory_bytes, int64_t* gpus) {
  storeResources(job ? job->resources : JobResources{}, threads, memory_bytes, gpus);
}
int aimass_client_job_preemptible(const aimass_client_job* job) {
  return job && job->preemptible ? 1 : 0;
}
const char* aimass_client_job_config_name(const aimass_client_job* job) {
  return job ? job->config_name.c_str() : "";
}
const char* aimass_client_job_reason(const aimass_client_job* job) {
  return job ? job->reason.c_str() : "";
}
int64_t aimass_client_job_attempts(const aimass_client_job* job) { return job ? job->attempts : 0; }
int64_t aimass_client_job_submitted_unix_ms(const aimass_client_job* job) {
  return job ? job->submitted_unix_ms : 0;
}
int64_t aimass_client_job_started_unix_ms(const aimass_client_job* job) {
  return job ? job->started_unix_ms : 0;
}
int64_t aimass_client_job_finished_unix_ms(const aimass_client_job* job) {
  return job ? job->finished_unix_ms : 0;
}
int aimass_client_job_cancel_requested(const aimass_client_job* job) {
  return job && job->cancel_requested ? 1 : 0;
}
int64_t aimass_client_job_worker_pid(const aimass_client_job* job) {
  return job ? job->worker_pid : 0;
}
int64_t aimass_client_job_ranks(const aimass_client_job* job) { return job ? job->ranks : 0; }
const char* aimass_client_job_external_id(const aimass_client_job* job) {
  return job ? job->external_id.c_str() : "";
}
int64_t aimass_client_job_schedule_id(const aimass_client_job* job) {
  return job ? job->schedule_id : 0;
}
size_t aimass_client_job_run_count(const aimass_client_job* job) {
  return job ? job->runs.size() : 0;
}
int64_t aimass_client_job_run_at(const aimass_client_job* job, size_t index) {
  return job && index < job->runs.size() ? job->runs[index] : 0;
}

// ---- queues ------------------------------------------------------------------------------

size_t aimass_client_queue_list_size(const aimass_client_queue_list* list) {
  return list ? list->queues.size() : 0;
}
const aimass_client_queue* aimass_client_queue_list_at(const aimass_client_queue_list* list,
                                                       size_t index) {
  return list && index < list->queues.size() ? &list->queues[index] : nullptr;
}
void aimass_client_queue_list_free(aimass_client_queue_list* list) { delete list; }
void aimass_client_queue_free(aimass_client_queue* queue) { delete queue; }

const char* aimass_client_queue_name(const aimass_client_queue* queue) {
  return queue ? queue->name.c_str() : "";
}
const char* aimass_client_queue_cohort(const aimass_client_queue* queue) {
  return queue ? queue->cohort.c_str() : "";
}
const char* aimass_client_queue_ordering(const aimass_client_queue* queue) {
  return queue ? queue->ordering.c_str() : "";
}
int aimass_client_queue_resources(const aimass_client_queue* queue, aimass_client_queue_quota which,
                                  int64_t* threads, int64_t* memory_bytes, int64_t* gpus) {
  if (!queue) {
    return 0;
  }
  const JobResources* r = nullptr;
  switch (which) {
    case AIMASS_CLIENT_QUEUE_NOMINAL:
      r = &queue->nominal;
      break;
    case AIMASS_CLIENT_QUEUE_BORROWING_LIMIT:
      r = queue->borrowing_limit ? &*queue->borrowing_limit : nullptr;
      break;
    case AIMASS_CLIENT_QUEUE_USED:
      r = &queue->used;
      break;
  }
  if (!r) {
    return 0;
  }
  storeResources(*r, threads, memory_bytes, gpus);
  return 1;
}
int64_t aimass_client_queue_max_running(const aimass_client_queue* queue) {
  return queue ? queue->max_running : 0;
}
int64_t aimass_client_queue_waiting(const aimass_client_queue* queue) {
  return queue ? queue->waiting : 0;
}
int64_t aimass_client_queue_running(const aimass_client_queue* queue) {
  return queue ? queue->running : 0;
}

}  // extern "C"
