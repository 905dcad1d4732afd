// SPDX-License-Identifier: Apache-2.0
// RAII over the C library's handles, and the one place its errors become Error exceptions.
#pragma once

#include <memory>
#include <string>

#include "aimass/client/types.hpp"
#include "aimass_client.h"

namespace aimass::client::detail {

struct FreeClient {
  void operator()(aimass_client* p) const noexcept { aimass_client_free(p); }
};
struct FreeRequest {
  void operator()(aimass_client_request* p) const noexcept { aimass_client_request_free(p); }
};
struct FreeResult {
  void operator()(aimass_client_result* p) const noexcept { aimass_client_result_free(p); }
};
struct FreeJson {
  void operator()(aimass_client_json* p) const noexcept { aimass_client_json_free(p); }
};
struct FreeError {
  void operator()(aimass_client_error* p) const noexcept { aimass_client_error_free(p); }
};
struct FreeOptions {
  void operator()(aimass_client_options* p) const noexcept { aimass_client_options_free(p); }
};
struct FreeJob {
  void operator()(aimass_client_job* p) const noexcept { aimass_client_job_free(p); }
};
struct FreeJobList {
  void operator()(aimass_client_job_list* p) const noexcept { aimass_client_job_list_free(p); }
};
struct FreeQueueList {
  void operator()(aimass_client_queue_list* p) const noexcept { aimass_client_queue_list_free(p); }
};
struct FreeSubmission {
  void operator()(aimass_client_job_submission* p) const noexcept {
    aimass_client_job_submission_free(p);
  }
};
struct FreeQueue {
  void operator()(aimass_client_queue* p) const noexcept { aimass_client_queue_free(p); }
};
struct FreeQueueUpdate {
  void operator()(aimass_client_queue_update* p) const noexcept {
    aimass_client_queue_update_free(p);
  }
};
struct FreeSchedule {
  void operator()(aimass_client_schedule* p) const noexcept { aimass_client_schedule_free(p); }
};
struct FreeScheduleList {
  void operator()(aimass_client_schedule_list* p) const noexcept {
    aimass_client_schedule_list_free(p);
  }
};
struct FreeText {
  void operator()(char* p) const noexcept { aimass_client_text_free(p); }
};

using ClientHandle = std::unique_ptr<aimass_client, FreeClient>;
using RequestHandle = std::unique_ptr<aimass_client_request, FreeRequest>;
using ResultHandle = std::unique_ptr<aimass_client_result, FreeResult>;
using JsonHandle = std::unique_ptr<aimass_client_json, FreeJson>;
using OptionsHandle = std::unique_ptr<aimass_client_options, FreeOptions>;
using JobHandle = std::unique_ptr<aimass_client_job, FreeJob>;
using SubmissionHandle = std::unique_ptr<aimass_client_job_submission, FreeSubmission>;
using QueueUpdateHandle = std::unique_ptr<aimass_client_queue_update, FreeQueueUpdate>;
using ScheduleHandle = std::unique_ptr<aimass_client_schedule, FreeSchedule>;

/// Throws the Error of a failed C call (`error` may be NULL when even the error could not be
/// allocated); returns when `code` is AIMASS_CLIENT_OK.
inline void check(aimass_client_code code, aimass_client_error* error) {
  std::unique_ptr<aimass_client_error, FreeError> owned(error);
  if (code == AIMASS_CLIENT_OK) {
    return;
  }
  std::string message = error ? aimass_client_error_message(error) : "the client library failed";
  throw Error(static_cast<ErrorCode>(code), aimass_client_error_status(error), std::move(message));
}

/// Runs `f(&error)` (a C call) and throws the Error it reports, if any. (Calling first and
/// reading the error after is the point: the two must not be arguments of one call.)
template <typename F>
void call(F&& f) {
  aimass_client_error* error = nullptr;
  aimass_client_code code = f(&error);
  check(code, error);
}

}  // namespace aimass::client::detail
