// SPDX-License-Identifier: Apache-2.0
// Types of the job service routes (/api/v1/jobs, /api/v1/schedules, /api/v1/queues;
// docs/jobs.md), as sdk/include/aimass/util/job_json.h writes them, and the bodies of
// POST /api/v1/jobs, POST /api/v1/schedules and PUT /api/v1/queues/{name}.

import { AimassError } from "./errors.js";

/** A job's state: queued → running → succeeded | failed | cancelled (a preempted job is queued
 *  again). */
export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** Threads, memory (bytes) and GPUs: what a job asks for, or a queue's quota or use. */
export interface JobResources {
  threads: number;
  memory_bytes: number;
  gpus: number;
}

/** A piece of a job's log (jobLogFrom): its bytes, the byte offset they start at and the
 *  whole log's size when it was read. Bytes, not text: a chunk may end inside a UTF-8
 *  character, which a TextDecoder in stream mode joins with the next chunk. */
export interface JobLogChunk {
  bytes: Uint8Array;
  offset: number;
  size: number;
}

/** One job. Times are Unix milliseconds, null until the job gets there; `runs` are the ids of
 *  the runs (getRun) its attempts recorded; `worker_pid` is 0 when no worker runs it. */
export interface Job {
  id: number;
  state: JobState;
  queue: string;
  owner: string;
  priority: number;
  resources: JobResources;
  preemptible: boolean;
  config_name: string;
  reason: string;
  attempts: number;
  submitted_unix_ms: number | null;
  started_unix_ms: number | null;
  finished_unix_ms: number | null;
  cancel_requested: boolean;
  worker_pid: number;
  runs: number[];
  /** The schedule that submitted it; null for a job submitted directly. */
  schedule_id: number | null;
  /** Its MPI ranks (1 for a job of one process); `resources` are per rank. */
  ranks: number;
  /** The batch system's id of the job (Slurm's job id under launcher: slurm); "" when none. */
  external_id: string;
}

/** What a firing does while an earlier job of the schedule has not ended. */
export type Overlap = "skip" | "queue" | "replace";

/** A job submitted again at each time of a cron expression (UTC). Times are Unix ms. */
export interface JobSchedule {
  id: number;
  name: string;
  cron: string;
  overlap: Overlap;
  queue: string;
  owner: string;
  priority: number;
  resources: JobResources;
  preemptible: boolean;
  config_name: string;
  created_unix_ms: number | null;
  next_fire_unix_ms: number | null;
  last_fire_unix_ms: number | null;
  last_job: number | null;
  fires: number;
  skips: number;
  last_result: string;
}

/** The options of POST /api/v1/schedules beside the graph and the cron expression. */
export interface ScheduleOptions extends JobSubmission {
  overlap?: Overlap;
  name?: string;
}

/** The fields of PUT /api/v1/queues/{name}; each given replaces the queue's value, null
 *  removes a borrowing limit. */
export interface QueueUpdate {
  threads?: number;
  memory?: number | string;
  gpus?: number;
  borrow_threads?: number | null;
  borrow_memory?: number | string | null;
  borrow_gpus?: number | null;
  max_running?: number;
  ordering?: "fifo" | "fair_share";
  strict_fifo?: boolean;
}

/** One queue: its quota (`borrowing_limit` null when it may borrow all its cohort lends), and
 *  what it uses, waits for and runs now. */
export interface JobQueue {
  name: string;
  cohort: string;
  ordering: string;
  nominal: JobResources;
  borrowing_limit: JobResources | null;
  max_running: number;
  used: JobResources;
  waiting: number;
  running: number;
}

/** The query of GET /api/v1/jobs. */
export interface JobQuery {
  state?: JobState;
  queue?: string;
  owner?: string;
}

/** The options of POST /api/v1/jobs beside the graph's YAML text. */
export interface JobSubmission {
  /** The file name the graph's FILE:LINE:COL errors cite. */
  config_name?: string;
  queue?: string;
  priority?: number;
  threads?: number;
  /** Bytes, or a size such as "512MiB". */
  memory?: number | string;
  gpus?: number;
  /** MPI ranks (default 1): threads, memory and gpus are then per rank. A job of several ranks
   *  needs a graph with a collective.mpi node its job uses, else the server refuses it. */
  ranks?: number;
  preemptible?: boolean;
}

/** Whether the job has succeeded, failed or been cancelled. */
export function jobEnded(job: Pick<Job, "state">): boolean {
  return job.state === "succeeded" || job.state === "failed" || job.state === "cancelled";
}

const INTEGERS = ["priority", "threads", "gpus", "ranks"] as const;

/** The POST /api/v1/jobs body, its options checked (an AimassError with status null names a
 *  bad one; nothing is sent). */
export function jobRequest(config: string, options: JobSubmission = {}): Record<string, unknown> {
  if (typeof config !== "string") {
    throw new AimassError(null, `config must be the graph's YAML text, not ${typeof config}`);
  }
  const body: Record<string, unknown> = { config };
  for (const key of ["config_name", "queue"] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== "string") throw new AimassError(null, `${key} must be a string, not ${String(value)}`);
    body[key] = value;
  }
  for (const key of INTEGERS) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value)) {
      throw new AimassError(null, `${key} must be an integer, not ${String(value)}`);
    }
    body[key] = value;
  }
  const { memory, preemptible } = options;
  if (memory !== undefined) {
    if (typeof memory !== "string" && !Number.isSafeInteger(memory)) {
      throw new AimassError(null, `memory must be bytes (an integer) or a size such as '512MiB', not ${String(memory)}`);
    }
    body["memory"] = memory;
  }
  if (preemptible !== undefined) {
    if (typeof preemptible !== "boolean") {
      throw new AimassError(null, `preemptible must be a boolean, not ${String(preemptible)}`);
    }
    body["preemptible"] = preemptible;
  }
  return body;
}

/** The POST /api/v1/schedules body: the job's (as jobRequest) and `cron`, `overlap`, `name`. */
export function scheduleRequest(config: string, cron: string,
                                options: ScheduleOptions = {}): Record<string, unknown> {
  const { overlap, name, ...job } = options;
  const body = jobRequest(config, job);
  if (typeof cron !== "string") throw new AimassError(null, `cron must be a string, not ${String(cron)}`);
  body["cron"] = cron;
  if (overlap !== undefined) {
    if (overlap !== "skip" && overlap !== "queue" && overlap !== "replace") {
      throw new AimassError(null, `overlap must be skip, queue or replace, not ${String(overlap)}`);
    }
    body["overlap"] = overlap;
  }
  if (name !== undefined) body["name"] = String(name);
  return body;
}
