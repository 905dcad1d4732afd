// SPDX-License-Identifier: Apache-2.0
// What the C ABI's job service calls share (c_api_jobs.cc: jobs and the queue list;
// c_api_schedules.cc: schedules and queue edits): the submission and queue handles, the
// decoding of the answers' members, the request bodies. Nothing here is exported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "aimass_client.h"
#include "json_value.h"

struct aimass_client_job_submission {
  std::string config;
  std::optional<std::string> config_name;
  std::optional<std::string> queue;
  std::optional<std::int64_t> priority;
  std::optional<std::int64_t> threads;
  std::optional<std::string> memory;  // "512MiB"
  std::optional<std::int64_t> memory_bytes;
  std::optional<std::int64_t> gpus;
  std::optional<std::int64_t> ranks;
  std::optional<bool> preemptible;
};

namespace aimass::client::detail {

struct JobResources {
  std::int64_t threads = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t gpus = 0;
};

}  // namespace aimass::client::detail

struct aimass_client_queue {
  std::string name;
  std::string cohort;
  std::string ordering;
  aimass::client::detail::JobResources nominal;
  std::optional<aimass::client::detail::JobResources> borrowing_limit;
  std::int64_t max_running = 0;
  aimass::client::detail::JobResources used;
  std::int64_t waiting = 0;
  std::int64_t running = 0;
};

namespace aimass::client::detail {

// ---- decoding: a member that is absent or null reads as its default; a value of the wrong
// kind where an object or array is needed is a protocol error naming it.

const JsonValue& objectOf(const JsonValue* v, const std::string& what);
const JsonValue& arrayOf(const JsonValue* v, const std::string& what);
std::string memberText(const JsonValue& object, const char* key);
std::int64_t memberInteger(const JsonValue& object, const char* key);
bool memberBoolean(const JsonValue& object, const char* key);
JobResources resourcesOf(const JsonValue& object, const char* key, const std::string& where);
aimass_client_queue queueOf(const JsonValue* v, const std::string& what);

/// Sends a request (`body` NULL for none) and parses the answer's JSON; throws ClientFailure
/// for a NULL client, a transport failure or an HTTP error (the server's status and message).
JsonValue jsonAnswer(aimass_client* client, const char* method, const std::string& path,
                     const std::string* body);

/// The POST /api/v1/jobs body of `s`, with `more` (",\"key\":value..." or "") before its end.
std::string submissionJson(const aimass_client_job_submission& s, const std::string& more = "");

/// Sets (value not NULL) or clears (NULL) an optional text member; never throws.
aimass_client_code setText(std::optional<std::string>& field, const char* value);

/// Stores `r` through each pointer that is not NULL.
void storeResources(const JobResources& r, int64_t* threads, int64_t* memory_bytes, int64_t* gpus);

}  // namespace aimass::client::detail
