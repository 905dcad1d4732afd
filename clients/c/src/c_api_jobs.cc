// SPDX-License-Identifier: Apache-2.0
// The C ABI of the job service's routes: /api/v1/jobs (submit, list, show, cancel, log) and
// /api/v1/queues, decoded into typed handles read with accessors.
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
#include "json_value.h"

using aimass::client::detail::appendJsonInteger;
using aimass::client::detail::appendJsonString;
using aimass::client::detail::encodePathSegment;
using aimass::client::detail::guarded;
using aimass::client::detail::HttpBody;
using aimass::client::detail::JsonValue;
using aimass::client::detail::protocolError;
using aimass::client::detail::require;

struct aimass_client_job_submission {
  std::string config;
  std::optional<std::string> config_name;
  std::optional<std::string> queue;
  std::optional<std::int64_t> priority;
  std::optional<std::int64_t> threads;
  std::optional<std::string> memory;  // "512MiB"
  std::optional<std::int64_t> memory_bytes;
  std::optional<std::int64_t> gpus;
  std::optional<bool> preemptible;
};

namespace {

struct Resources {
  std::int64_t threads = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t gpus = 0;
};

}  // namespace

struct aimass_client_job {
  std::int64_t id = 0;
  std::string state;
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  Resources resources;
  bool preemptible = false;
  std::string config_name;
  std::string reason;
  std::int64_t attempts = 0;
  std::int64_t submitted_unix_ms = 0;
  std::int64_t started_unix_ms = 0;
  std::int64_t finished_unix_ms = 0;
  bool cancel_requested = false;
  std::int64_t worker_pid = 0;
  std::vector<std::int64_t> runs;
};

struct aimass_client_job_list {
  std::vector<aimass_client_job> jobs;
};

struct aimass_client_queue {
  std::string name;
  std::string cohort;
  std::string ordering;
  Resources nominal;
  std::optional<Resources> borrowing_limit;
  std::int64_t max_running = 0;
  Resources used;
  std::int64_t waiting = 0;
  std::int64_t running = 0;
};

struct aimass_client_queue_list {
  std::vector<aimass_client_queue> queues;
};

namespace {

// ---- decoding: a member that is absent or null reads as its default; a value of the wrong
// kind where an object or array is needed is a protocol error naming it.

const JsonValue& objectOf(const JsonValue* v, const std::string& what) {
  if (!v || v->type != JsonValue::Type::kObject) {
    protocolError("the answer's " + what + " is not a JSON object");
  }
  return *v;
}

const JsonValue& arrayOf(const JsonValue* v, const std::string& what) {
  if (!v || v->type != JsonValue::Type::kArray) {
    protocolError("the answer's " + what + " is not a JSON array");
  }
  return *v;
}

std::string text(const JsonValue& object, const char* key) {
  const JsonValue* v = object.get(key);
  return v && v->type == JsonValue::Type::kString ? v->text : std::string();
}

std::int64_t integer(const JsonValue& object, const char* key) {
  const JsonValue* v = object.get(key);
  return v && v->type == JsonValue::Type::kNumber && v->is_int ? v->integer : 0;
}

bool boolean(const JsonValue& object, const char* key) {
  const JsonValue* v = object.get(key);
  return v && v->type == JsonValue::Type::kBool && v->boolean;
}

Resources resourcesOf(const JsonValue& object, const char* key, const std::string& where) {
  const JsonValue& r = objectOf(object.get(key), where + "'s " + key);
  return {integer(r, "threads"), integer(r, "memory_bytes"), integer(r, "gpus")};
}

aimass_client_job jobOf(const JsonValue* v, const std::string& what) {
  const JsonValue& o = objectOf(v, what);
  aimass_client_job job;
  job.id = integer(o, "id");
  job.state = text(o, "state");
  job.queue = text(o, "queue");
  job.owner = text(o, "owner");
  job.priority = integer(o, "priority");
  job.resources = resourcesOf(o, "resources", what);
  job.preemptible = boolean(o, "preemptible");
  job.config_name = text(o, "config_name");
  job.reason = text(o, "reason");
  job.attempts = integer(o, "attempts");
  job.submitted_unix_ms = integer(o, "submitted_unix_ms");
  job.started_unix_ms = integer(o, "started_unix_ms");
  job.finished_unix_ms = integer(o, "finished_unix_ms");
  job.cancel_requested = boolean(o, "cancel_requested");
  job.worker_pid = integer(o, "worker_pid");
  for (const JsonValue& run : arrayOf(o.get("runs"), what + "'s runs").items) {
    job.runs.push_back(run.is_int ? run.integer : 0);
  }
  return job;
}

aimass_client_queue queueOf(const JsonValue* v, const std::string& what) {
  const JsonValue& o = objectOf(v, what);
  aimass_client_queue q;
  q.name = text(o, "name");
  q.cohort = text(o, "cohort");
  q.ordering = text(o, "ordering");
  q.nominal = resourcesOf(o, "nominal", what);
  const JsonValue* limit = o.get("borrowing_limit");
  if (limit && limit->type != JsonValue::Type::kNull) {
    q.borrowing_limit = resourcesOf(o, "borrowing_limit", what);
  }
  q.max_running = integer(o, "max_running");
  q.used = resourcesOf(o, "used", what);
  q.waiting = integer(o, "waiting");
  q.running = integer(o, "running");
  return q;
}

/// Sends a request and parses the answer's JSON.
JsonValue jsonAnswer(aimass_client* client, const char* method, const std::string& path,
                     const std::string* body) {
  require(client, "the client");
  HttpBody request{body ? std::string_view(*body) : std::string_view(), false, 0};
  auto response = client->transport.send(method, path, body ? &request : nullptr, 0, true);
  return aimass::client::detail::parseJson(response.body, "the answer");
}

void storeJob(aimass_client* client, const char* method, const std::string& path,
              const std::string* body, aimass_client_job** out) {
  require(out, "the out pointer");
  *out = nullptr;
  JsonValue root = jsonAnswer(client, method, path, body);
  *out = new aimass_client_job(jobOf(&root, "job"));
}

std::string jobPath(std::int64_t id) { return "/api/v1/jobs/" + std::to_string(id); }

std::string submissionJson(const aimass_client_job_submission& s) {
  std::string body = "{\"config\":";
  appendJsonString(body, s.config);
  auto addText = [&body](const char* key, const std::optional<std::string>& value) {
    if (value) {
      body += ",\"" + std::string(key) + "\":";
      appendJsonString(body, *value);
    }
  };
  auto addInteger = [&body](const char* key, const std::optional<std::int64_t>& value) {
    if (value) {
      body += ",\"" + std::string(key) + "\":";
      appendJsonInteger(body, *value);
    }
  };
  addText("config_name", s.config_name);
  addText("queue", s.queue);
  addInteger("priority", s.priority);
  addInteger("threads", s.threads);
  addText("memory", s.memory);
  addInteger("memory", s.memory_bytes);
  addInteger("gpus", s.gpus);
  if (s.preemptible) {
    body += *s.preemptible ? ",\"preemptible\":true" : ",\"preemptible\":false";
  }
  return body + "}";
}

aimass_client_code setText(std::optional<std::string>& field, const char* value) {
  return guarded(nullptr, [&] {
    if (value) {
      field = value;
    } else {
      field.reset();
    }
  });
}

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

/// Stores `r` through each pointer that is not NULL.
void storeResources(const Resources& r, int64_t* threads, int64_t* memory_bytes, int64_t* gpus) {
  if (threads) {
    *threads = r.threads;
  }
  if (memory_bytes) {
    *memory_bytes = r.memory_bytes;
  }
  if (gpus) {
    *gpus = r.gpus;
  }
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
  storeResources(job ? job->resources : Resources{}, threads, memory_bytes, gpus);
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
  const Resources* r = nullptr;
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
