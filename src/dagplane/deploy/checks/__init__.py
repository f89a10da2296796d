"""Checks of a rendered deployment: through the real chart, against schemas, as a checklist."""

from dagplane.deploy.checks._chart import ChartRender, render_chart
from dagplane.deploy.checks._checklist import CHECKS, CheckResult, run_checks
from dagplane.deploy.checks._proofs import kustomize_build, scan_for_secrets, validation_results

__all__ = [
    "CHECKS",
    "ChartRender",
    "CheckResult",
    "kustomize_build",
    "render_chart",
    "run_checks",
    "scan_for_secrets",
    "validation_results",
]
