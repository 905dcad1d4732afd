// SPDX-License-Identifier: Apache-2.0
// The job calls against a real `aimass run` (AIMASS_EXECUTABLE) serving a service.jobs graph
// (SQLite store, queues short and long of one thread each) with frontend.http: a short training
// job that succeeds, a long one that runs until it is cancelled, a queued one cancelled at once,
// ranks sent, schedules, a queue edit, and the server's refusals (a bad graph's FILE:LINE:COL, an unknown queue or job, a job that has
// ended) as AimassError with their status and message.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";

import { Client, type Job, type JobState, jobEnded } from "@aimass/client";

import { rejection } from "./rejection.js";
import { AimassServer, HANG_LIMIT_MS } from "./servers.js";

const SERVICE = `nodes:
  store: {type: storage.sqlite, path: service.db}
  jobs:
    type: service.jobs
    storage: store
    threads: 2
    memory: 4GiB
    gpus: 0
    grace_period_ms: 5000
    poll_interval_ms: 50
    queues:
      short: {threads: 1, memory: 2GiB}
      long: {threads: 1, memory: 2GiB}
  web: {type: frontend.http, host: 127.0.0.1, port: 0}
`;

/** A job.train graph over pumps.csv recording its run in a store; a 256-unit MLP with single-row
 *  steps for a long one. */
function trainGraph(epochs: number, long = false): string {
  return "nodes:\n" +
      `  store: {type: storage.fs, path: ${long ? "long-store" : "short-store"}}\n` +
      "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n" +
      `  model: ${long ? "{type: model.mlp, hidden: [256]}" : "{type: model.softmax}"}\n` +
      "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n" +
      "  train: {type: job.train, model: model, dataset: pumps, optimizer: sgd, " +
      `epochs: ${epochs}, batch_size: 1, seed: 7, storage: store}\n`;
}

const SHORT = trainGraph(2);
const LONG = trainGraph(1000000, true);

describe("the job service of a live aimass", () => {
  let server: AimassServer;
  let client: Client;
  before(async () => {
    server = await AimassServer.start(SERVICE, "http", undefined, false);
    client = new Client(server.url);
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, server?.log.join(""));
  });

  async function waitFor(id: number, states: readonly JobState[]): Promise<Job> {
    const deadline = Date.now() + HANG_LIMIT_MS;
    for (;;) {
      const job = await client.getJob(id);
      if (states.includes(job.state) || Date.now() > deadline) return job;
      await sleep(50);
    }
  }

  async function waitForLog(id: number, text: string): Promise<string> {
    const deadline = Date.now() + HANG_LIMIT_MS;
    for (;;) {
      const log = await client.jobLog(id);
      if (log.includes(text) || Date.now() > deadline) return log;
      await sleep(50);
    }
  }

  test("a job runs to success, with its log, run and filters", async () => {
    const job = await client.submitJob(SHORT, {
      config_name: "short.yaml", queue: "short", priority: 3, threads: 1, memory: "512MiB",
      gpus: 0, preemptible: false,
    });
    assert.deepEqual([job.queue, job.owner, job.priority, job.config_name],
                     ["short", "anonymous", 3, "short.yaml"]);
    assert.deepEqual(job.resources, { threads: 1, memory_bytes: 512 * 1024 * 1024, gpus: 0 });
    assert.equal(job.preemptible, false);
    assert.equal(typeof job.submitted_unix_ms, "number");
    assert.deepEqual([job.ranks, job.external_id, job.schedule_id], [1, "", null]);
    const done = await waitFor(job.id, ["succeeded", "failed", "cancelled"]);
    assert.equal(done.state, "succeeded", done.reason);
    assert.ok(jobEnded(done));
    assert.equal(done.attempts, 1);
    assert.equal(done.runs.length, 1);
    assert.ok((done.finished_unix_ms ?? 0) >= (done.started_unix_ms ?? Infinity));
    const log = await client.jobLog(job.id);
    assert.ok(log.includes(`attempt 1 of job ${job.id}`), log);
    assert.ok(log.includes("job finished"), log);
    assert.equal(await client.jobLog(job.id, { bytes: 12 }), log.slice(-12));
    // Followed in pieces from offset 0, the log comes back whole, each piece where the last
    // ended; at the end an empty piece, past it a refusal.
    const whole = new TextEncoder().encode(log);
    const pieces: Uint8Array[] = [];
    for (let offset = 0; offset < whole.length;) {
      const chunk = await client.jobLogFrom(job.id, offset, { bytes: 100 });
      assert.equal(chunk.offset, offset);
      assert.equal(chunk.size, whole.length);
      assert.ok(chunk.bytes.length > 0 && chunk.bytes.length <= 100);
      pieces.push(chunk.bytes);
      offset += chunk.bytes.length;
    }
    assert.equal(Buffer.concat(pieces).toString("utf8"), log);
    const end = await client.jobLogFrom(job.id, whole.length);
    assert.deepEqual([end.bytes.length, end.offset, end.size], [0, whole.length, whole.length]);
    await assert.rejects(client.jobLogFrom(job.id, whole.length + 10), /past the end of the log/);
    await assert.rejects(client.jobLogFrom(job.id, -1), /offset must be a count/);

    assert.ok((await client.listJobs({ state: "succeeded" })).some((j) => j.id === job.id));
    assert.ok((await client.listJobs({ queue: "short" })).some((j) => j.id === job.id));
    assert.ok(!(await client.listJobs({ queue: "long" })).some((j) => j.id === job.id));
    assert.deepEqual(await client.listJobs({ owner: "nobody-else" }), []);
    const ended = await rejection(client.cancelJob(job.id));
    assert.equal(ended.status, 409);
    assert.ok(ended.message.includes("has already ended (succeeded)"), ended.message);
  });

  test("cancel stops a running job and a queued one", async () => {
    const running = await client.submitJob(LONG, { config_name: "long.yaml", queue: "long" });
    const queued = await client.submitJob(LONG, { config_name: "long.yaml", queue: "long" });
    const live = await waitFor(running.id, ["running"]);
    assert.equal(live.state, "running", live.reason);
    assert.ok((await waitForLog(running.id, "job started")).includes("job started"));
    assert.ok((await client.getJob(running.id)).worker_pid > 0);
    assert.equal((await client.getJob(queued.id)).state, "queued");
    assert.ok((await client.listJobs({ state: "running" })).some((j) => j.id === running.id));
    const long = (await client.listQueues()).find((q) => q.name === "long");
    assert.ok(long !== undefined);
    assert.deepEqual([long.running, long.waiting, long.used.threads], [1, 1, 1]);

    assert.equal((await client.cancelJob(queued.id)).state, "cancelled");
    const stopping = await client.cancelJob(running.id);
    assert.ok(stopping.cancel_requested || stopping.state === "cancelled");
    const ended = await waitFor(running.id, ["cancelled", "failed", "succeeded"]);
    assert.equal(ended.state, "cancelled");
    assert.ok(ended.reason.includes("cancelled while running"), ended.reason);
    assert.equal((await rejection(client.cancelJob(running.id))).status, 409);
  });

  test("queues carry their quotas", async () => {
    const queues = await client.listQueues();
    assert.deepEqual(queues.map((q) => q.name).sort(), ["long", "short"]);
    for (const queue of queues) {
      assert.deepEqual(queue.nominal, { threads: 1, memory_bytes: 2 * 1024 ** 3, gpus: 0 });
      assert.equal(typeof queue.ordering, "string");
      assert.equal(typeof queue.cohort, "string");
      assert.ok(queue.borrowing_limit === null || typeof queue.borrowing_limit.threads === "number");
    }
  });

  test("refusals carry the server's status and message", async () => {
    const bad = await rejection(client.submitJob("nodes:\n  oops: {type: model.sofmax}\n",
                                                 { config_name: "bad.yaml", queue: "short" }));
    assert.equal(bad.status, 400);
    assert.ok(bad.message.includes("bad.yaml:2:"), bad.message);
    assert.ok(bad.message.includes("model.sofmax"), bad.message);
    const queue = await rejection(client.submitJob(SHORT, { queue: "nope" }));
    assert.equal(queue.status, 404);
    assert.ok(queue.message.includes("no queue named 'nope'"), queue.message);
    const memory = await rejection(client.submitJob(SHORT, { queue: "short", memory: "lots" }));
    assert.equal(memory.status, 400);
    assert.ok(memory.message.includes("'lots' is not a memory size"), memory.message);
    for (const call of [() => client.getJob(999999), () => client.cancelJob(999999),
                        () => client.jobLog(999999)]) {
      assert.equal((await rejection(call())).status, 404);
    }
    // Checked before anything is sent.
    const local = await rejection(client.submitJob(SHORT, { threads: 1.5 }));
    assert.equal(local.status, null);
    assert.ok(local.message.includes("threads must be an integer"), local.message);
  });

  test("ranks are sent", async () => {
    const job = await client.submitJob(SHORT, { config_name: "ranks.yaml", queue: "short", ranks: 1 });
    assert.equal(job.ranks, 1);
    // Two ranks of a thread each are more than queue short could ever give, which the server can
    // only know when the client sent "ranks".
    const two = await rejection(client.submitJob(SHORT, { queue: "short", ranks: 2 }));
    assert.equal(two.status, 400);
    assert.ok(two.message.includes("(2 ranks) but queue 'short' can give at most"), two.message);
    const zero = await rejection(client.submitJob(SHORT, { queue: "short", ranks: 0 }));
    assert.equal(zero.status, 400);
    assert.ok(zero.message.includes("'ranks' must be a whole number of at least 1"), zero.message);
    await waitFor(job.id, ["succeeded", "failed", "cancelled"]);
  });

  test("schedules are created, shown, listed and deleted", async () => {
    const schedule = await client.createSchedule(SHORT, "15 4 * * mon-fri",
                                                 { overlap: "queue", name: "nightly", queue: "short" });
    assert.equal(schedule.cron, "15 4 * * mon-fri");
    assert.equal(schedule.overlap, "queue");
    assert.equal((schedule.next_fire_unix_ms ?? 0) % 86_400_000, (4 * 60 + 15) * 60_000);
    assert.equal(schedule.last_job, null);
    assert.equal((await client.getSchedule(schedule.id)).name, "nightly");
    assert.ok((await client.listSchedules()).some((s) => s.id === schedule.id));
    const bad = await rejection(client.createSchedule(SHORT, "15 4 * * mun", { queue: "short" }));
    assert.equal(bad.status, 400);
    assert.ok(bad.message.includes("cron field 'day-of-week' (column 10)"), bad.message);
    assert.equal((await client.deleteSchedule(schedule.id)).id, schedule.id);
    assert.equal((await rejection(client.getSchedule(schedule.id))).status, 404);
  });

  test("an admin edits a queue", async () => {
    const edited = await client.updateQueue("short", { max_running: 4 });
    assert.equal(edited.max_running, 4);
    assert.equal(edited.nominal.threads, 1);
    const bad = await rejection(client.updateQueue("short", { max_running: -1 }));
    assert.equal(bad.status, 400);
    assert.ok(bad.message.includes("'max_running'"), bad.message);
    await client.updateQueue("short", { max_running: 0 });
  });
});
