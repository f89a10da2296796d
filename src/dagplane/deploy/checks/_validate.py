"""Schema checks: values against the chart's ``values.schema.json``, Kubernetes objects with
``kubernetes-validate`` (strict), custom resources against their CRDs' OpenAPI schemas."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["K8S_VERSION", "crd_schemas", "validate_objects", "validate_values"]

K8S_VERSION = "1.37.0"  # a current Kubernetes release known to kubernetes-validate


def validate_values(values: dict[str, Any], schema_path: Path) -> list[str]:
    """One line per place ``values`` breaks the chart's values schema."""
    import jsonschema

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"values.{'.'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))
    ]


@lru_cache(maxsize=8)
def crd_schemas(crd_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(apiVersion, kind): openAPIV3Schema}`` of every served version of the CRDs under
    ``crd_dir`` (YAML files, searched recursively)."""
    import yaml

    schemas = {}
    for path in sorted(crd_dir.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec.get("versions", []):
                if version.get("served") and "schema" in version:
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def _where(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def validate_objects(objects: list[dict[str, Any]], crd_dir: Path | None) -> list[str]:
    """One line per invalid object: built-in kinds with kubernetes-validate (strict), custom
    resources against their CRD; a custom resource without a known CRD is itself a problem."""
    import jsonschema
    import kubernetes_validate

    custom = crd_schemas(crd_dir) if crd_dir is not None else {}
    problems = []
    for obj in objects:
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        group = key[0].split("/")[0] if "/" in key[0] else ""
        if key in custom:
            for error in jsonschema.Draft7Validator(custom[key]).iter_errors(obj):
                path = ".".join(str(p) for p in error.absolute_path)
                problems.append(f"{_where(obj)}: {path}: {error.message}")
            continue
        if "." in group and not group.endswith("k8s.io"):
            problems.append(f"{_where(obj)}: no CRD schema for {key[0]} {key[1]} in {crd_dir}")
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{_where(obj)}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{_where(obj)}: no Kubernetes {K8S_VERSION} schema for {key}")
    return problems
