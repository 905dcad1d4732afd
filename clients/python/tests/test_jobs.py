# SPDX-License-Identifier: Apache-2.0
"""The job calls against a real `aimass run` (AIMASS_EXECUTABLE) serving a service.jobs graph
(SQLite store, queues short and long of one thread each) with frontend.http: a short training
job that succeeds, a long one that runs until it is cancelled, a queued one cancelled at once,
ranks sent, schedules created and deleted, a queue edited, and the server's refusals (a bad
graph's FILE:LINE:COL, an unknown queue or job, a job that has ended) as AimassError with their
status and message."""

from __future__ import annotations

import asyncio
import time
import unittest
from typing import Iterable, Optional

from aimass_client import AimassError, AsyncClient, Client, Job, JobQueue, JobSchedule

from .live_server import AimassServer

SERVICE = """nodes:
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
"""


def train_graph(epochs: int, long: bool = False) -> str:
    """A job.train graph over pumps.csv recording its run in a store; a 256-unit MLP with
    single-row steps for a long one."""
    model = "{type: model.mlp, hidden: [256]}" if long else "{type: model.softmax}"
    store = "long-store" if long else "short-store"
    return ("nodes:\n"
            f"  store: {{type: storage.fs, path: {store}}}\n"
            "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
            f"  model: {model}\n"
            "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
            f"  train: {{type: job.train, model: model, dataset: pumps, optimizer: sgd, "
            f"epochs: {epochs}, batch_size: 1, seed: 7, storage: store}}\n")


SHORT = train_graph(2)
LONG = train_graph(1000000, long=True)
SERVER: Optional[AimassServer] = None
HANG_LIMIT_S = 120.0  # not a speed check: only so a broken build fails instead of hanging


def setUpModule() -> None:
    global SERVER
    SERVER = AimassServer(SERVICE, train=False)


def tearDownModule() -> None:
    assert SERVER is not None
    code = SERVER.stop()
    assert code == 0, f"aimass exited {code}: {''.join(SERVER.log)}"


def wait_for(client: Client, job_id: int, states: Iterable[str]) -> Job:
    wanted = set(states)
    deadline = time.monotonic() + HANG_LIMIT_S
    while True:
        job = client.get_job(job_id)
        if job.state in wanted or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def wait_for_log(client: Client, job_id: int, text: str) -> str:
    deadline = time.monotonic() + HANG_LIMIT_S
    while True:
        log = client.job_log(job_id)
        if text in log or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


class Jobs(unittest.TestCase):
    def setUp(self) -> None:
        assert SERVER is not None
        self.client = Client(SERVER.url)

    def tearDown(self) -> None:
        self.client.close()

    def test_a_job_runs_to_success_with_its_log_and_run(self) -> None:
        job = self.client.submit_job(SHORT, config_name="short.yaml", queue="short",
                                     priority=3, threads=1, memory="512MiB", gpus=0,
                                     preemptible=False)
        self.assertIsInstance(job, Job)
        self.assertEqual((job.queue, job.owner, job.priority, job.config_name),
                         ("short", "anonymous", 3, "short.yaml"))
        self.assertEqual((job.resources.threads, job.resources.memory_bytes, job.resources.gpus),
                         (1, 512 << 20, 0))
        self.assertFalse(job.preemptible)
        self.assertIsNotNone(job.submitted_unix_ms)
        self.assertEqual((job.ranks, job.external_id, job.schedule_id), (1, "", None))
        done = wait_for(self.client, job.id, ["succeeded", "failed", "cancelled"])
        self.assertEqual(done.state, "succeeded", done.reason)
        self.assertTrue(done.ended)
        self.assertEqual(done.attempts, 1)
        self.assertEqual(len(done.runs), 1)
        self.assertIsNotNone(done.started_unix_ms)
        self.assertGreaterEqual(done.finished_unix_ms or 0, done.started_unix_ms or 0)
        log = self.client.job_log(job.id)
        self.assertIn(f"attempt 1 of job {job.id}", log)
        self.assertIn("job finished", log)
        self.assertEqual(self.client.job_log(job.id, bytes=12), log[-12:])

        self.assertIn(job.id, [j.id for j in self.client.list_jobs(state="succeeded")])
        self.assertIn(job.id, [j.id for j in self.client.list_jobs(queue="short")])
        self.assertNotIn(job.id, [j.id for j in self.client.list_jobs(queue="long")])
        self.assertEqual(self.client.list_jobs(owner="nobody-else"), [])
        with self.assertRaises(AimassError) as ended:
            self.client.cancel_job(job.id)
        self.assertEqual(ended.exception.status, 409)
        self.assertIn("has already ended (succeeded)", ended.exception.message)

    def test_cancel_stops_a_running_job_and_a_queued_one(self) -> None:
        running = self.client.submit_job(LONG, config_name="long.yaml", queue="long")
        queued = self.client.submit_job(LONG, config_name="long.yaml", queue="long")
        live = wait_for(self.client, running.id, ["running"])
        self.assertEqual(live.state, "running", live.reason)
        self.assertIn("job started", wait_for_log(self.client, running.id, "job started"))
        self.assertGreater(self.client.get_job(running.id).worker_pid, 0)
        self.assertEqual(self.client.get_job(queued.id).state, "queued")
        self.assertIn(running.id, [j.id for j in self.client.list_jobs(state="running")])
        queues = {q.name: q for q in self.client.list_queues()}
        self.assertEqual((queues["long"].running, queues["long"].waiting), (1, 1))
        self.assertEqual(queues["long"].used.threads, 1)

        cancelled = self.client.cancel_job(queued.id)
        self.assertEqual(cancelled.state, "cancelled")
        stopping = self.client.cancel_job(running.id)
        self.assertTrue(stopping.cancel_requested or stopping.state == "cancelled")
        ended = wait_for(self.client, running.id, ["cancelled", "failed", "succeeded"])
        self.assertEqual(ended.state, "cancelled")
        self.assertIn("cancelled while running", ended.reason)
        with self.assertRaises(AimassError) as again:
            self.client.cancel_job(running.id)
        self.assertEqual(again.exception.status, 409)

    def test_queues_are_typed_with_their_quotas(self) -> None:
        queues = self.client.list_queues()
        self.assertEqual(sorted(q.name for q in queues), ["long", "short"])
        for queue in queues:
            self.assertIsInstance(queue, JobQueue)
            self.assertEqual(queue.nominal.threads, 1)
            self.assertEqual(queue.nominal.memory_bytes, 2 << 30)
            self.assertEqual(queue.nominal.gpus, 0)
            self.assertIsInstance(queue.ordering, str)
            self.assertGreaterEqual(queue.max_running, 0)

    def test_refusals_carry_the_server_status_and_message(self) -> None:
        with self.assertRaises(AimassError) as bad:
            self.client.submit_job("nodes:\n  oops: {type: model.sofmax}\n",
                                   config_name="bad.yaml", queue="short")
        self.assertEqual(bad.exception.status, 400)
        self.assertIn("bad.yaml:2:", bad.exception.message)
        self.assertIn("model.sofmax", bad.exception.message)
        with self.assertRaises(AimassError) as queue:
            self.client.submit_job(SHORT, queue="nope")
        self.assertEqual(queue.exception.status, 404)
        self.assertIn("no queue named 'nope'", queue.exception.message)
        with self.assertRaises(AimassError) as memory:
            self.client.submit_job(SHORT, queue="short", memory="lots")
        self.assertEqual(memory.exception.status, 400)
        self.assertIn("'lots' is not a memory size", memory.exception.message)
        for call in (self.client.get_job, self.client.cancel_job, self.client.job_log):
            with self.assertRaises(AimassError) as missing:
                call(999999)
            self.assertEqual(missing.exception.status, 404)
        # Checked before anything is sent.
        with self.assertRaises(AimassError) as local:
            self.client.submit_job(SHORT, threads="2")  # type: ignore[arg-type]
        self.assertIsNone(local.exception.status)
        self.assertIn("threads must be an integer, not '2'", local.exception.message)

    def test_ranks_are_sent(self) -> None:
        job = self.client.submit_job(SHORT, config_name="ranks.yaml", queue="short", ranks=1)
        self.assertEqual(job.ranks, 1)
        # Two ranks of a thread each are more than queue short could ever give, which the
        # server can only know when the client sent "ranks".
        with self.assertRaises(AimassError) as two:
            self.client.submit_job(SHORT, queue="short", ranks=2)
        self.assertEqual(two.exception.status, 400)
        self.assertIn("(2 ranks) but queue 'short' can give at most", two.exception.message)
        with self.assertRaises(AimassError) as zero:
            self.client.submit_job(SHORT, queue="short", ranks=0)
        self.assertEqual(zero.exception.status, 400)
        self.assertIn("'ranks' must be a whole number of at least 1", zero.exception.message)
        with self.assertRaises(AimassError) as local:
            self.client.submit_job(SHORT, ranks="2")  # type: ignore[arg-type]
        self.assertIsNone(local.exception.status)
        self.assertIn("ranks must be an integer", local.exception.message)
        wait_for(self.client, job.id, ["succeeded", "failed", "cancelled"])

    def test_schedules_are_created_shown_listed_and_deleted(self) -> None:
        schedule = self.client.create_schedule(SHORT, "15 4 * * mon-fri", overlap="queue",
                                               name="nightly", config_name="nightly.yaml",
                                               queue="short")
        self.assertIsInstance(schedule, JobSchedule)
        self.assertEqual((schedule.cron, schedule.overlap, schedule.name, schedule.owner),
                         ("15 4 * * mon-fri", "queue", "nightly", "anonymous"))
        self.assertEqual((schedule.next_fire_unix_ms or 0) % 86_400_000, (4 * 60 + 15) * 60_000)
        self.assertIsNone(schedule.last_fire_unix_ms)
        self.assertIsNone(schedule.last_job)
        self.assertEqual(self.client.get_schedule(schedule.id).cron, "15 4 * * mon-fri")
        self.assertIn(schedule.id, [s.id for s in self.client.list_schedules()])
        with self.assertRaises(AimassError) as bad:
            self.client.create_schedule(SHORT, "15 4 * * mun", queue="short")
        self.assertEqual(bad.exception.status, 400)
        self.assertIn("cron field 'day-of-week' (column 10)", bad.exception.message)
        with self.assertRaises(AimassError) as local:
            self.client.create_schedule(SHORT, "@daily", overlap="sometimes")
        self.assertIsNone(local.exception.status)
        self.assertEqual(self.client.delete_schedule(schedule.id).id, schedule.id)
        with self.assertRaises(AimassError) as gone:
            self.client.get_schedule(schedule.id)
        self.assertEqual(gone.exception.status, 404)

    def test_an_admin_edits_a_queue(self) -> None:
        edited = self.client.update_queue("short", max_running=4, ordering="fair_share")
        self.assertEqual((edited.name, edited.max_running, edited.ordering),
                         ("short", 4, "fair_share"))
        self.assertEqual(edited.nominal.threads, 1)
        with self.assertRaises(AimassError) as bad:
            self.client.update_queue("short", max_running=-1)
        self.assertEqual(bad.exception.status, 400)
        self.assertIn("'max_running'", bad.exception.message)
        with self.assertRaises(AimassError) as missing:
            self.client.update_queue("nope", threads=1)
        self.assertEqual(missing.exception.status, 404)
        self.client.update_queue("short", max_running=0, ordering="fifo")

    def test_async_client_has_the_same_calls(self) -> None:
        assert SERVER is not None

        async def scenario() -> int:
            async with AsyncClient(SERVER.url) as client:
                job = await client.submit_job(SHORT, config_name="async.yaml", queue="short",
                                              memory=256 << 20)
                self.assertEqual(job.resources.memory_bytes, 256 << 20)
                shown = await client.get_job(job.id)
                self.assertEqual(shown.id, job.id)
                jobs, queues = await asyncio.gather(client.list_jobs(queue="short"),
                                                    client.list_queues())
                self.assertIn(job.id, [j.id for j in jobs])
                self.assertEqual(len(queues), 2)
                self.assertIsInstance(await client.job_log(job.id, bytes=100), str)
                with self.assertRaises(AimassError) as missing:
                    await client.cancel_job(999999)
                self.assertEqual(missing.exception.status, 404)
                return job.id

        job_id = asyncio.run(scenario())
        self.assertEqual(wait_for(self.client, job_id, ["succeeded", "failed", "cancelled"]).state,
                         "succeeded")


if __name__ == "__main__":
    unittest.main()
