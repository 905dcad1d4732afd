// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "aimass/job_service.h"
#include "api_routes.h"

namespace aimass::plugins::frontend {

/// The job service (Host::jobs(); docs/jobs.md) as routes under /api/v1:
///
///   GET    /api/v1/jobs                 jobs list --json; query state, queue, owner    reader
///   POST   /api/v1/jobs                 body {"config": YAML, "queue", ...}: 201       operator
///   GET    /api/v1/jobs/{id}            jobs show ID --json                            reader
///   POST   /api/v1/jobs/{id}/cancel     its owner or an admin                          operator
///   GET    /api/v1/jobs/{id}/log        text; query bytes                              reader
///   GET    /api/v1/schedules            jobs schedule list --json                      reader
///   POST   /api/v1/schedules            a job's body plus "cron", "overlap", "name": 201 operator
///   GET    /api/v1/schedules/{id}       jobs schedule show ID --json                   reader
///   DELETE /api/v1/schedules/{id}       its owner or an admin                          operator
///   GET    /api/v1/queues               the queues, their quota and use                reader
///   PUT    /api/v1/queues/{name}        body {"threads", "memory", ...}: edit          admin
///
/// A graph that does not validate is a 400 with its FILE:LINE:COL errors, and so is a job
/// asking for more than its queue could ever give and a bad cron expression (naming field and
/// column). Lifetime: the handlers keep `jobs`, which outlives the frontend.
void addJobRoutes(JobService* jobs, RouteList& routes);

}  // namespace aimass::plugins::frontend
