// SPDX-License-Identifier: Apache-2.0
// The typed structs of jobs.hpp from the C library's job and queue handles.
#pragma once

#include "aimass/client/jobs.hpp"
#include "aimass_client.h"

namespace aimass::client::detail {

Job jobOf(const aimass_client_job* job);
JobQueue jobQueueOf(const aimass_client_queue* queue);

}  // namespace aimass::client::detail
