# SPDX-License-Identifier: Apache-2.0
"""aimass_client: a Python client of aimass (OIP v2 inference, the /api/v1 registry, jobs)."""

from .aio import AsyncClient
from .client import Client
from .errors import AimassError, AimassTimeoutError
from .jobs import Job, JobQueue, JobResources, JobSchedule
from .tensors import HAVE_NUMPY, Output, Tensor
from .transport import RetryPolicy
from .types import (DatasetSummary, DatasetVersion, InferResult, MetricHistory, MetricPoint,
                    ModelAlias, ModelSummary, ModelVersion, RegisteredDataset, RegisteredModel, Run,
                    RunList)

__all__ = ["AimassError", "AimassTimeoutError", "AsyncClient", "Client", "DatasetSummary",
           "DatasetVersion", "HAVE_NUMPY", "InferResult", "Job", "JobQueue", "JobResources",
           "MetricHistory", "MetricPoint",
           "JobSchedule",
           "ModelAlias", "ModelSummary", "ModelVersion", "Output", "RegisteredDataset", "RegisteredModel", "RetryPolicy", "Run",
           "RunList", "Tensor"]
__version__ = "0.1.0"
