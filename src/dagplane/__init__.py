"""dagplane: a control plane for data pipelines on Apache Airflow 3 and Kubernetes.

Job modules import what they declare from here::

    from dagplane import Job, JobContext, Resources, Secret

The names are loaded on first use, so ``import dagplane`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Job", "JobContext", "Resources", "Secret", "__version__"]

_LAZY = {
    "Job": "dagplane.jobs.spec",
    "Resources": "dagplane.jobs.spec",
    "Secret": "dagplane.jobs.spec",
    "JobContext": "dagplane.jobs.context",
}

if TYPE_CHECKING:
    from dagplane.jobs.context import JobContext
    from dagplane.jobs.spec import Job, Resources, Secret


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dagplane' has no attribute {name!r}")
