// SPDX-License-Identifier: Apache-2.0
#pragma once

// The job service's HTTP routes (/api/v1/jobs, docs/jobs.md) as tests call them: a job's JSON,
// waiting for one of its states or for a line of its log.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>

#include "http_call.h"

namespace aimass::testing {

/// `text` as a JSON string (quotes, backslashes and newlines escaped), e.g. a graph's YAML.
inline std::string jsonQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out + "\"";
}

inline Poco::JSON::Object::Ptr parseJsonObject(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

/// The id of a job POST /api/v1/jobs created; 0 (and a test failure) for another answer.
inline std::int64_t createdJobId(const HttpReply& reply) {
  EXPECT_EQ(reply.status, 201) << reply.body;
  return reply.status == 201 ? parseJsonObject(reply.body)->getValue<std::int64_t>("id") : 0;
}

/// GET /api/v1/jobs/ID.
inline Poco::JSON::Object::Ptr jobJsonOf(std::uint16_t port, std::int64_t id) {
  HttpReply reply = httpCall(port, "GET", "/api/v1/jobs/" + std::to_string(id));
  EXPECT_EQ(reply.status, 200) << reply.body;
  return parseJsonObject(reply.body);
}

/// The end of the job's log (up to `bytes`).
inline std::string jobLogOf(std::uint16_t port, std::int64_t id, std::size_t bytes = 1000000) {
  return httpCall(port, "GET",
                  "/api/v1/jobs/" + std::to_string(id) + "/log?bytes=" + std::to_string(bytes))
      .body;
}

/// Polls the job until its state is one of `states` (a test failure, with its log, after
/// `limit`, which is no speed check); the job then.
inline Poco::JSON::Object::Ptr waitForJobState(std::uint16_t port, std::int64_t id,
                                               const std::set<std::string>& states,
                                               std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    Poco::JSON::Object::Ptr current = jobJsonOf(port, id);
    if (states.count(current->getValue<std::string>("state")) != 0) return current;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "job " << id << " stayed " << current->getValue<std::string>("state")
                    << "; its log:\n"
                    << jobLogOf(port, id);
      return current;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

/// Polls the job's log until it holds `text`; false after `limit`.
inline bool waitForJobLog(std::uint16_t port, std::int64_t id, const std::string& text,
                          std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (jobLogOf(port, id).find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace aimass::testing
