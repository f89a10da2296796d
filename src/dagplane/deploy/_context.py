"""What every deployment renderer reads: the environment's platform config and the project."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagplane.config import ProjectConfig
    from dagplane.deploy._platform import Platform

__all__ = ["DeployContext"]


@dataclass(frozen=True)
class DeployContext:
    """One environment: its ``Platform``, the project config, and what the job specs imply.

    ``job_secrets``: every Secret name a job declares (optional keys' own Secrets included),
    ``job_secret_keys`` their keys;
    ``worker_images``: image name -> the content-tagged reference worker pods run;
    ``control_plane_image``: the reference of the image that runs ``dagplane sync``;
    ``worker_base``: the hardened worker base pod (``dagplane.pods.base_pod``).
    """

    platform: Platform
    config: ProjectConfig
    job_secrets: tuple[str, ...] = ()
    job_secret_keys: tuple[str, ...] = ()
    worker_images: dict[str, str] = field(default_factory=dict)
    control_plane_image: str = ""
    worker_base: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> str:
        return self.platform.environment

    @property
    def job_secret_names(self) -> set[str]:
        """Every Secret name and key the jobs declare: names, never values."""
        return {*self.job_secrets, *self.job_secret_keys}
