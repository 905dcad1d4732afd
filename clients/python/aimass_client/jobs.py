# SPDX-License-Identifier: Apache-2.0
"""Typed results of the job service routes (/api/v1/jobs, /api/v1/schedules, /api/v1/queues;
docs/jobs.md).

The JSON is what sdk/include/aimass/util/job_json.h writes; each type keeps the whole decoded
answer in ``raw`` for members added later. ``job_request`` builds a POST /api/v1/jobs body,
``queue_update`` a PUT /api/v1/queues/{name} body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from .errors import AimassError

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
ENDED_STATES = frozenset({"succeeded", "failed", "cancelled"})


def _time(value: Any) -> Optional[int]:
    return None if value is None else int(value)


@dataclass
class JobResources:
    """Threads, memory (bytes) and GPUs: what a job asks for, or a queue's quota or use."""

    threads: int
    memory_bytes: int
    gpus: int

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "JobResources":
        return cls(int(d["threads"]), int(d["memory_bytes"]), int(d["gpus"]))


@dataclass
class Job:
    """One job. Times are Unix milliseconds, ``None`` until the job gets there; ``runs`` are
    the ids of the runs (GET /api/v1/runs/{id}) its attempts recorded."""

    id: int
    state: str
    queue: str
    owner: str
    priority: int
    resources: JobResources
    preemptible: bool
    config_name: str
    reason: str
    attempts: int
    submitted_unix_ms: Optional[int]
    started_unix_ms: Optional[int]
    finished_unix_ms: Optional[int]
    cancel_requested: bool
    worker_pid: int
    runs: List[int]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)
    schedule_id: Optional[int] = None  # the schedule that submitted it, if any
    ranks: int = 1  # its MPI ranks; ``resources`` are per rank
    external_id: str = ""  # the batch system's id (Slurm's job id); "" when none

    @property
    def ended(self) -> bool:
        """Whether the job has succeeded, failed or been cancelled."""
        return self.state in ENDED_STATES

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "Job":
        return cls(int(d["id"]), d["state"], d["queue"], d["owner"], int(d["priority"]),
                   JobResources.of(d["resources"]), bool(d["preemptible"]), d["config_name"],
                   d["reason"], int(d["attempts"]), _time(d.get("submitted_unix_ms")),
                   _time(d.get("started_unix_ms")), _time(d.get("finished_unix_ms")),
                   bool(d["cancel_requested"]), int(d["worker_pid"]),
                   [int(r) for r in d.get("runs", [])], d, _time(d.get("schedule_id")),
                   int(d.get("ranks", 1)), d.get("external_id") or "")


@dataclass
class JobSchedule:
    """A job submitted again at each time of a cron expression (UTC). ``overlap`` is skip,
    queue or replace; times are Unix milliseconds (``None`` before the first firing)."""

    id: int
    name: str
    cron: str
    overlap: str
    queue: str
    owner: str
    priority: int
    resources: JobResources
    preemptible: bool
    config_name: str
    created_unix_ms: Optional[int]
    next_fire_unix_ms: Optional[int]
    last_fire_unix_ms: Optional[int]
    last_job: Optional[int]
    fires: int
    skips: int
    last_result: str
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "JobSchedule":
        return cls(int(d["id"]), d["name"], d["cron"], d["overlap"], d["queue"], d["owner"],
                   int(d["priority"]), JobResources.of(d["resources"]), bool(d["preemptible"]),
                   d["config_name"], _time(d.get("created_unix_ms")),
                   _time(d.get("next_fire_unix_ms")), _time(d.get("last_fire_unix_ms")),
                   _time(d.get("last_job")), int(d["fires"]), int(d["skips"]),
                   d["last_result"], d)


@dataclass
class JobQueue:
    """One queue: its quota (``nominal``, with ``borrowing_limit`` ``None`` when it may borrow
    all its cohort lends), and what it uses, waits for and runs now."""

    name: str
    cohort: str
    ordering: str
    nominal: JobResources
    borrowing_limit: Optional[JobResources]
    max_running: int
    used: JobResources
    waiting: int
    running: int
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "JobQueue":
        limit = d.get("borrowing_limit")
        return cls(d["name"], d["cohort"], d["ordering"], JobResources.of(d["nominal"]),
                   None if limit is None else JobResources.of(limit), int(d["max_running"]),
                   JobResources.of(d["used"]), int(d["waiting"]), int(d["running"]), d)


def job_request(config: str, *, config_name: Optional[str] = None, queue: Optional[str] = None,
                priority: Optional[int] = None, threads: Optional[int] = None,
                memory: Optional[Union[int, str]] = None, gpus: Optional[int] = None,
                ranks: Optional[int] = None,
                preemptible: Optional[bool] = None) -> Dict[str, Any]:
    """The POST /api/v1/jobs body: ``config`` (the graph's YAML text) and the options given.
    ``memory`` is bytes (an int) or a size such as ``"512MiB"``; with ``ranks`` (MPI ranks,
    default 1) threads, memory and gpus are per rank."""
    if not isinstance(config, str):
        raise AimassError(None, f"config must be the graph's YAML text, not {type(config).__name__}")
    body: Dict[str, Any] = {"config": config}
    for name, value, kind in (("config_name", config_name, str), ("queue", queue, str),
                              ("priority", priority, int), ("threads", threads, int),
                              ("gpus", gpus, int), ("ranks", ranks, int),
                              ("preemptible", preemptible, bool)):
        if value is None:
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            what = {str: "a string", int: "an integer", bool: "a boolean"}[kind]
            raise AimassError(None, f"{name} must be {what}, not {value!r}")
        body[name] = value
    if memory is not None:
        if isinstance(memory, bool) or not isinstance(memory, (int, str)):
            raise AimassError(None, f"memory must be bytes (int) or a size such as '512MiB', "
                              f"not {memory!r}")
        body["memory"] = memory
    return body


OVERLAPS = ("skip", "queue", "replace")
_QUEUE_FIELDS = {"threads": int, "memory": (int, str), "gpus": int, "borrow_threads": int,
                 "borrow_memory": (int, str), "borrow_gpus": int, "max_running": int,
                 "ordering": str, "strict_fifo": bool}
_UNSET = object()


def queue_update(**fields: Any) -> Dict[str, Any]:
    """The PUT /api/v1/queues/{name} body: any of threads, memory (bytes or "16GiB"), gpus,
    borrow_threads, borrow_memory, borrow_gpus (``None`` removes that limit), max_running,
    ordering ("fifo" or "fair_share") and strict_fifo."""
    body: Dict[str, Any] = {}
    for name, value in fields.items():
        kind = _QUEUE_FIELDS.get(name)
        if kind is None:
            raise AimassError(None, f"unknown queue field {name!r} "
                              f"({', '.join(_QUEUE_FIELDS)})")
        if value is None and name.startswith("borrow_"):
            body[name] = None
            continue
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            raise AimassError(None, f"{name} must be {kind}, not {value!r}")
        body[name] = value
    if not body:
        raise AimassError(None, "queue_update needs at least one field")
    return body
