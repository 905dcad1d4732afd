// SPDX-License-Identifier: Apache-2.0
// The typed structs of jobs.hpp from the C library's job, queue and schedule handles, and the
// C library's submission and queue update handles from them.
#pragma once

#include "aimass/client/jobs.hpp"
#include "aimass_client.h"
#include "c_handles.h"

namespace aimass::client::detail {

Job jobOf(const aimass_client_job* job);
JobQueue jobQueueOf(const aimass_client_queue* queue);
JobSchedule jobScheduleOf(const aimass_client_schedule* schedule);

/// The C submission of `s`; throws Error(kOutOfMemory) when it cannot be made.
SubmissionHandle submissionOf(const JobSubmission& s);
/// The C queue update of `u`; throws Error(kOutOfMemory) when it cannot be made.
QueueUpdateHandle queueUpdateOf(const JobQueueUpdate& u);

}  // namespace aimass::client::detail
