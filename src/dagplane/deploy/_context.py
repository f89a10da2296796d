"""What every deployment renderer reads: the environment's platform config and the project."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagplane.write import owned_header

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.deploy._platform import Platform

__all__ = ["DeployContext", "owned_manifest"]


@dataclass(frozen=True)
class DeployContext:
    """One environment: its ``Platform``, the project config, and what the job specs imply.

    ``job_secret_key_sets``: Secret name -> ``{"required": [...], "optional": [...]}`` of
    every Secret a job declares (``dagplane.secrets.secret_keys``);
    ``worker_images``: image name -> the content-tagged reference worker pods run;
    ``control_plane_image``: the reference of the image that runs ``dagplane sync``;
    ``worker_base``: the hardened worker base pod (``dagplane.pods.base_pod``).
    """

    platform: Platform
    config: ProjectConfig
    job_secret_key_sets: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # The rendered airflow_local_settings.py (the Secret guard), for the chart's value.
    local_settings: str = ""
    worker_images: dict[str, str] = field(default_factory=dict)
    control_plane_image: str = ""
    worker_base: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> str:
        return self.platform.environment

    @property
    def platform_file(self) -> str:
        """The platform config's path relative to the project (``deploy/<env>/platform.yaml``)."""
        path = self.config.deploy_dir / self.env / "platform.yaml"
        try:
            return path.relative_to(self.config.root).as_posix()
        except ValueError:
            return f"deploy/{self.env}/platform.yaml"

    @property
    def job_secrets(self) -> set[str]:
        """Every Secret name the jobs declare, the optional keys' own Secrets included."""
        from dagplane.jobs.spec import optional_key_secret

        return {
            secret
            for name, keys in self.job_secret_key_sets.items()
            for secret in (name, *(optional_key_secret(name, k) for k in keys["optional"]))
        }

    @property
    def job_secret_names(self) -> set[str]:
        """Every Secret name and key the jobs declare: names, never values."""
        keys = {k for sets in self.job_secret_key_sets.values() for ks in sets.values() for k in ks}
        return self.job_secrets | keys


def owned_manifest(ctx: DeployContext, docs: list[dict[str, Any]], what: str = "") -> str:
    """``docs`` as one YAML stream (``---`` between documents) under dagplane's header, made
    from the environment's platform file; ``what`` says which of its settings."""
    import yaml

    body = "---\n".join(
        yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True)
        for doc in docs
    )
    source = ctx.platform_file
    header = owned_header(
        body,
        source=source,
        made_from=f"{source} ({what})" if what else source,
        regenerate=f"run `dagplane render deploy --env {ctx.env}`",
    )
    return header + body
