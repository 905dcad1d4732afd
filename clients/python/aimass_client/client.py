# SPDX-License-Identifier: Apache-2.0
"""The synchronous client: OIP v2 inference, the /api/v1 registry and the job service over one
connection.

Threading: a ``Client`` is not thread-safe (one keep-alive connection, one request at a time);
use one per thread, or ``AsyncClient``. Errors: every failure raises ``AimassError``.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import tensors
from .errors import AimassError
from .jobs import OVERLAPS, Job, JobQueue, JobSchedule, job_request, queue_update
from .tensors import Tensor
from .transport import Response, RetryPolicy, Transport, quote, split_body
from .types import (DatasetSummary, InferResult, MetricHistory, ModelAlias, ModelSummary,
                    ModelVersion, RegisteredDataset, RegisteredModel, Run, RunList)

_NO_RETRY = RetryPolicy(retries=0)

Inputs = Union[Mapping[str, Any], Sequence[Tensor]]


def _model_path(model: str, version: Optional[Union[int, str]]) -> str:
    path = f"/v2/models/{quote(model)}"
    return path if version is None else f"{path}/versions/{quote(str(version))}"


class Client:
    """A client of one aimass server (``base_url`` such as ``http://127.0.0.1:8080``).

    Auth: ``api_key`` (sent as X-API-Key) or ``token`` (a JWT, sent as Bearer). TLS: an
    ``https://`` URL, ``ca_file`` to trust a private CA, ``cert_file``/``key_file`` for a client
    certificate. ``timeout`` (seconds) bounds each call; ``retry`` says which answers are retried
    (by default 503 to GET, 3 times with exponential backoff). ``use_numpy`` (default: when numpy
    is importable) returns numeric outputs as numpy arrays.
    """

    def __init__(self, base_url: str, *, api_key: Optional[str] = None,
                 token: Optional[str] = None, timeout: float = 30.0,
                 ca_file: Optional[str] = None, cert_file: Optional[str] = None,
                 key_file: Optional[str] = None, verify: bool = True,
                 retry: Optional[RetryPolicy] = None, use_numpy: Optional[bool] = None) -> None:
        self._transport = Transport(base_url, api_key=api_key, token=token, timeout=timeout,
                                    ca_file=ca_file, cert_file=cert_file, key_file=key_file,
                                    verify=verify, retry=retry)
        if use_numpy and not tensors.HAVE_NUMPY:
            raise AimassError(None, "use_numpy=True but numpy is not available")
        self.use_numpy = tensors.HAVE_NUMPY if use_numpy is None else use_numpy
        self._input_types: Dict[str, Dict[str, str]] = {}

    def close(self) -> None:
        """Closes the connection."""
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- OIP v2: health and metadata -------------------------------------------------------

    def _ok(self, path: str) -> bool:
        """True on 200, False on 404 or 5xx (not ready: never retried, a probe reports the state
        it finds); any other failure (no answer, 401, 403) raises."""
        try:
            self._transport.request("GET", path, retry=_NO_RETRY)
            return True
        except AimassError as error:
            if error.status is not None and (error.status == 404 or error.status >= 500):
                return False
            raise

    def live(self) -> bool:
        """Whether the server is live (GET /v2/health/live)."""
        return self._ok("/v2/health/live")

    def ready(self) -> bool:
        """Whether every served model is ready (GET /v2/health/ready)."""
        return self._ok("/v2/health/ready")

    def model_ready(self, model: str, version: Optional[Union[int, str]] = None) -> bool:
        """Whether ``model`` (version) is ready; False for an unknown one."""
        return self._ok(_model_path(model, version) + "/ready")

    def server_metadata(self) -> Dict[str, Any]:
        """GET /v2: name, version, extensions."""
        return self._transport.json("GET", "/v2")

    def model_metadata(self, model: str,
                       version: Optional[Union[int, str]] = None) -> Dict[str, Any]:
        """GET /v2/models/{model}: name, versions, platform, inputs, outputs."""
        return self._transport.json("GET", _model_path(model, version))

    # ---- OIP v2: inference -----------------------------------------------------------------

    def _tensors_of(self, model: str, version: Optional[Union[int, str]],
                    inputs: Inputs) -> List[Tensor]:
        if not isinstance(inputs, Mapping):
            return list(inputs)
        key = f"{model}/{version}"
        if key not in self._input_types:
            meta = self.model_metadata(model, version)
            self._input_types[key] = {i["name"]: i["datatype"] for i in meta.get("inputs", [])}
        types = self._input_types[key]
        return [Tensor(name, data, types.get(name)) for name, data in inputs.items()]

    def build_request(self, inputs: Sequence[Tensor], *, outputs: Optional[Sequence[str]] = None,
                      request_id: Optional[str] = None,
                      parameters: Optional[Mapping[str, Any]] = None,
                      binary: bool = True) -> Tuple[bytes, Dict[str, str]]:
        """(body bytes, extra headers) of an infer request; binary for numeric tensors when
        ``binary`` (with the answer's outputs binary too), else plain JSON."""
        header: Dict[str, Any] = {}
        if request_id is not None:
            header["id"] = str(request_id)
        entries = []
        tail = []
        for tensor in inputs:
            entry, raw = tensors.encode_input(tensor, binary)
            entries.append(entry)
            tail.append(raw)
        header["inputs"] = entries
        if outputs is not None:
            header["outputs"] = [{"name": n, "parameters": {"binary_data": binary}}
                                 for n in outputs]
        params = dict(parameters or {})
        if binary and outputs is None:
            params["binary_data_output"] = True
        if params:
            header["parameters"] = params
        try:
            head = json.dumps(header, allow_nan=False).encode("utf-8")
        except ValueError as error:
            raise AimassError(None, "an input holds an infinite value, which JSON cannot carry: "
                              "send it with binary=True") from error
        extra = b"".join(tail)
        if not extra:
            return head, {"Content-Type": "application/json"}
        return head + extra, {"Inference-Header-Content-Length": str(len(head)),
                              "Content-Type": "application/octet-stream"}

    def parse_response(self, response: Response) -> InferResult:
        """The InferResult of an infer answer (JSON or binary)."""
        header, tail = split_body(response)
        if not isinstance(header, dict):
            raise AimassError(response.status, "the answer is not a JSON object")
        return InferResult(header.get("model_name", ""), str(header.get("model_version", "")),
                           header.get("id"),
                           tensors.decode_outputs(header, tail, self.use_numpy),
                           dict(header.get("parameters") or {}))

    def infer(self, model: str, inputs: Inputs, *, version: Optional[Union[int, str]] = None,
              outputs: Optional[Sequence[str]] = None, request_id: Optional[str] = None,
              parameters: Optional[Mapping[str, Any]] = None, binary: bool = True,
              timeout: Optional[float] = None) -> InferResult:
        """POST /v2/models/{model}[/versions/{v}]/infer.

        ``inputs``: ``{name: data}`` (datatypes from the model's metadata, fetched once) or a
        list of ``Tensor``. ``outputs`` picks outputs and their order; ``request_id`` is echoed
        as the answer's ``id``; ``parameters`` reach the model (``top_k``...). ``binary``
        (default) sends numeric tensors with the binary data extension and asks for binary
        outputs; ``binary=False`` is plain JSON both ways. Infer is never retried on 503.
        """
        tensors_in = self._tensors_of(model, version, inputs)
        body, headers = self.build_request(tensors_in, outputs=outputs, request_id=request_id,
                                           parameters=parameters, binary=binary)
        response = self._transport.request("POST", _model_path(model, version) + "/infer", body,
                                           headers, timeout)
        return self.parse_response(response)

    # ---- /api/v1: registry, datasets, runs -------------------------------------------------

    def list_models(self) -> List[ModelSummary]:
        return [ModelSummary.of(m) for m in self._transport.json("GET", "/api/v1/models")]

    def get_model(self, model: str) -> RegisteredModel:
        return RegisteredModel.of(self._transport.json("GET", f"/api/v1/models/{quote(model)}"))

    def get_model_version(self, model: str, version: int) -> ModelVersion:
        return ModelVersion.of(self._transport.json(
            "GET", f"/api/v1/models/{quote(model)}/versions/{int(version)}"))

    def promote(self, model: str, alias: str, version: int) -> ModelAlias:
        """Points ``alias`` at ``version`` (POST .../aliases/{alias})."""
        return ModelAlias.of(self._transport.json(
            "POST", f"/api/v1/models/{quote(model)}/aliases/{quote(alias)}",
            {"version": int(version)}))

    def rollback(self, model: str, alias: str) -> ModelAlias:
        """Moves ``alias`` back to its previous version (409 when it has none)."""
        return ModelAlias.of(self._transport.json(
            "POST", f"/api/v1/models/{quote(model)}/aliases/{quote(alias)}/rollback", {}))

    def set_tags(self, model: str, version: int, tags: Mapping[str, str]) -> ModelVersion:
        """Replaces the version's whole tag set (PUT .../tags)."""
        return ModelVersion.of(self._transport.json(
            "PUT", f"/api/v1/models/{quote(model)}/versions/{int(version)}/tags", dict(tags)))

    def tag(self, model: str, version: int, set: Optional[Mapping[str, str]] = None,
            remove: Optional[Sequence[str]] = None) -> ModelVersion:
        """Sets and removes tags in one atomic change (PATCH .../tags)."""
        return ModelVersion.of(self._transport.json(
            "PATCH", f"/api/v1/models/{quote(model)}/versions/{int(version)}/tags",
            {"set": dict(set or {}), "remove": list(remove or [])}))

    def list_datasets(self) -> List[DatasetSummary]:
        return [DatasetSummary.of(d) for d in self._transport.json("GET", "/api/v1/datasets")]

    def get_dataset(self, name: str) -> RegisteredDataset:
        return RegisteredDataset.of(self._transport.json("GET", f"/api/v1/datasets/{quote(name)}"))

    def list_runs(self, *, experiment: Optional[str] = None, filter: Optional[str] = None,
                  status: Optional[str] = None, sort: Optional[str] = None, desc: bool = False,
                  limit: Optional[int] = None, offset: Optional[int] = None) -> RunList:
        """GET /api/v1/runs with its query (``filter`` such as ``val_accuracy>0.8``; ``offset``
        skips that many matching runs: a table's page)."""
        query = {k: v for k, v in (("experiment", experiment), ("filter", filter),
                                   ("status", status), ("sort", sort)) if v is not None}
        if desc:
            query["desc"] = "true"
        if limit is not None:
            query["limit"] = str(int(limit))
        if offset is not None:
            query["offset"] = str(int(offset))
        path = "/api/v1/runs" + ("?" + urllib.parse.urlencode(query) if query else "")
        return RunList.of(self._transport.json("GET", path))

    def get_run(self, run_id: int) -> Run:
        return Run.of(self._transport.json("GET", f"/api/v1/runs/{int(run_id)}"))

    def get_run_metric(self, run_id: int, metric: str, *, after_step: Optional[int] = None,
                       limit: Optional[int] = None) -> MetricHistory:
        """GET /api/v1/runs/{id}/metrics/{name}: the metric's values by step, those after
        ``after_step`` only when given, about ``limit`` of them (a page ends with a whole step;
        the server's default is 10,000)."""
        query = {}
        if after_step is not None:
            query["after_step"] = str(int(after_step))
        if limit is not None:
            query["limit"] = str(int(limit))
        path = (f"/api/v1/runs/{int(run_id)}/metrics/{quote(metric)}" +
                ("?" + urllib.parse.urlencode(query) if query else ""))
        return MetricHistory.of(self._transport.json("GET", path))

    # ---- /api/v1: the job service (service.jobs, docs/jobs.md) -----------------------------

    def list_jobs(self, *, state: Optional[str] = None, queue: Optional[str] = None,
                  owner: Optional[str] = None) -> List[Job]:
        """GET /api/v1/jobs, filtered by ``state`` (queued, running, succeeded, failed,
        cancelled), ``queue`` and ``owner``."""
        query = {k: v for k, v in (("state", state), ("queue", queue), ("owner", owner))
                 if v is not None}
        path = "/api/v1/jobs" + ("?" + urllib.parse.urlencode(query) if query else "")
        return [Job.of(j) for j in self._transport.json("GET", path)["jobs"]]

    def submit_job(self, config: str, *, config_name: Optional[str] = None,
                   queue: Optional[str] = None, priority: Optional[int] = None,
                   threads: Optional[int] = None, memory: Optional[Union[int, str]] = None,
                   gpus: Optional[int] = None, ranks: Optional[int] = None,
                   preemptible: Optional[bool] = None) -> Job:
        """POST /api/v1/jobs: queues the graph ``config`` (its YAML text; ``config_name`` is the
        file name its errors cite) and returns the queued job. A bad graph is a 400 whose
        message holds its FILE:LINE:COL errors; an unknown queue a 404. ``ranks`` (MPI ranks,
        default 1) makes threads, memory and gpus per rank; a job of several ranks needs a graph
        with a collective.mpi node its job uses (docs/jobs.md). Never retried."""
        body = job_request(config, config_name=config_name, queue=queue, priority=priority,
                           threads=threads, memory=memory, gpus=gpus, ranks=ranks,
                           preemptible=preemptible)
        return Job.of(self._transport.json("POST", "/api/v1/jobs", body))

    def get_job(self, job_id: int) -> Job:
        """GET /api/v1/jobs/{id} (404 for an unknown job)."""
        return Job.of(self._transport.json("GET", f"/api/v1/jobs/{int(job_id)}"))

    def cancel_job(self, job_id: int) -> Job:
        """POST /api/v1/jobs/{id}/cancel: a queued job is cancelled at once, a running one is
        asked to stop (the job returned may still be running). 409 for a job that has ended."""
        return Job.of(self._transport.json("POST", f"/api/v1/jobs/{int(job_id)}/cancel", {}))

    def job_log(self, job_id: int, *, bytes: Optional[int] = None) -> str:
        """GET /api/v1/jobs/{id}/log: the end of the job's log (its last ``bytes`` bytes; the
        server's default is 65536)."""
        path = f"/api/v1/jobs/{int(job_id)}/log"
        if bytes is not None:
            path += f"?bytes={int(bytes)}"
        response = self._transport.request("GET", path, headers={"Accept": "text/plain"})
        return response.body.decode("utf-8", errors="replace")

    def list_queues(self) -> List[JobQueue]:
        """GET /api/v1/queues: each queue's quota, use, waiting and running jobs."""
        return [JobQueue.of(q) for q in self._transport.json("GET", "/api/v1/queues")["queues"]]

    def update_queue(self, name: str, **fields: Any) -> JobQueue:
        """PUT /api/v1/queues/{name} (admins only, 403 otherwise): edits the queue while the
        service runs (``queue_update``'s fields); the edit is kept in the service's store. A
        bad value is a 400 naming the field. Never retried."""
        body = queue_update(**fields)
        path = "/api/v1/queues/" + urllib.parse.quote(name, safe="")
        return JobQueue.of(self._transport.json("PUT", path, body))

    def create_schedule(self, config: str, cron: str, *, overlap: str = "skip",
                        name: Optional[str] = None, **job_options: Any) -> JobSchedule:
        """POST /api/v1/schedules: submits the graph ``config`` as a job at each time of the
        cron expression ``cron`` (UTC). ``overlap`` (skip, queue or replace) says what a firing
        does while an earlier job of the schedule has not ended; ``job_options`` are
        ``submit_job``'s. A bad expression is a 400 naming the field and column. Never
        retried."""
        if overlap not in OVERLAPS:
            raise AimassError(None, f"overlap must be one of {', '.join(OVERLAPS)}, not {overlap!r}")
        if not isinstance(cron, str):
            raise AimassError(None, f"cron must be a string, not {cron!r}")
        body = job_request(config, **job_options)
        body.update({"cron": cron, "overlap": overlap})
        if name is not None:
            body["name"] = str(name)
        return JobSchedule.of(self._transport.json("POST", "/api/v1/schedules", body))

    def list_schedules(self) -> List[JobSchedule]:
        """GET /api/v1/schedules."""
        return [JobSchedule.of(s)
                for s in self._transport.json("GET", "/api/v1/schedules")["schedules"]]

    def get_schedule(self, schedule_id: int) -> JobSchedule:
        """GET /api/v1/schedules/{id} (404 for an unknown schedule)."""
        return JobSchedule.of(self._transport.json("GET", f"/api/v1/schedules/{int(schedule_id)}"))

    def delete_schedule(self, schedule_id: int) -> JobSchedule:
        """DELETE /api/v1/schedules/{id}: its owner or an admin (403 otherwise); the jobs it
        submitted stay. Returns the schedule as it was."""
        return JobSchedule.of(
            self._transport.json("DELETE", f"/api/v1/schedules/{int(schedule_id)}", {}))
