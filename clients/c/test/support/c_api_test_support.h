// SPDX-License-Identifier: Apache-2.0
// Test conveniences over the C ABI: owning handles, and a call's outcome as a value.
#pragma once

#include <memory>
#include <string>

#include "aimass_client.h"

namespace aimass::client::testing {

struct JsonFree {
  void operator()(aimass_client_json* p) const { aimass_client_json_free(p); }
};
struct ClientFree {
  void operator()(aimass_client* p) const { aimass_client_free(p); }
};
struct RequestFree {
  void operator()(aimass_client_request* p) const { aimass_client_request_free(p); }
};
struct ResultFree {
  void operator()(aimass_client_result* p) const { aimass_client_result_free(p); }
};
struct OptionsFree {
  void operator()(aimass_client_options* p) const { aimass_client_options_free(p); }
};
struct JobFree {
  void operator()(aimass_client_job* p) const { aimass_client_job_free(p); }
};
struct JobListFree {
  void operator()(aimass_client_job_list* p) const { aimass_client_job_list_free(p); }
};
struct SubmissionFree {
  void operator()(aimass_client_job_submission* p) const { aimass_client_job_submission_free(p); }
};
struct ScheduleFree {
  void operator()(aimass_client_schedule* p) const { aimass_client_schedule_free(p); }
};
struct QueueFree {
  void operator()(aimass_client_queue* p) const { aimass_client_queue_free(p); }
};
struct QueueUpdateFree {
  void operator()(aimass_client_queue_update* p) const { aimass_client_queue_update_free(p); }
};
using Job = std::unique_ptr<aimass_client_job, JobFree>;
using Schedule = std::unique_ptr<aimass_client_schedule, ScheduleFree>;
using Queue = std::unique_ptr<aimass_client_queue, QueueFree>;
using QueueUpdate = std::unique_ptr<aimass_client_queue_update, QueueUpdateFree>;
using JobList = std::unique_ptr<aimass_client_job_list, JobListFree>;
using Submission = std::unique_ptr<aimass_client_job_submission, SubmissionFree>;
using Json = std::unique_ptr<aimass_client_json, JsonFree>;
using Client = std::unique_ptr<aimass_client, ClientFree>;
using Request = std::unique_ptr<aimass_client_request, RequestFree>;
using Result = std::unique_ptr<aimass_client_result, ResultFree>;
using Options = std::unique_ptr<aimass_client_options, OptionsFree>;

/// What a C call did: its code, and its error's status and message.
struct Outcome {
  aimass_client_code code = AIMASS_CLIENT_OK;
  int status = 0;
  std::string message;
  std::string body;
};

/// Runs `call(&error)` and takes its error apart.
template <typename F>
Outcome outcome(F&& call) {
  aimass_client_error* error = nullptr;
  Outcome out;
  out.code = call(&error);
  out.status = aimass_client_error_status(error);
  out.message = aimass_client_error_message(error);
  out.body = aimass_client_error_body(error);
  if ((out.code == AIMASS_CLIENT_OK) != (error == nullptr)) {
    out.message += " [the error pointer does not match the code]";
    out.code = AIMASS_CLIENT_INTERNAL;
  }
  aimass_client_error_free(error);
  return out;
}

/// A client of `url` with `options` (may be null); null and a test failure when refused.
inline Client makeClient(const std::string& url, const aimass_client_options* options = nullptr) {
  aimass_client* client = nullptr;
  Outcome made = outcome([&](aimass_client_error** e) {
    return aimass_client_create(url.c_str(), options, &client, e);
  });
  if (made.code != AIMASS_CLIENT_OK) {
    ADD_FAILURE() << "aimass_client_create(" << url << "): " << made.message;
  }
  return Client(client);
}

}  // namespace aimass::client::testing
