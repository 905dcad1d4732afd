// SPDX-License-Identifier: Apache-2.0
#include "jobs_codec.h"

#include <string_view>

#include "c_boundary.h"
#include "client_failure.h"
#include "client_handle.h"

namespace aimass::client::detail {

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

std::string memberText(const JsonValue& object, const char* key) {
  const JsonValue* v = object.get(key);
  return v && v->type == JsonValue::Type::kString ? v->text : std::string();
}

std::int64_t memberInteger(const JsonValue& object, const char* key) {
  const JsonValue* v = object.get(key);
  return v && v->type == JsonValue::Type::kNumber && v->is_int ? v->integer : 0;
}

bool memberBoolean(const JsonValue& object, const char* key) {
  const JsonValue* v = object.get(key);
  return v && v->type == JsonValue::Type::kBool && v->boolean;
}

JobResources resourcesOf(const JsonValue& object, const char* key, const std::string& where) {
  const JsonValue& r = objectOf(object.get(key), where + "'s " + key);
  return {memberInteger(r, "threads"), memberInteger(r, "memory_bytes"), memberInteger(r, "gpus")};
}

aimass_client_queue queueOf(const JsonValue* v, const std::string& what) {
  const JsonValue& o = objectOf(v, what);
  aimass_client_queue q;
  q.name = memberText(o, "name");
  q.cohort = memberText(o, "cohort");
  q.ordering = memberText(o, "ordering");
  q.nominal = resourcesOf(o, "nominal", what);
  const JsonValue* limit = o.get("borrowing_limit");
  if (limit && limit->type != JsonValue::Type::kNull) {
    q.borrowing_limit = resourcesOf(o, "borrowing_limit", what);
  }
  q.max_running = memberInteger(o, "max_running");
  q.used = resourcesOf(o, "used", what);
  q.waiting = memberInteger(o, "waiting");
  q.running = memberInteger(o, "running");
  return q;
}

JsonValue jsonAnswer(aimass_client* client, const char* method, const std::string& path,
                     const std::string* body) {
  require(client, "the client");
  HttpBody request{body ? std::string_view(*body) : std::string_view(), false, 0};
  auto response = client->transport.send(method, path, body ? &request : nullptr, 0, true);
  return parseJson(response.body, "the answer");
}

std::string submissionJson(const aimass_client_job_submission& s, const std::string& more) {
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
  addInteger("ranks", s.ranks);
  if (s.preemptible) {
    body += *s.preemptible ? ",\"preemptible\":true" : ",\"preemptible\":false";
  }
  return body + more + "}";
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

void storeResources(const JobResources& r, int64_t* threads, int64_t* memory_bytes, int64_t* gpus) {
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

}  // namespace aimass::client::detail
