"""Deployment as code: a platform config per environment → Helm values for the official chart,
Flux CD / Argo CD manifests, DAG sync patterns, platform Secrets, network policies, and a
checklist that runs as code. Renderers are pure (``DeployContext`` in, text out); the chart
render and the schema checks live in ``dagplane.deploy.checks``.
"""

from dagplane.deploy._context import DeployContext
from dagplane.deploy._platform import (
    CHART_REPOSITORY,
    Platform,
    load_platform,
    platform_path,
    platform_schema,
)

__all__ = [
    "CHART_REPOSITORY",
    "DeployContext",
    "Platform",
    "load_platform",
    "platform_path",
    "platform_schema",
]
