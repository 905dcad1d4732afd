# SPDX-License-Identifier: Apache-2.0
"""The asyncio client: the calls of ``Client``, awaited.

Each call runs a synchronous ``Client`` call on the event loop's default thread executor. A
pool of idle clients (one keep-alive connection each) is reused, so concurrent calls run on
separate connections and a finished call's connection serves the next. Use an ``AsyncClient``
from one event loop (the pool is only touched on the loop's thread). Errors: ``AimassError``, as
``Client``'s.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from .client import Client, Inputs
from .jobs import Job, JobQueue, JobSchedule
from .types import (DatasetSummary, InferResult, MetricHistory, ModelAlias, ModelSummary,
                    ModelVersion, RegisteredDataset, RegisteredModel, Run, RunList)

Version = Optional[Union[int, str]]


class AsyncClient:
    """Takes the arguments of ``Client`` (checked at once); each method is ``Client``'s, awaited."""

    def __init__(self, base_url: str, **options: Any) -> None:
        self._factory: Callable[[], Client] = functools.partial(Client, base_url, **options)
        self._idle: List[Client] = [self._factory()]

    async def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        client = self._idle.pop() if self._idle else self._factory()
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(getattr(client, name), *args, **kwargs))
        except BaseException:
            client.close()
            raise
        self._idle.append(client)
        return result

    async def live(self) -> bool:
        return await self._call("live")

    async def ready(self) -> bool:
        return await self._call("ready")

    async def model_ready(self, model: str, version: Version = None) -> bool:
        return await self._call("model_ready", model, version)

    async def server_metadata(self) -> Dict[str, Any]:
        return await self._call("server_metadata")

    async def model_metadata(self, model: str, version: Version = None) -> Dict[str, Any]:
        return await self._call("model_metadata", model, version)

    async def infer(self, model: str, inputs: Inputs, *, version: Version = None,
                    outputs: Optional[Sequence[str]] = None, request_id: Optional[str] = None,
                    parameters: Optional[Mapping[str, Any]] = None, binary: bool = True,
                    timeout: Optional[float] = None) -> InferResult:
        return await self._call("infer", model, inputs, version=version, outputs=outputs,
                                request_id=request_id, parameters=parameters, binary=binary,
                                timeout=timeout)

    async def list_models(self) -> List[ModelSummary]:
        return await self._call("list_models")

    async def get_model(self, model: str) -> RegisteredModel:
        return await self._call("get_model", model)

    async def get_model_version(self, model: str, version: int) -> ModelVersion:
        return await self._call("get_model_version", model, version)

    async def promote(self, model: str, alias: str, version: int) -> ModelAlias:
        return await self._call("promote", model, alias, version)

    async def rollback(self, model: str, alias: str) -> ModelAlias:
        return await self._call("rollback", model, alias)

    async def set_tags(self, model: str, version: int, tags: Mapping[str, str]) -> ModelVersion:
        return await self._call("set_tags", model, version, tags)

    async def tag(self, model: str, version: int, set: Optional[Mapping[str, str]] = None,
                  remove: Optional[Sequence[str]] = None) -> ModelVersion:
        return await self._call("tag", model, version, set, remove)

    async def list_datasets(self) -> List[DatasetSummary]:
        return await self._call("list_datasets")

    async def get_dataset(self, name: str) -> RegisteredDataset:
        return await self._call("get_dataset", name)

    async def list_runs(self, **query: Any) -> RunList:
        """``Client.list_runs``'s keyword query (experiment, filter, status, sort, desc, limit,
        offset)."""
        return await self._call("list_runs", **query)

    async def get_run(self, run_id: int) -> Run:
        return await self._call("get_run", run_id)

    async def get_run_metric(self, run_id: int, metric: str, **query: Any) -> MetricHistory:
        """``Client.get_run_metric``'s keyword query (after_step, limit)."""
        return await self._call("get_run_metric", run_id, metric, **query)

    async def list_jobs(self, *, state: Optional[str] = None, queue: Optional[str] = None,
                        owner: Optional[str] = None) -> List[Job]:
        return await self._call("list_jobs", state=state, queue=queue, owner=owner)

    async def submit_job(self, config: str, **options: Any) -> Job:
        """``Client.submit_job``'s keyword options (config_name, queue, priority, threads,
        memory, gpus, ranks, preemptible)."""
        return await self._call("submit_job", config, **options)

    async def get_job(self, job_id: int) -> Job:
        return await self._call("get_job", job_id)

    async def cancel_job(self, job_id: int) -> Job:
        return await self._call("cancel_job", job_id)

    async def job_log(self, job_id: int, *, bytes: Optional[int] = None) -> str:
        return await self._call("job_log", job_id, bytes=bytes)

    async def list_queues(self) -> List[JobQueue]:
        return await self._call("list_queues")

    async def update_queue(self, name: str, **fields: Any) -> JobQueue:
        return await self._call("update_queue", name, **fields)

    async def create_schedule(self, config: str, cron: str, **options: Any) -> JobSchedule:
        """``Client.create_schedule``'s keyword options (overlap, name and the job's)."""
        return await self._call("create_schedule", config, cron, **options)

    async def list_schedules(self) -> List[JobSchedule]:
        return await self._call("list_schedules")

    async def get_schedule(self, schedule_id: int) -> JobSchedule:
        return await self._call("get_schedule", schedule_id)

    async def delete_schedule(self, schedule_id: int) -> JobSchedule:
        return await self._call("delete_schedule", schedule_id)

    async def close(self) -> None:
        """Closes every idle connection."""
        for client in self._idle:
            client.close()
        self._idle.clear()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
