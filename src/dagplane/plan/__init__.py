"""The plan: everything dagplane generates from the discovered job specs, in one place.

``build_plan`` turns a ``DiscoveryResult`` and the project configuration into one
``OutputSet`` per kind of generated file:

- ``dags`` and ``pod_templates``: DAG files and their worker pod templates (``dagplane sync``);
- ``secrets``, ``airflow_settings``, ``base_pod``: the ExternalSecrets and kubectl recipe, the
  ``airflow_local_settings.py`` that enforces each DAG's Secret allow-list, and the base pod
  template (``dagplane render secrets``);
- ``images`` and ``workflow``: a Dockerfile and hashed requirement list per image, and the
  GitHub Actions workflow that builds them (``dagplane images render``).

Renderers are pure (the image kinds read the package locks through ``uv export``); only
``dagplane.write.write_outputs`` touches the disk, so every kind gets the same safety:
atomic, write-if-changed, ownership marker, owned-only prune, ``--check``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dagplane.dags.sync import dag_outputs
from dagplane.write import WriteReport, write_outputs

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.jobs.discovery import DiscoveryResult
    from dagplane.write import OutputSet

__all__ = ["DEPLOY_KINDS", "IMAGE_KINDS", "KINDS", "SYNC_KINDS", "Plan", "build_plan", "write_plan"]

# What `dagplane sync` writes: the DAG folder (DAG files and their pod templates).
SYNC_KINDS = ("dags", "pod_templates")
# What `dagplane render secrets` writes under the deploy folder.
DEPLOY_KINDS = ("secrets", "airflow_settings", "base_pod")
# What `dagplane images render` writes.
IMAGE_KINDS = ("images", "workflow")
KINDS = (*SYNC_KINDS, *DEPLOY_KINDS, *IMAGE_KINDS)


@dataclass(frozen=True)
class Plan:
    """The generated files of a project, by kind (``"dags"``, ``"pod_templates"``, ...)."""

    outputs: dict[str, OutputSet]


def build_plan(
    discovery: DiscoveryResult, config: ProjectConfig, kinds: Collection[str] | None = None
) -> Plan:
    """Render every kind of generated file (or only ``kinds``) for the discovered jobs.

    Writes nothing; the ``images`` and ``workflow`` kinds read the package locks.
    """
    wanted = set(KINDS if kinds is None else kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown plan kinds {sorted(unknown)} (known: {', '.join(KINDS)})")
    outputs: dict[str, OutputSet] = {}
    if "dags" in wanted:
        outputs["dags"] = dag_outputs(discovery, config.dags_dir)
    if "pod_templates" in wanted:
        from dagplane.pods import pod_outputs

        outputs["pod_templates"] = pod_outputs(discovery, config)
    if wanted & set(DEPLOY_KINDS):
        from dagplane.secrets import deploy_outputs

        deploy = deploy_outputs(discovery, config)
        outputs.update({kind: deploy[kind] for kind in DEPLOY_KINDS if kind in wanted})
    if wanted & set(IMAGE_KINDS):
        from dagplane.images import image_outputs

        images = image_outputs(discovery, config)
        outputs.update({kind: images[kind] for kind in IMAGE_KINDS if kind in wanted})
    return Plan(outputs=outputs)


def write_plan(plan: Plan, kinds: Iterable[str], *, check: bool = False) -> WriteReport:
    """Write the chosen kinds; one report whose names are relative to the first kind's folder
    (``pod_templates/x.yaml`` beside ``x.py``)."""
    kinds = list(kinds)
    base = plan.outputs[kinds[0]].folder
    total = WriteReport()
    for kind in kinds:
        output = plan.outputs[kind]
        report = write_outputs(output, check=check)
        try:
            prefix = output.folder.relative_to(base).as_posix()
        except ValueError:
            prefix = output.folder.as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        for name in ("written", "unchanged", "pruned", "kept", "conflicts"):
            getattr(total, name).extend(prefix + n for n in getattr(report, name))
    return total
