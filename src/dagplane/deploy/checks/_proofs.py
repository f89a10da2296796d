"""The checks of a deployment beyond the checklist: freshness, schemas, kustomize, no secrets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagplane.deploy.checks._checklist import CheckResult
from dagplane.deploy.checks._validate import validate_objects, validate_values

if TYPE_CHECKING:
    from dagplane.deploy._render import DeployRender

__all__ = ["kustomize_build", "scan_for_secrets", "validation_results"]


def _result(name: str, title: str, problems: list[str], ok_value: str, fix: str) -> CheckResult:
    shown = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
    return CheckResult(name, title, not problems, shown or ok_value, fix)


def _kubectl() -> str | None:
    beside = Path(sys.executable).with_name("kubectl")
    return str(beside) if beside.exists() else shutil.which("kubectl")


def _lay_out(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def kustomize_build(files: dict[str, str], folder: str) -> tuple[list[dict[str, Any]], str]:
    """``kubectl kustomize`` over ``files`` (relative path -> text) laid out in a temp dir:
    the built objects, or an error message."""
    import yaml

    kubectl = _kubectl()
    if kubectl is None:
        return [], "no kubectl (fix: install kubectl, or `uv sync` for the dev group)"
    with tempfile.TemporaryDirectory() as tmp:
        _lay_out(Path(tmp), files)
        done = subprocess.run(
            [kubectl, "kustomize", str(Path(tmp, folder))],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        return [], done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return [d for d in yaml.safe_load_all(done.stdout) if isinstance(d, dict)], ""


def scan_for_secrets(files: dict[str, str], names: set[str]) -> list[str]:
    """What detect-secrets (default plugins) finds in ``files``: ``path:line type``.

    ``names``: Secret names and keys the project declares. dagplane's files name Secrets
    (``secretKey: SALESFORCE_PASSWORD``), which the keyword detector takes for values; a string
    that is exactly a declared name is a name, never a value, and is not reported.
    """
    import json

    scanner = Path(sys.executable).with_name("detect-secrets")
    binary = str(scanner) if scanner.exists() else shutil.which("detect-secrets")
    if binary is None:
        return ["detect-secrets is not installed (fix: `pip install detect-secrets`)"]
    allowed = "|".join(re.escape(name) for name in sorted(names)) or "(?!)"
    with tempfile.TemporaryDirectory() as tmp:
        _lay_out(Path(tmp), files)
        done = subprocess.run(
            [binary, "scan", "--exclude-secrets", f"^({allowed})$", *sorted(files)],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        return [f"detect-secrets failed: {done.stderr.strip()[-300:]}"]
    results = json.loads(done.stdout)["results"]
    return sorted(
        f"{name}:{found['line_number']} {found['type']}"
        for name, findings in results.items()
        for found in findings
    )


def _named_secrets(node: Any) -> list[str]:
    """Every string the values hold under a key that names a Secret (``*SecretName``,
    ``secretName``, ``sshKeySecret``): a name the chart looks up, not a value."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and re.search(r"(SecretName|^secretName|KeySecret)$", key):
                found.append(value)
            else:
                found.extend(_named_secrets(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_named_secrets(item))
    return found


def validation_results(render: DeployRender, *, stale: list[str]) -> list[CheckResult]:
    import yaml

    ctx = render.ctx
    config = ctx.config
    results = [
        _result(
            "fresh",
            "The committed deployment files match the generator",
            [f"stale: {name}" for name in stale],
            "all fresh",
            f"run `dagplane render deploy --env {ctx.env}` and commit",
        )
    ]
    schema = config.chart_schema
    results.append(
        _result(
            "values-schema",
            "The values match the chart's values.schema.json",
            validate_values(render.values, schema) if schema else ["no values schema given"],
            f"valid against {schema.name if schema else '-'}",
            "pass --chart-schema or set [tool.dagplane] chart-schema; fix the key named",
        )
    )
    results.append(
        _result(
            "chart-objects-valid",
            "Every object the chart renders is valid Kubernetes (strict)",
            validate_objects(render.chart.objects, None),
            f"{len(render.chart.objects)} objects valid",
            "fix the value that produced the object named",
        )
    )
    gitops_objects = [
        doc
        for rel, text in render.gitops.items()
        if rel.endswith(".yaml") and not rel.endswith("kustomization.yaml")
        for doc in yaml.safe_load_all(text)
        if isinstance(doc, dict)
    ]
    results.append(
        _result(
            "manifests-valid",
            "Every generated manifest validates (Kubernetes strict, Flux / Argo CD / External "
            "Secrets CRDs)",
            validate_objects(gitops_objects, config.crd_dir)
            if config.crd_dir
            else ["no CRD folder given"],
            f"{len(gitops_objects)} manifests valid",
            "pass --crd-dir or set [tool.dagplane] crd-dir",
        )
    )
    built, error = kustomize_build(render.gitops, f"clusters/{ctx.env}")
    kinds = sorted({o["kind"] for o in built})
    results.append(
        _result(
            "kustomize-builds",
            f"`kubectl kustomize deploy/clusters/{ctx.env}` builds",
            [error] if error else [],
            f"{len(built)} objects: {', '.join(kinds)}",
            "fix the file named in the error",
        )
    )
    texts = {f"{ctx.env}/values.yaml": yaml.safe_dump(render.values), **render.gitops}
    from dagplane.deploy._platform_secrets import declared_names

    names = declared_names(ctx.platform)
    names |= set(ctx.job_secret_names) | set(_named_secrets(render.values))
    results.append(
        _result(
            "no-secret-values",
            "No secret value in any generated file (detect-secrets)",
            scan_for_secrets(texts, names),
            "nothing found",
            "move the value into the secret store and reference its Secret",
        )
    )
    return results
