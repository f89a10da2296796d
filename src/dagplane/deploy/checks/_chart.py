"""Render the official Airflow chart with generated values, through a real Helm engine.

A ``helm`` binary on PATH is what users have and is preferred; without one, Helm's own Go SDK
from the ``helm-python-sdk`` wheel renders the chart offline (no cluster: ``lookup`` finds
nothing). Both return every rendered object, so checks assert on what the chart would apply.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from dagplane.errors import ConfigError

__all__ = ["ChartRender", "render_chart"]


class ChartRender:
    """The objects a chart render produced, with the engine that rendered them."""

    def __init__(self, objects: list[dict[str, Any]], engine: str) -> None:
        self.objects = objects
        self.engine = engine

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        for obj in self.of_kind(kind):
            if obj.get("metadata", {}).get("name") == name:
                return obj
        return None

    def inventory(self) -> set[tuple[str, str]]:
        return {(o["kind"], o["metadata"]["name"]) for o in self.objects}


def _parse(texts: list[str]) -> list[dict[str, Any]]:
    import yaml

    objects = []
    for text in texts:
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict) and doc.get("kind"):
                objects.append(doc)
    return objects


def render_chart(
    chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str
) -> ChartRender:
    """Render ``chart_dir`` with ``values`` as release ``release`` in ``namespace``."""
    if not (chart_dir / "Chart.yaml").is_file():
        raise ConfigError(
            f"{chart_dir}: no Chart.yaml: not a Helm chart (fix: pass --chart with the official "
            "Airflow chart's folder, e.g. an unpacked `helm pull apache-airflow/airflow`)"
        )
    helm = shutil.which("helm")
    if helm:
        return _render_with_binary(helm, chart_dir, values, release, namespace)
    try:
        from helm_python import Chart
    except ImportError:
        raise ConfigError(
            "no Helm engine: neither a `helm` binary on PATH nor the helm-python-sdk wheel "
            "(fix: install helm, or `uv sync` for the dev group)"
        ) from None
    chart = Chart.load(str(chart_dir))
    try:
        rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    except Exception as exc:  # the SDK's HelmRenderError / HelmValuesError
        raise ConfigError(f"{chart_dir}: the chart failed to render: {exc}") from None
    finally:
        chart.close()
    texts = [text for path, text in sorted(rendered.items()) if path.endswith((".yaml", ".yml"))]
    return ChartRender(_parse(texts), "helm-python-sdk")


def _render_with_binary(
    helm: str, chart_dir: Path, values: dict[str, Any], release: str, namespace: str
) -> ChartRender:
    import json

    with tempfile.TemporaryDirectory() as tmp:
        values_file = Path(tmp) / "values.json"
        values_file.write_text(json.dumps(values))
        done = subprocess.run(
            [helm, "template", release, str(chart_dir), "-n", namespace, "-f", str(values_file)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise ConfigError(f"{chart_dir}: `helm template` failed: {done.stderr.strip()[-2000:]}")
    return ChartRender(_parse([done.stdout]), "helm")
