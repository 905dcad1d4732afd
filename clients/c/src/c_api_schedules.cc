// SPDX-License-Identifier: Apache-2.0
// The C ABI of the job service's schedules (/api/v1/schedules: create, list, show, delete) and
// of an admin's queue edit (PUT /api/v1/queues/{name}); jobs and the queue list are in
// c_api_jobs.cc.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aimass_client.h"
#include "c_boundary.h"
#include "client_failure.h"
#include "http_transport.h"
#include "jobs_codec.h"
#include "json_value.h"

using aimass::client::detail::appendJsonInteger;
using aimass::client::detail::appendJsonString;
using aimass::client::detail::arrayOf;
using aimass::client::detail::encodePathSegment;
using aimass::client::detail::guarded;
using aimass::client::detail::invalidArgument;
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
using aimass::client::detail::storeResources;
using aimass::client::detail::submissionJson;

/// The members set so far, each as its key and JSON text, in the order first set.
struct aimass_client_queue_update {
  std::vector<std::pair<std::string, std::string>> fields;
};

struct aimass_client_schedule {
  std::int64_t id = 0;
  std::string name;
  std::string cron;
  std::string overlap;
  std::string queue;
  std::string owner;
  std::int64_t priority = 0;
  JobResources resources;
  bool preemptible = false;
  std::string config_name;
  std::int64_t created_unix_ms = 0;
  std::int64_t next_fire_unix_ms = 0;
  std::int64_t last_fire_unix_ms = 0;
  std::int64_t last_job = 0;
  std::int64_t fires = 0;
  std::int64_t skips = 0;
  std::string last_result;
};

struct aimass_client_schedule_list {
  std::vector<aimass_client_schedule> schedules;
};

namespace {

aimass_client_schedule scheduleOf(const JsonValue* v, const std::string& what) {
  const JsonValue& o = objectOf(v, what);
  aimass_client_schedule s;
  s.id = memberInteger(o, "id");
  s.name = memberText(o, "name");
  s.cron = memberText(o, "cron");
  s.overlap = memberText(o, "overlap");
  s.queue = memberText(o, "queue");
  s.owner = memberText(o, "owner");
  s.priority = memberInteger(o, "priority");
  s.resources = resourcesOf(o, "resources", what);
  s.preemptible = memberBoolean(o, "preemptible");
  s.config_name = memberText(o, "config_name");
  s.created_unix_ms = memberInteger(o, "created_unix_ms");
  s.next_fire_unix_ms = memberInteger(o, "next_fire_unix_ms");
  s.last_fire_unix_ms = memberInteger(o, "last_fire_unix_ms");
  s.last_job = memberInteger(o, "last_job");
  s.fires = memberInteger(o, "fires");
  s.skips = memberInteger(o, "skips");
  s.last_result = memberText(o, "last_result");
  return s;
}

/// Sends the request and hands out the schedule it answers (through `out` when not NULL).
void storeSchedule(aimass_client* client, const char* method, const std::string& path,
                   const std::string* body, aimass_client_schedule** out) {
  if (out) {
    *out = nullptr;
  }
  JsonValue root = jsonAnswer(client, method, path, body);
  aimass_client_schedule schedule = scheduleOf(&root, "schedule");
  if (out) {
    *out = new aimass_client_schedule(std::move(schedule));
  }
}

std::string schedulePath(std::int64_t id) { return "/api/v1/schedules/" + std::to_string(id); }

/// Sets `key` to the JSON text `json`, or removes it when `json` is nullopt.
aimass_client_code setField(aimass_client_queue_update* update, const char* key,
                            std::optional<std::string> json) {
  if (!update) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  return guarded(nullptr, [&] {
    auto& fields = update->fields;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it->first == key) {
        fields.erase(it);
        break;
      }
    }
    if (json) {
      fields.emplace_back(key, std::move(*json));
    }
  });
}

std::string integerJson(std::int64_t value) {
  std::string out;
  appendJsonInteger(out, value);
  return out;
}

std::optional<std::string> textJson(const char* value) {
  if (!value) {
    return std::nullopt;
  }
  std::string out;
  appendJsonString(out, value);
  return out;
}

/// A borrowing limit: negative is JSON null (no limit).
std::string limitJson(std::int64_t value) { return value < 0 ? "null" : integerJson(value); }

}  // namespace

extern "C" {

// ---- queue edits -------------------------------------------------------------------------

aimass_client_queue_update* aimass_client_queue_update_create(void) {
  try {
    return new aimass_client_queue_update;
  } catch (...) {
    return nullptr;
  }
}

void aimass_client_queue_update_free(aimass_client_queue_update* update) { delete update; }

aimass_client_code aimass_client_queue_update_set_threads(aimass_client_queue_update* update,
                                                          int64_t threads) {
  return setField(update, "threads", integerJson(threads));
}
aimass_client_code aimass_client_queue_update_set_memory(aimass_client_queue_update* update,
                                                         const char* memory) {
  return setField(update, "memory", textJson(memory));
}
aimass_client_code aimass_client_queue_update_set_memory_bytes(aimass_client_queue_update* update,
                                                               int64_t memory_bytes) {
  return setField(update, "memory", integerJson(memory_bytes));
}
aimass_client_code aimass_client_queue_update_set_gpus(aimass_client_queue_update* update,
                                                       int64_t gpus) {
  return setField(update, "gpus", integerJson(gpus));
}
aimass_client_code aimass_client_queue_update_set_borrow_threads(aimass_client_queue_update* update,
                                                                 int64_t threads) {
  return setField(update, "borrow_threads", limitJson(threads));
}
aimass_client_code aimass_client_queue_update_set_borrow_memory(aimass_client_queue_update* update,
                                                                const char* memory) {
  return setField(update, "borrow_memory", textJson(memory));
}
aimass_client_code aimass_client_queue_update_set_borrow_memory_bytes(
    aimass_client_queue_update* update, int64_t memory_bytes) {
  return setField(update, "borrow_memory", limitJson(memory_bytes));
}
aimass_client_code aimass_client_queue_update_set_borrow_gpus(aimass_client_queue_update* update,
                                                              int64_t gpus) {
  return setField(update, "borrow_gpus", limitJson(gpus));
}
aimass_client_code aimass_client_queue_update_set_max_running(aimass_client_queue_update* update,
                                                              int64_t max_running) {
  return setField(update, "max_running", integerJson(max_running));
}
aimass_client_code aimass_client_queue_update_set_ordering(aimass_client_queue_update* update,
                                                           const char* ordering) {
  return setField(update, "ordering", textJson(ordering));
}
aimass_client_code aimass_client_queue_update_set_strict_fifo(aimass_client_queue_update* update,
                                                              int strict_fifo) {
  return setField(update, "strict_fifo", std::string(strict_fifo ? "true" : "false"));
}

aimass_client_code aimass_client_update_queue(aimass_client* client, const char* name,
                                              const aimass_client_queue_update* update,
                                              aimass_client_queue** out,
                                              aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    require(name, "the queue's name");
    require(update, "the queue update");
    if (update->fields.empty()) {
      invalidArgument(
          "the queue update sets no field (threads, memory, gpus, borrow_threads, "
          "borrow_memory, borrow_gpus, max_running, ordering, strict_fifo)");
    }
    std::string body = "{";
    for (const auto& [key, json] : update->fields) {
      body += (body.size() > 1 ? ",\"" : "\"") + key + "\":" + json;
    }
    body += "}";
    JsonValue root = jsonAnswer(client, "PUT", "/api/v1/queues/" + encodePathSegment(name), &body);
    *out = new aimass_client_queue(queueOf(&root, "queue"));
  });
}

// ---- schedules ---------------------------------------------------------------------------

aimass_client_code aimass_client_create_schedule(aimass_client* client,
                                                 const aimass_client_job_submission* job,
                                                 const char* cron, const char* overlap,
                                                 const char* name, aimass_client_schedule** out,
                                                 aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    require(job, "the schedule's job");
    require(cron, "the cron expression");
    std::string more = ",\"cron\":";
    appendJsonString(more, cron);
    if (overlap) {
      more += ",\"overlap\":";
      appendJsonString(more, overlap);
    }
    if (name) {
      more += ",\"name\":";
      appendJsonString(more, name);
    }
    std::string body = submissionJson(*job, more);
    storeSchedule(client, "POST", "/api/v1/schedules", &body, out);
  });
}

aimass_client_code aimass_client_list_schedules(aimass_client* client,
                                                aimass_client_schedule_list** out,
                                                aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    JsonValue root = jsonAnswer(client, "GET", "/api/v1/schedules", nullptr);
    const JsonValue& schedules =
        arrayOf(objectOf(&root, "schedule list").get("schedules"), "schedules");
    auto list = std::make_unique<aimass_client_schedule_list>();
    for (std::size_t i = 0; i < schedules.items.size(); ++i) {
      list->schedules.push_back(scheduleOf(&schedules.items[i], "schedule " + std::to_string(i)));
    }
    *out = list.release();
  });
}

aimass_client_code aimass_client_get_schedule(aimass_client* client, int64_t id,
                                              aimass_client_schedule** out,
                                              aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    storeSchedule(client, "GET", schedulePath(id), nullptr, out);
  });
}

aimass_client_code aimass_client_delete_schedule(aimass_client* client, int64_t id,
                                                 aimass_client_schedule** out,
                                                 aimass_client_error** error) {
  return guarded(error, [&] {
    std::string body = "{}";  // frontend.http wants a JSON body on every route that changes it
    storeSchedule(client, "DELETE", schedulePath(id), &body, out);
  });
}

size_t aimass_client_schedule_list_size(const aimass_client_schedule_list* list) {
  return list ? list->schedules.size() : 0;
}
const aimass_client_schedule* aimass_client_schedule_list_at(
    const aimass_client_schedule_list* list, size_t index) {
  return list && index < list->schedules.size() ? &list->schedules[index] : nullptr;
}
void aimass_client_schedule_list_free(aimass_client_schedule_list* list) { delete list; }
void aimass_client_schedule_free(aimass_client_schedule* schedule) { delete schedule; }

int64_t aimass_client_schedule_id(const aimass_client_schedule* s) { return s ? s->id : 0; }
const char* aimass_client_schedule_name(const aimass_client_schedule* s) {
  return s ? s->name.c_str() : "";
}
const char* aimass_client_schedule_cron(const aimass_client_schedule* s) {
  return s ? s->cron.c_str() : "";
}
const char* aimass_client_schedule_overlap(const aimass_client_schedule* s) {
  return s ? s->overlap.c_str() : "";
}
const char* aimass_client_schedule_queue(const aimass_client_schedule* s) {
  return s ? s->queue.c_str() : "";
}
const char* aimass_client_schedule_owner(const aimass_client_schedule* s) {
  return s ? s->owner.c_str() : "";
}
int64_t aimass_client_schedule_priority(const aimass_client_schedule* s) {
  return s ? s->priority : 0;
}
void aimass_client_schedule_resources(const aimass_client_schedule* s, int64_t* threads,
                                      int64_t* memory_bytes, int64_t* gpus) {
  storeResources(s ? s->resources : JobResources{}, threads, memory_bytes, gpus);
}
int aimass_client_schedule_preemptible(const aimass_client_schedule* s) {
  return s && s->preemptible ? 1 : 0;
}
const char* aimass_client_schedule_config_name(const aimass_client_schedule* s) {
  return s ? s->config_name.c_str() : "";
}
int64_t aimass_client_schedule_created_unix_ms(const aimass_client_schedule* s) {
  return s ? s->created_unix_ms : 0;
}
int64_t aimass_client_schedule_next_fire_unix_ms(const aimass_client_schedule* s) {
  return s ? s->next_fire_unix_ms : 0;
}
int64_t aimass_client_schedule_last_fire_unix_ms(const aimass_client_schedule* s) {
  return s ? s->last_fire_unix_ms : 0;
}
int64_t aimass_client_schedule_last_job(const aimass_client_schedule* s) {
  return s ? s->last_job : 0;
}
int64_t aimass_client_schedule_fires(const aimass_client_schedule* s) { return s ? s->fires : 0; }
int64_t aimass_client_schedule_skips(const aimass_client_schedule* s) { return s ? s->skips : 0; }
const char* aimass_client_schedule_last_result(const aimass_client_schedule* s) {
  return s ? s->last_result.c_str() : "";
}

}  // extern "C"
