# SPDX-License-Identifier: Apache-2.0
"""Typed results of the /api/v1 registry, runs and datasets routes (docs/openapi.yaml).

Each keeps the whole decoded answer in ``raw`` for members added later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .tensors import Output


@dataclass
class ModelSummary:
    model: str
    versions: int
    latest: int
    aliases: Dict[str, int]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "ModelSummary":
        return cls(d["model"], int(d["versions"]), int(d["latest"]), dict(d.get("aliases", {})),
                   d)


@dataclass
class ModelVersion:
    model: str
    version: int
    artifact: str
    sha256: str
    type: str
    created_unix_ms: int
    metrics: Dict[str, Any]
    tags: Dict[str, str]
    aliases: List[str]
    dataset: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "ModelVersion":
        return cls(d["model"], int(d["version"]), d.get("artifact", ""), d.get("sha256", ""),
                   d.get("type", ""), int(d.get("created_unix_ms", 0)), dict(d.get("metrics", {})),
                   dict(d.get("tags", {})), list(d.get("aliases", [])), d.get("dataset"), d)


@dataclass
class RegisteredModel:
    model: str
    aliases: Dict[str, int]
    versions: List[ModelVersion]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "RegisteredModel":
        return cls(d["model"], dict(d.get("aliases", {})),
                   [ModelVersion.of(v) for v in d.get("versions", [])], d)


@dataclass
class ModelAlias:
    model: str
    alias: str
    version: int
    history: List[int]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "ModelAlias":
        history = [int(v) for v in d.get("history", [])]
        return cls(d["model"], d["alias"], int(d["version"]), history, d)


@dataclass
class DatasetVersion:
    name: str
    version: int
    type: str
    sha256: str
    rows: int
    created_unix_ms: int
    source: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "DatasetVersion":
        return cls(d["name"], int(d["version"]), d.get("type", ""), d.get("sha256", ""),
                   int(d.get("rows", 0)), int(d.get("created_unix_ms", 0)), d.get("source", ""), d)


@dataclass
class DatasetSummary:
    name: str
    versions: int
    latest: DatasetVersion
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "DatasetSummary":
        return cls(d["name"], int(d["versions"]), DatasetVersion.of(d["latest"]), d)


@dataclass
class RegisteredDataset:
    name: str
    versions: List[DatasetVersion]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "RegisteredDataset":
        return cls(d["name"], [DatasetVersion.of(v) for v in d.get("versions", [])], d)


@dataclass
class Run:
    """A run; ``metrics`` is the last value of each (list) or a summary per metric (show)."""

    id: int
    experiment: str
    status: str
    start_unix_ms: int
    end_unix_ms: Optional[int]  # None while the run is running
    params: Dict[str, str]
    metrics: Dict[str, Any]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "Run":
        end = d.get("end_unix_ms")
        return cls(int(d["id"]), d.get("experiment", ""), d.get("status", ""),
                   int(d.get("start_unix_ms", 0)), None if end is None else int(end),
                   dict(d.get("params", {})), dict(d.get("metrics", {})), d)


@dataclass
class RunList:
    matched: int
    runs: List[Run]

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "RunList":
        return cls(int(d.get("matched", 0)), [Run.of(r) for r in d.get("runs", [])])


@dataclass
class MetricPoint:
    step: int
    value: Optional[float]  # None for a value that was not finite
    unix_ms: int


@dataclass
class MetricHistory:
    """A page of one metric's values by step; when ``more``, ask again after the last step."""

    run: int
    metric: str
    total: int
    more: bool
    points: List[MetricPoint]

    @classmethod
    def of(cls, d: Dict[str, Any]) -> "MetricHistory":
        points = [MetricPoint(int(p["step"]), None if p.get("value") is None else float(p["value"]),
                              int(p.get("unix_ms", 0))) for p in d.get("points", [])]
        return cls(int(d["run"]), str(d.get("metric", "")), int(d.get("total", 0)),
                   bool(d.get("more", False)), points)


@dataclass
class InferResult:
    """An inference answer: ``outputs`` by name, in the answer's order."""

    model_name: str
    model_version: str
    id: Optional[str]
    outputs: Dict[str, Output]
    parameters: Dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        """The data of output ``name`` (KeyError naming it and the outputs there are)."""
        if name not in self.outputs:
            raise KeyError(f"no output '{name}' in the answer (it has {list(self.outputs)})")
        return self.outputs[name].data
