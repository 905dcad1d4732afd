// SPDX-License-Identifier: Apache-2.0
#include "job_routes.h"

#include <Poco/JSON/Object.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
#include <utility>

#include "aimass/util/job_json.h"
#include "aimass/util/memory_size.h"
#include "json_body.h"

namespace aimass::plugins::frontend {
namespace {

const std::set<std::string> kJobFields = {"config", "config_name", "queue",    "priority",
                                          "threads", "memory",      "gpus",     "ranks",
                                          "preemptible"};

std::string callerName(const HttpRequest& request) {
  return request.principal.empty() ? "anonymous" : request.principal;
}

/// A whole number field of a job submission; `fallback` when absent.
Expected<std::int64_t> wholeField(const Poco::JSON::Object& body, const std::string& field,
                                  std::int64_t fallback, std::int64_t lowest) {
  if (!body.has(field)) return fallback;
  const Poco::Dynamic::Var value = body.get(field);
  if (!value.isInteger() || value.convert<std::int64_t>() < lowest) {
    return invalidArgument("'" + field + "' must be a whole number of at least " +
                           std::to_string(lowest));
  }
  return value.convert<std::int64_t>();
}

/// A job larger than its queue could ever give is a bad request, not a momentary overload.
void failSubmission(HttpResponse& response, const Status& status) {
  jsonError(response,
            status.code() == StatusCode::kResourceExhausted ? 400 : apiStatusFor(status),
            status.message());
}

/// The job of a POST /api/v1/jobs or /api/v1/schedules body: {"config": YAML, "config_name",
/// "queue", "priority", "threads", "memory" ("512MiB" or bytes), "gpus", "ranks",
/// "preemptible"}.
Expected<JobSubmitRequest> jobRequest(const HttpRequest& request, const Poco::JSON::Object* body,
                                      const std::string& what) {
  JobSubmitRequest job;
  if (!body->has("config") || !body->get("config").isString()) {
    return invalidArgument("the body of " + what + " needs \"config\": the job's graph as YAML text");
  }
  job.config = body->getValue<std::string>("config");
  for (const char* field : {"config_name", "queue"}) {
    if (body->has(field) && !body->get(field).isString()) {
      return invalidArgument("'" + std::string(field) + "' must be a string");
    }
  }
  job.config_name = body->optValue<std::string>("config_name", "job.yaml");
  job.queue = body->optValue<std::string>("queue", "");
  AIMASS_ASSIGN_OR_RETURN(job.priority,
                          wholeField(*body, "priority", 0, std::numeric_limits<std::int64_t>::min()));
  AIMASS_ASSIGN_OR_RETURN(job.resources.threads, wholeField(*body, "threads", 1, 1));
  AIMASS_ASSIGN_OR_RETURN(job.resources.gpus, wholeField(*body, "gpus", 0, 0));
  AIMASS_ASSIGN_OR_RETURN(job.ranks, wholeField(*body, "ranks", 1, 1));
  job.resources.memory_bytes = std::int64_t{1} << 30;
  if (body->has("memory")) {
    const Poco::Dynamic::Var memory = body->get("memory");
    if (memory.isString()) {
      AIMASS_ASSIGN_OR_RETURN(job.resources.memory_bytes,
                              parseMemorySize(memory.convert<std::string>(), "'memory'"));
    } else {
      AIMASS_ASSIGN_OR_RETURN(job.resources.memory_bytes, wholeField(*body, "memory", 0, 1));
    }
  }
  if (body->has("preemptible")) {
    if (!body->get("preemptible").isBoolean()) {
      return invalidArgument("'preemptible' must be true or false");
    }
    job.preemptible = body->getValue<bool>("preemptible");
  }
  job.owner = request.principal.empty() ? "anonymous" : request.principal;
  return job;
}


/// POST /api/v1/jobs.
Expected<JobSubmitRequest> jobSubmission(const HttpRequest& request) {
  const std::string what = "POST /api/v1/jobs";
  AIMASS_ASSIGN_OR_RETURN(auto body, jsonObjectBody(request.body, what, EmptyBody::kRefused));
  AIMASS_RETURN_IF_ERROR(onlyKeys(*body, kJobFields, what));
  return jobRequest(request, body.get(), what);
}

/// POST /api/v1/schedules: a job's fields and "cron" (required), "overlap", "name".
Expected<JobScheduleRequest> scheduleRequest(const HttpRequest& request) {
  const std::string what = "POST /api/v1/schedules";
  AIMASS_ASSIGN_OR_RETURN(auto body, jsonObjectBody(request.body, what, EmptyBody::kRefused));
  std::set<std::string> allowed = kJobFields;
  allowed.insert({"cron", "overlap", "name"});
  AIMASS_RETURN_IF_ERROR(onlyKeys(*body, allowed, what));
  JobScheduleRequest schedule;
  AIMASS_ASSIGN_OR_RETURN(schedule.job, jobRequest(request, body.get(), what));
  if (!body->has("cron") || !body->get("cron").isString()) {
    return invalidArgument("the body of " + what +
                           " needs \"cron\": a cron expression such as \"0 3 * * *\" (UTC)");
  }
  for (const char* field : {"overlap", "name"}) {
    if (body->has(field) && !body->get(field).isString()) {
      return invalidArgument("'" + std::string(field) + "' must be a string");
    }
  }
  schedule.cron = body->getValue<std::string>("cron");
  schedule.overlap = body->optValue<std::string>("overlap", "skip");
  schedule.name = body->optValue<std::string>("name", "");
  return schedule;
}

/// PUT /api/v1/queues/{name}: {"threads", "memory", "gpus", "borrow_threads", "borrow_memory",
/// "borrow_gpus" (null removes a limit), "max_running", "ordering", "strict_fifo"}.
Expected<JobQueueUpdate> queueUpdate(const HttpRequest& request) {
  const std::string what = "PUT /api/v1/queues/{name}";
  AIMASS_ASSIGN_OR_RETURN(auto body, jsonObjectBody(request.body, what, EmptyBody::kRefused));
  AIMASS_RETURN_IF_ERROR(onlyKeys(*body,
                                  {"threads", "memory", "gpus", "borrow_threads",
                                   "borrow_memory", "borrow_gpus", "max_running", "ordering",
                                   "strict_fifo"},
                                  what));
  JobQueueUpdate update;
  auto memory = [&](const char* field) -> Expected<std::int64_t> {
    const Poco::Dynamic::Var value = body->get(field);
    if (value.isString()) {
      return parseMemorySize(value.convert<std::string>(), "'" + std::string(field) + "'");
    }
    return wholeField(*body, field, 0, 0);
  };
  for (auto [field, target] : {std::pair{"threads", &update.threads},
                                std::pair{"gpus", &update.gpus},
                                std::pair{"max_running", &update.max_running}}) {
    if (body->has(field)) {
      AIMASS_ASSIGN_OR_RETURN(*target, wholeField(*body, field, 0, 0));
    }
  }
  if (body->has("memory")) {
    AIMASS_ASSIGN_OR_RETURN(update.memory_bytes, memory("memory"));
  }
  for (const char* field : {"borrow_threads", "borrow_memory", "borrow_gpus"}) {
    if (!body->has(field)) continue;
    std::optional<std::int64_t>& target =
        field == std::string("borrow_threads")  ? update.borrow_threads
        : field == std::string("borrow_memory") ? update.borrow_memory_bytes
                                                : update.borrow_gpus;
    if (body->get(field).isEmpty()) {
      target = -1;  // null: no limit
    } else if (field == std::string("borrow_memory")) {
      AIMASS_ASSIGN_OR_RETURN(target, memory(field));
    } else {
      AIMASS_ASSIGN_OR_RETURN(target, wholeField(*body, field, 0, 0));
    }
  }
  if (body->has("ordering")) {
    if (!body->get("ordering").isString()) {
      return invalidArgument("'ordering' must be \"fifo\" or \"fair_share\"");
    }
    update.ordering = body->getValue<std::string>("ordering");
  }
  if (body->has("strict_fifo")) {
    if (!body->get("strict_fifo").isBoolean()) {
      return invalidArgument("'strict_fifo' must be true or false");
    }
    update.strict_fifo = body->getValue<bool>("strict_fifo");
  }
  return update;
}

/// What GET /api/v1/jobs/{id}/log asks for.
struct LogQuery {
  std::int64_t id = 0;
  std::size_t bytes = 65536;
  std::optional<std::uint64_t> offset;  ///< nullopt: the end of the log
};

constexpr std::int64_t kMaxLogBytes = 16 << 20;

Expected<LogQuery> logQuery(const HttpRequest& request) {
  LogQuery query;
  AIMASS_ASSIGN_OR_RETURN(query.id, positiveNumber(param(request, "id"), "the job id in the path"));
  for (const auto& [name, value] : request.query) {
    const std::string where = "query parameter '" + name + "'";
    if (name == "bytes") {
      AIMASS_ASSIGN_OR_RETURN(std::int64_t bytes, positiveNumber(value, where));
      query.bytes = static_cast<std::size_t>(std::min(bytes, kMaxLogBytes));
    } else if (name == "offset") {
      std::uint64_t offset = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), offset);
      if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
        return invalidArgument(where + " must be a whole number (a byte offset), got '" + value +
                               "'");
      }
      query.offset = offset;
    } else {
      return invalidArgument("unknown query parameter '" + name + "' (use bytes, offset)");
    }
  }
  return query;
}

/// The text a log query asks for. The end of the log starts at a line where it can (its first,
/// partial line is dropped), and its offset says where that is, so a client following the log
/// goes on from offset + the text's length.
Expected<JobLogChunk> logChunk(const JobService& jobs, const LogQuery& query) {
  if (query.offset) {
    return jobs.logFrom(query.id, *query.offset, query.bytes);
  }
  AIMASS_ASSIGN_OR_RETURN(JobLogChunk whole, jobs.logFrom(query.id, 0, 0));
  const std::uint64_t start = whole.size > query.bytes ? whole.size - query.bytes : 0;
  AIMASS_ASSIGN_OR_RETURN(JobLogChunk chunk, jobs.logFrom(query.id, start, query.bytes));
  if (start > 0) {
    const std::size_t line = chunk.text.find('\n');
    if (line != std::string::npos && line + 1 < chunk.text.size()) {
      chunk.text.erase(0, line + 1);
      chunk.offset += line + 1;
    }
  }
  return chunk;
}

void addJobs(JobService* jobs, RouteList& routes) {
  routes.add("GET", "/api/v1/jobs", "Jobs of the job service; query state, queue, owner",
             Role::kReader, [jobs](const HttpRequest& request, HttpResponse& response) {
               for (const auto& [name, value] : request.query) {
                 if (name != "state" && name != "queue" && name != "owner") {
                   return fail(response, invalidArgument("unknown query parameter '" + name +
                                                         "' (state, queue, owner)"));
                 }
               }
               auto all = jobs->list();
               if (!all.ok()) return fail(response, all.status());
               std::vector<JobInfo> picked;
               for (JobInfo& job : *all) {
                 auto wanted = [&](const char* key, const std::string& value) {
                   auto it = request.query.find(key);
                   return it == request.query.end() || it->second == value;
                 };
                 if (wanted("state", job.state) && wanted("queue", job.queue) &&
                     wanted("owner", job.owner)) {
                   picked.push_back(std::move(job));
                 }
               }
               answer(response, jobListJson(picked));
             });
  routes.add("POST", "/api/v1/jobs", "Submit a graph as a job (body: config YAML, queue, ...)",
             Role::kOperator, [jobs](const HttpRequest& request, HttpResponse& response) {
               auto job = jobSubmission(request);
               if (!job.ok()) return fail(response, job.status());
               auto submitted = jobs->submit(*job);
               if (!submitted.ok()) return failSubmission(response, submitted.status());
               answer(response, jobJson(*submitted));
               response.status = 201;
             });
  routes.add("GET", "/api/v1/jobs/{id}", "One job: state, reason, attempts, runs", Role::kReader,
             [jobs](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the job id in the path");
               if (!id.ok()) return fail(response, id.status());
               answerWith(response, jobs->get(*id), jobJson);
             });
  routes.add("POST", "/api/v1/jobs/{id}/cancel",
             "Cancel a job (an operator its own jobs, an admin any)", Role::kOperator,
             [jobs](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the job id in the path");
               if (!id.ok()) return fail(response, id.status());
               auto job = jobs->get(*id);
               if (!job.ok()) return fail(response, job.status());
               if (request.role != Role::kAdmin && job->owner != callerName(request)) {
                 return jsonError(response, 403,
                                  "job " + std::to_string(*id) + " belongs to '" + job->owner +
                                      "'; only its owner or an admin may cancel it");
               }
               answerWith(response, jobs->cancel(*id), jobJson);
             });
  routes.add("GET", "/api/v1/jobs/{id}/log",
             "A job's log: its end, or from a byte offset on; query bytes (default 65536), "
             "offset; X-Log-Offset and X-Log-Size headers say where the text starts and how "
             "long the log is",
             Role::kReader, [jobs](const HttpRequest& request, HttpResponse& response) {
               auto query = logQuery(request);
               if (!query.ok()) return fail(response, query.status());
               auto chunk = logChunk(*jobs, *query);
               if (!chunk.ok()) return fail(response, chunk.status());
               response.status = 200;
               response.content_type = "text/plain; charset=utf-8";
               response.headers.emplace_back("X-Log-Offset", std::to_string(chunk->offset));
               response.headers.emplace_back("X-Log-Size", std::to_string(chunk->size));
               response.body = std::move(chunk->text);
             });
  routes.add("GET", "/api/v1/queues", "The job service's queues: quota, use, waiting, running",
             Role::kReader, [jobs](const HttpRequest&, HttpResponse& response) {
               answer(response, jobQueueListJson(jobs->queues()));
             });
}


void addSchedules(JobService* jobs, RouteList& routes) {
  routes.add("GET", "/api/v1/schedules", "The job service's schedules: cron, overlap, next fire",
             Role::kReader, [jobs](const HttpRequest&, HttpResponse& response) {
               answerWith(response, jobs->listSchedules(), scheduleListJson);
             });
  routes.add("POST", "/api/v1/schedules",
             "Create a schedule: a job's body plus cron (UTC), overlap, name", Role::kOperator,
             [jobs](const HttpRequest& request, HttpResponse& response) {
               auto schedule = scheduleRequest(request);
               if (!schedule.ok()) return fail(response, schedule.status());
               auto created = jobs->createSchedule(*schedule);
               if (!created.ok()) return failSubmission(response, created.status());
               answer(response, scheduleJson(*created));
               response.status = 201;
             });
  routes.add("GET", "/api/v1/schedules/{id}", "One schedule: next and last fire, last job",
             Role::kReader, [jobs](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the schedule id in the path");
               if (!id.ok()) return fail(response, id.status());
               answerWith(response, jobs->getSchedule(*id), scheduleJson);
             });
  routes.add("DELETE", "/api/v1/schedules/{id}",
             "Delete a schedule (an operator its own, an admin any); its jobs stay",
             Role::kOperator, [jobs](const HttpRequest& request, HttpResponse& response) {
               auto id = positiveNumber(param(request, "id"), "the schedule id in the path");
               if (!id.ok()) return fail(response, id.status());
               auto schedule = jobs->getSchedule(*id);
               if (!schedule.ok()) return fail(response, schedule.status());
               if (request.role != Role::kAdmin && schedule->owner != callerName(request)) {
                 return jsonError(response, 403,
                                  "schedule " + std::to_string(*id) + " belongs to '" +
                                      schedule->owner +
                                      "'; only its owner or an admin may delete it");
               }
               if (Status s = jobs->deleteSchedule(*id); !s.ok()) return fail(response, s);
               answer(response, scheduleJson(*schedule));
             });
}

}  // namespace

void addJobRoutes(JobService* jobs, RouteList& routes) {
  addJobs(jobs, routes);
  addSchedules(jobs, routes);
  routes.add("PUT", "/api/v1/queues/{name}",
             "Edit a queue's quota and limits while the service runs (kept in the store)",
             Role::kAdmin, [jobs](const HttpRequest& request, HttpResponse& response) {
               auto update = queueUpdate(request);
               if (!update.ok()) return fail(response, update.status());
               auto edited = jobs->updateQueue(param(request, "name"), *update);
               if (!edited.ok()) return fail(response, edited.status());
               answer(response, jobQueueJson(*edited));
             });
}

}  // namespace aimass::plugins::frontend
