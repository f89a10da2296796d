"""Verify an image without an engine: its locked environment in a temp venv, its jobs imported.

The environment is built the way the Dockerfile builds it (the same exported, hashed list;
no resolution, wheels only); the image's packages are copied beside dagplane's source as in
the image. Every job module is imported there, and so is every module those jobs reach
through static imports (also imports inside functions, which is where dagplane and its jobs
load heavy packages), so a dependency missing from the lock fails here, not in a pod.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagplane.errors import ImageError
from dagplane.images._requirements import export_requirements, find_uv, merge_requirements
from dagplane.images._spec import ImageSpec

__all__ = ["EnvironmentSize", "VerifyReport", "reachable_modules", "verify_image"]

# Provided by the base image, never by an image's lock.
_FROM_BASE = frozenset({"airflow"})


@dataclass(frozen=True)
class EnvironmentSize:
    """An installed environment: its site-packages size and how many distributions it has."""

    bytes: int
    distributions: int

    @property
    def megabytes(self) -> float:
        """Size in MB (10^6 bytes), one decimal."""
        return round(self.bytes / 1e6, 1)

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready."""
        return {
            "bytes": self.bytes,
            "megabytes": self.megabytes,
            "distributions": self.distributions,
        }


@dataclass
class VerifyReport:
    """What ``dagplane images verify`` found for one image."""

    image: str
    python: str
    jobs: list[str]
    imported: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    size: EnvironmentSize | None = None
    monolith: EnvironmentSize | None = None
    monolith_images: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every module imported."""
        return not self.failed

    def as_dict(self) -> dict:
        """JSON-ready."""
        return {
            "image": self.image,
            "python": self.python,
            "jobs": self.jobs,
            "imported": self.imported,
            "failed": self.failed,
            "ok": self.ok,
            "size": self.size.as_dict() if self.size else None,
            "monolith": self.monolith.as_dict() if self.monolith else None,
            "monolith_images": self.monolith_images,
        }


def verify_image(
    spec: ImageSpec,
    specs: Sequence[ImageSpec],
    root: Path,
    packages_dir: Path,
    *,
    python: str | None = None,
    monolith: bool = True,
) -> VerifyReport:
    """Install ``spec``'s lock in a temp venv, import its jobs there and measure it; with
    ``monolith``, also measure one venv holding every image's locked packages."""
    python = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    report = VerifyReport(spec.name, python, list(spec.modules))
    with tempfile.TemporaryDirectory(prefix=f"dagplane-verify-{spec.name}-") as tmp:
        work = Path(tmp)
        venv = _install(work / "image", export_requirements(spec, root), python)
        report.size = measure(venv)
        tree = work / "packages"
        for package in spec.packages:
            shutil.copytree(
                packages_dir / package,
                tree / package,
                ignore=shutil.ignore_patterns("__pycache__", ".venv", "*.pyc"),
            )
        roots = [tree, *([root / Path(spec.dagplane_path).parent] if spec.dagplane_path else [])]
        first_party, third_party = reachable_modules(spec.modules, roots)
        report.imported, report.failed = _import_all(venv, roots, [*first_party, *third_party])
        if monolith:
            texts = {s.name: export_requirements(s, root) for s in specs}
            merged = merge_requirements(texts, image="monolith")
            report.monolith = measure(_install(work / "monolith", merged, python))
            report.monolith_images = sorted(texts)
    return report


def measure(venv: Path) -> EnvironmentSize:
    """Bytes of files under the venv's site-packages, and its ``*.dist-info`` count."""
    site = next(venv.glob("lib/python*/site-packages"), None) or venv / "Lib" / "site-packages"
    total, dists = 0, 0
    for dirpath, dirnames, filenames in os.walk(site):
        dists += sum(1 for d in dirnames if d.endswith(".dist-info")) if dirpath == str(site) else 0
        for name in filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return EnvironmentSize(total, dists)


def reachable_modules(modules: Iterable[str], roots: Sequence[Path]) -> tuple[list[str], list[str]]:
    """First-party modules (found under ``roots``) reachable from ``modules`` by static
    imports, anywhere in a module but ``if TYPE_CHECKING:``, and the top-level third-party
    names they import (the standard library and the base image's Airflow left out)."""
    seen: set[str] = set()
    third: set[str] = set()
    queue = [(m, False) for m in modules]
    while queue:
        name, optional = queue.pop()
        if name in seen:
            continue
        file = _find(name, roots)
        if file is None and optional:  # `from x import y`: y is a name, maybe a lazy one
            base, _, attr = name.rpartition(".")
            target = _lazy_target(base, attr, roots)
            if target:
                queue.append((target, False))
            continue
        if file is not None and file.is_dir():  # a namespace package (packages/<pkg>)
            seen.add(name)
            continue
        if file is None:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in _FROM_BASE:
                third.add(top)
            continue
        seen.add(name)
        parent = name.rsplit(".", 1)[0] if "." in name else None
        if parent:
            queue.append((parent, False))
        package = name if file.name == "__init__.py" else parent
        queue += _imports(file, package)
    return sorted(seen), sorted(third)


def _imports(file: Path, package: str | None) -> list[tuple[str, bool]]:
    tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
    skip = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for stmt in guard.body
        for node in ast.walk(stmt)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, False) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = (package or "").split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            if base == "__future__":
                continue
            found.append((base, False))
            found += [(f"{base}.{alias.name}", True) for alias in node.names if alias.name != "*"]
    return found


def _find(name: str, roots: Sequence[Path]) -> Path | None:
    parts = name.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    for root in roots:
        if root.joinpath(*parts).is_dir():
            return root.joinpath(*parts)
    return None


def _lazy_target(base: str, attr: str, roots: Sequence[Path]) -> str | None:
    """The module a lazy package loads ``attr`` from: a module-level ``{name: module}`` map
    in a module that defines ``__getattr__`` (dagplane's lazy-import pattern)."""
    file = _find(base, roots)
    if file is None or file.is_dir():
        return None
    tree = ast.parse(file.read_text(encoding="utf-8"))
    if not any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body):
        return None
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if not isinstance(value, ast.Dict):
            continue
        for key, module in zip(value.keys, value.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and key.value == attr
                and isinstance(module, ast.Constant)
                and isinstance(module.value, str)
            ):
                for candidate in (module.value, f"{base}.{module.value.lstrip('.')}"):
                    if _find(candidate, roots) is not None:
                        return candidate
    return None


def _install(venv: Path, requirements: str, python: str) -> Path:
    uv = find_uv()
    _run([uv, "venv", "--quiet", "--python", python, str(venv)], "create a venv")
    req = venv.parent / f"{venv.name}-requirements.txt"
    req.write_text(requirements, encoding="utf-8")
    _run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--no-deps",
            "--require-hashes",
            "--no-build",
            "-r",
            str(req),
        ],
        "install the locked packages",
    )
    return venv


def _import_all(
    venv: Path, roots: Sequence[Path], modules: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    script = (
        "import importlib, json, sys\n"
        "ok, failed = [], {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        ok.append(name)\n"
        "    except BaseException as exc:\n"
        "        failed[name] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps([ok, failed]))\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "DAGPLANE"))
    }
    env.update(
        PYTHONPATH=os.pathsep.join(str(r) for r in roots),
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, json.dumps(list(modules))],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise ImageError(f"the import check could not run: {done.stderr.strip()[-500:]}")
    ok, failed = json.loads(done.stdout.strip().splitlines()[-1])
    return ok, failed


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImageError(f"could not {what} with uv: {detail}")
