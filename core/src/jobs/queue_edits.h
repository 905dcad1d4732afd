// SPDX-License-Identifier: Apache-2.0
// Queue edits made while the service runs (PUT /api/v1/queues/{name}, `aimass jobs queues
// --set`), kept in the storage node so that they survive a restart. Precedence: a stored edit
// applies while the queue's definition in the configuration is the one it was made against;
// once that definition changes, the configuration wins and the edit is dropped
// (docs/jobs.md#editing-queues).
#pragma once

#include <string>
#include <vector>

#include "aimass/job_service.h"
#include "aimass/status.h"
#include "aimass/storage.h"
#include "jobs/job_scheduler.h"

namespace aimass::core::jobs {

/// The configured queues with the stored edits that still apply; edits made against an
/// older definition are removed from the store. Errors of the store; kDataLoss for a
/// damaged edit.
Expected<std::vector<QueueSpec>> effectiveQueues(Storage& storage,
                                                 const std::vector<QueueSpec>& configured);

/// Applies `update` to queue `name` (as effectiveQueues() has it), checks the result with every
/// other queue (kInvalidArgument naming the field), stores it and bumps the store's change
/// counter, so that a running service applies it within its poll interval (at once when it
/// made the edit itself). kNotFound for an unknown queue. The edited queue.
Expected<QueueSpec> editQueueInStore(Storage& storage, const std::vector<QueueSpec>& configured,
                                     const Resources& capacity, const std::string& name,
                                     const JobQueueUpdate& update);

/// Parses one `--set` word, `key=value` (threads, memory, gpus, borrow_threads, borrow_memory,
/// borrow_gpus, max_running, ordering, strict_fifo; "none" clears a borrowing limit), into
/// `update`. kInvalidArgument naming the key.
Status parseQueueSetting(const std::string& word, JobQueueUpdate& update);

}  // namespace aimass::core::jobs
