"""Discovery: find every ``packages/<pkg>/jobs/*.py`` and read its ``JOB`` without running it.

One broken module never hides the others: each failure is collected with its file and line,
and the good jobs are returned beside the failures.
"""

from __future__ import annotations

import difflib
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dagplane.errors import ConfigError, DuplicateJobError, JobDeclarationError
from dagplane.jobs._static import Declaration, read_declaration
from dagplane.jobs._validators import FieldProblem, check_identifier
from dagplane.jobs.spec import JobOptions, JobSpec, Resources, Secret

__all__ = ["DiscoveryResult", "discover", "iter_job_files"]

# Job packages are imported by their folder name, so they must not hide a real module.
_SHADOWED = frozenset(sys.stdlib_module_names) | {"airflow", "dagplane", "tests"}


@dataclass
class DiscoveryResult:
    """Jobs that were read, and every module that could not be."""

    jobs: list[JobSpec] = field(default_factory=list)
    failures: list[JobDeclarationError] = field(default_factory=list)

    @property
    def failed_paths(self) -> set[str]:
        """Source paths (as in ``JobSpec.path``) of modules that failed."""
        return {f.path for f in self.failures}

    def get(self, job_id: str) -> JobSpec | None:
        """The job with this job id or dag id, if discovered."""
        for job in self.jobs:
            if job_id in (job.job_id, job.dag_id):
                return job
        return None


def iter_job_files(packages_dir: Path) -> list[Path]:
    """``<packages_dir>/<pkg>/jobs/*.py``, sorted; files starting with '_' are helpers."""
    return sorted(
        p
        for p in packages_dir.glob("*/jobs/*.py")
        if not p.name.startswith("_") and not p.parent.parent.name.startswith((".", "_"))
    )


def discover(packages_dir: Path, *, root: Path | None = None) -> DiscoveryResult:
    """Read every job module under ``packages_dir``; paths are reported relative to ``root``."""
    packages_dir = Path(packages_dir)
    if not packages_dir.is_dir():
        raise ConfigError(
            f"packages folder {packages_dir} does not exist "
            "(set [tool.dagplane] packages-dir in pyproject.toml or pass --packages-dir)"
        )
    root = Path(root) if root is not None else packages_dir.parent
    result = DiscoveryResult()
    for file in iter_job_files(packages_dir):
        try:
            result.jobs.append(read_job(file, root=root, packages_dir=packages_dir))
        except JobDeclarationError as exc:
            result.failures.append(exc)
    _reject_duplicates(result)
    return result


def read_job(file: Path, *, root: Path, packages_dir: Path | None = None) -> JobSpec:
    """Build the ``JobSpec`` of one job module, or raise ``JobDeclarationError``."""
    path = _display_path(file, root, (packages_dir or file.parents[2]).parent)
    package, job_id = file.parent.parent.name, file.stem
    for value, what in ((package, "package name"), (job_id, "job id (the file name)")):
        try:
            check_identifier(value, what)
        except FieldProblem as exc:
            raise JobDeclarationError(exc.message, path=path, hint=exc.hint) from None
    if package in _SHADOWED:
        raise JobDeclarationError(
            f"package name {package!r} shadows the Python module of the same name",
            path=path,
            hint="rename the package folder (e.g. 'sales_reports'): it is imported by name",
        )
    if len(package) + len(job_id) + 1 > 63:
        raise JobDeclarationError(
            f"package and job names together are {len(package) + len(job_id) + 1} characters",
            path=path,
            hint="keep len(package) + len(job id) under 63: they form Kubernetes pod names",
        )
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JobDeclarationError(f"cannot read the module: {exc}", path=path) from None
    decl = read_declaration(source, path)
    options = _validate(decl, path)
    return JobSpec(
        package=package,
        job_id=job_id,
        module=f"{package}.jobs.{job_id}",
        path=path,
        line=decl.line,
        entrypoint=decl.entrypoint,
        legacy=decl.legacy,
        options=options,
    )


def _display_path(file: Path, *roots: Path) -> str:
    """The path relative to the project root (or the packages folder's parent): stable
    across machines, so generated files do not depend on where the project is checked out."""
    for root in roots:
        try:
            return file.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return file.as_posix()


def _validate(decl: Declaration, path: str) -> JobOptions:
    try:
        return JobOptions.model_validate(decl.values)
    except ValidationError as exc:
        raise _first_problem(exc, decl, path) from None


def _first_problem(exc: ValidationError, decl: Declaration, path: str) -> JobDeclarationError:
    errors = exc.errors(include_url=False)
    # An unknown keyword explains the rest (a misspelt `key=` also makes `keys` missing).
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in error["loc"]]
    original: Any = (error.get("ctx") or {}).get("error")
    if isinstance(original, FieldProblem) and original.field:
        loc = [original.field]
    field_name = ".".join(loc) if loc else None
    line = decl.lines.get(loc[0], decl.line) if loc else decl.line
    if error["type"] == "extra_forbidden":
        known = sorted(_model_of(loc).model_fields) + (["entrypoint"] if len(loc) == 1 else [])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        return JobDeclarationError(
            "unknown field",
            path=path,
            line=line,
            field=field_name,
            hint=f"{guess}remove it or use one of: {', '.join(sorted(known))}",
        )
    if isinstance(original, FieldProblem):
        return JobDeclarationError(
            original.message, path=path, line=line, field=field_name, hint=original.hint
        )
    return JobDeclarationError(
        f"{error['msg']} (got {error.get('input')!r})",
        path=path,
        line=line,
        field=field_name,
        hint=_generic_hint(error, loc),
    )


def _model_of(loc: list[str]) -> type[BaseModel]:
    """The model whose fields ``loc`` names: a Secret's, Resources' or the Job's."""
    return (
        {"secrets": Secret, "resources": Resources}.get(loc[0], JobOptions)
        if len(loc) > 1
        else JobOptions
    )


_EXAMPLES = {
    "secrets": "Secret(name='api', keys=['API_TOKEN'])",
    "resources": "Resources(cpu='500m', memory='512Mi')",
}


def _generic_hint(error: Any, loc: list[str]) -> str:
    """A fix for pydantic's own checks (types, bounds, required fields)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return f"add {loc[-1]}=..."
    if kind.startswith("int_"):
        return "use a whole number such as 3"
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        bounds = ", ".join(f"{k} {v}" for k, v in ctx.items())
        return f"use a number within bounds ({bounds})"
    if kind == "too_short":
        return "give at least one item"
    if kind in {"model_type", "model_attributes_type", "dict_type"} and loc[0] in _EXAMPLES:
        return f"write each item as {_EXAMPLES[loc[0]]}"
    if kind in {"list_type", "tuple_type"}:
        return "use a list, e.g. ['a', 'b']"
    if kind == "string_type":
        return "use a string in quotes"
    return "see the job fields in the README"


def _reject_duplicates(result: DiscoveryResult) -> None:
    by_id: dict[str, list[JobSpec]] = defaultdict(list)
    for job in result.jobs:
        by_id[job.job_id].append(job)
    for job_id, jobs in sorted(by_id.items()):
        if len(jobs) < 2:
            continue
        paths = [j.path for j in jobs]
        for job in jobs:
            others = ", ".join(p for p in paths if p != job.path)
            result.failures.append(
                DuplicateJobError(
                    f"job id {job_id!r} is also declared by {others}",
                    path=job.path,
                    line=job.line,
                    hint="job ids are global: rename one of the files",
                )
            )
        result.jobs = [j for j in result.jobs if j.job_id != job_id]
    result.failures.sort(key=lambda f: (f.path, f.line or 0))
