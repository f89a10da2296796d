"""Project configuration: ``[tool.dagplane]`` in pyproject.toml, overridable by env and flags.

Resolution order for every setting: command-line argument, then ``DAGPLANE__<KEY>`` in the
environment, then ``[tool.dagplane]`` of the nearest ``pyproject.toml``, then the default.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagplane.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ProjectConfig", "load_config"]

_DEFAULTS = {
    "packages-dir": "packages",
    "dags-dir": "dags",
    "images-dir": "images",
    "deploy-dir": "deploy",
}
# Settings that are plain text, not folders: where images are pushed, which secret store
# the generated ExternalSecrets read from.
_TEXT_DEFAULTS = {
    "registry": "ghcr.io",
    "image-owner": "example-org",
    "secret-store": "dagplane-secrets",
    "image-pull-secret": "",
}
# Optional files and folders: the deployment's worker base pod (see dagplane.pods; none: the
# chart's wiring), and the official Airflow chart, its values schema and the CRDs that
# `dagplane render/check deploy` check against (none: pass --chart/--chart-schema/--crd-dir).
_OPTIONAL_PATHS = ("worker-base", "chart-dir", "chart-schema", "crd-dir")
# `dagplane sync` refuses a pass that would prune more than this share of the owned DAGs (when
# there are at least 4; see dagplane.dags.sync.prune_guard): a wrong packages folder looks
# exactly like deleting every job.
_MAX_PRUNE_SHARE = "max-prune-share"
DEFAULT_MAX_PRUNE_SHARE = 0.5


@dataclass(frozen=True)
class ProjectConfig:
    """Where the project lives, where its job packages and generated files go, and the
    registry and secret store the generated images and manifests name."""

    root: Path
    packages_dir: Path
    dags_dir: Path
    images_dir: Path = Path("images")
    deploy_dir: Path = Path("deploy")
    registry: str = _TEXT_DEFAULTS["registry"]
    image_owner: str = _TEXT_DEFAULTS["image-owner"]
    secret_store: str = _TEXT_DEFAULTS["secret-store"]
    # The Secret worker pods pull images with (``imagePullSecrets``); empty for none.
    image_pull_secret: str = _TEXT_DEFAULTS["image-pull-secret"]
    # The deployment's worker base pod file; None: the official chart's worker wiring.
    worker_base: Path | None = None
    chart_dir: Path | None = None
    chart_schema: Path | None = None
    crd_dir: Path | None = None
    max_prune_share: float = DEFAULT_MAX_PRUNE_SHARE


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has ``[tool.dagplane]``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "dagplane" in _read_tool_table(candidate, "any"):
            return candidate
    return None


def _read_tool_table(path: Path, want: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as TOML: {exc}") from None
    tool = data.get("tool", {})
    return tool if want == "any" else tool.get("dagplane", {})


def load_config(
    *,
    packages_dir: Path | str | None = None,
    dags_dir: Path | str | None = None,
    cwd: Path | None = None,
) -> ProjectConfig:
    """Resolve the project configuration (see the module docstring for the order)."""
    cwd = (cwd or Path.cwd()).resolve()
    pyproject = find_pyproject(cwd)
    root = pyproject.parent if pyproject else cwd
    table = _read_tool_table(pyproject, "dagplane") if pyproject else {}
    known = set(_DEFAULTS) | set(_TEXT_DEFAULTS) | set(_OPTIONAL_PATHS) | {_MAX_PRUNE_SHARE}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{pyproject}: [tool.dagplane] has unknown key(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )

    def resolve(flag: Path | str | None, key: str) -> Path:
        if flag is not None:
            return (cwd / flag).resolve()
        env = os.environ.get("DAGPLANE__" + key.upper().replace("-", "_"))
        return (root / (env or table.get(key) or _DEFAULTS[key])).resolve()

    def text(key: str) -> str:
        env = os.environ.get("DAGPLANE__" + key.upper().replace("-", "_"))
        value = env or table.get(key) or _TEXT_DEFAULTS.get(key, "")
        if not isinstance(value, str):
            raise ConfigError(f"{pyproject}: [tool.dagplane] {key} must be a string")
        return value

    def optional(key: str) -> Path | None:
        value = text(key) if key in table or _env(key) else ""
        return (root / value).resolve() if value else None

    def share(key: str) -> float:
        env = _env(key)
        where = f"DAGPLANE__{key.upper().replace('-', '_')}" if env else f"{pyproject}: {key}"
        value: Any = env if env else table.get(key, DEFAULT_MAX_PRUNE_SHARE)
        try:
            number = float(value) if not isinstance(value, bool) else -1.0
        except (TypeError, ValueError):
            number = -1.0
        if not 0.0 <= number <= 1.0:
            raise ConfigError(f"{where} must be a number from 0 to 1 (got {value!r})")
        return number

    return ProjectConfig(
        root=root,
        packages_dir=resolve(packages_dir, "packages-dir"),
        dags_dir=resolve(dags_dir, "dags-dir"),
        images_dir=resolve(None, "images-dir"),
        deploy_dir=resolve(None, "deploy-dir"),
        registry=text("registry"),
        image_owner=text("image-owner"),
        secret_store=text("secret-store"),
        image_pull_secret=text("image-pull-secret"),
        worker_base=optional("worker-base"),
        chart_dir=optional("chart-dir"),
        chart_schema=optional("chart-schema"),
        crd_dir=optional("crd-dir"),
        max_prune_share=share(_MAX_PRUNE_SHARE),
    )


def _env(key: str) -> str | None:
    return os.environ.get("DAGPLANE__" + key.upper().replace("-", "_"))
