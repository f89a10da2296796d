"""Read a job module's ``JOB = ...`` declaration from its syntax tree, never running it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from dagplane.errors import JobDeclarationError

__all__ = ["Declaration", "read_declaration"]

_NOT_STATIC_HINT = (
    "write the value inline as a literal (strings, numbers, lists, None, Secret(...), "
    "Resources(...), timedelta(...)); dagplane reads JOB without importing the module"
)
_TIMEDELTA_ARGS = {"days", "hours", "minutes", "seconds", "weeks"}


@dataclass
class Declaration:
    """The literal content of a ``JOB`` declaration, with the line of every field."""

    line: int
    legacy: bool
    entrypoint: str
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def read_declaration(source: str, path: str) -> Declaration:
    """Parse ``source`` and return its ``JOB`` declaration, or raise ``JobDeclarationError``."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise JobDeclarationError(
            f"syntax error: {exc.msg}", path=path, line=exc.lineno, hint="fix the Python syntax"
        ) from None
    node = _find_job_assignment(tree, path)
    defined = _top_level_names(tree)
    if isinstance(node, ast.Tuple):
        return _legacy(node, path, defined)
    if isinstance(node, ast.Call) and _callee_name(node.func) == "Job":
        return _typed(node, path, defined)
    raise JobDeclarationError(
        "JOB must be Job(entrypoint=..., ...) or the legacy tuple (entrypoint, 'description')",
        path=path,
        line=node.lineno,
        hint="declare JOB = Job(entrypoint=run, description='...') with literal arguments",
    )


def _find_job_assignment(tree: ast.Module, path: str) -> ast.expr:
    found: ast.expr | None = None
    for stmt in tree.body:
        value = _job_value(stmt)
        if value is not None:
            if found is not None:
                raise JobDeclarationError(
                    "JOB is assigned more than once",
                    path=path,
                    line=stmt.lineno,
                    hint="declare JOB once, at the top level of the module",
                )
            found = value
    if found is None:
        raise JobDeclarationError(
            "no JOB declaration at the top level of the module",
            path=path,
            line=1,
            hint="add JOB = Job(entrypoint=run, ...), or move helper modules to a file whose "
            "name starts with '_'",
        )
    return found


def _job_value(stmt: ast.stmt) -> ast.expr | None:
    """The assigned value if ``stmt`` is ``JOB = ...`` or ``JOB: Job = ...``."""
    if isinstance(stmt, ast.Assign) and any(_is_job_target(t) for t in stmt.targets):
        return stmt.value
    if isinstance(stmt, ast.AnnAssign) and _is_job_target(stmt.target):
        return stmt.value
    return None


def _is_job_target(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id == "JOB"


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return names


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _entrypoint(node: ast.expr, path: str, defined: set[str], field_name: str) -> str:
    if not isinstance(node, ast.Name):
        raise JobDeclarationError(
            "the entrypoint must be a function named directly, not an expression",
            path=path,
            line=node.lineno,
            field=field_name,
            hint="define `def run(ctx): ...` in the module and write entrypoint=run",
        )
    if node.id not in defined:
        raise JobDeclarationError(
            f"the entrypoint {node.id!r} is not defined at the top level of the module",
            path=path,
            line=node.lineno,
            field=field_name,
            hint=f"define `def {node.id}(...)` or import it in the module",
        )
    return node.id


def _legacy(node: ast.Tuple, path: str, defined: set[str]) -> Declaration:
    if len(node.elts) != 2:
        raise JobDeclarationError(
            f"the legacy JOB tuple has {len(node.elts)} items, expected 2",
            path=path,
            line=node.lineno,
            hint="write JOB = (main, 'what the job does')",
        )
    entry_node, desc_node = node.elts
    entrypoint = _entrypoint(entry_node, path, defined, "entrypoint")
    description = literal(desc_node, path, "description")
    if not isinstance(description, str):
        raise JobDeclarationError(
            "the legacy JOB description must be a string",
            path=path,
            line=desc_node.lineno,
            field="description",
            hint="write JOB = (main, 'what the job does')",
        )
    return Declaration(
        line=node.lineno,
        legacy=True,
        entrypoint=entrypoint,
        values={"description": description},
        lines={"description": desc_node.lineno},
    )


def _typed(node: ast.Call, path: str, defined: set[str]) -> Declaration:
    if node.args:
        raise JobDeclarationError(
            "Job(...) takes keyword arguments only",
            path=path,
            line=node.lineno,
            hint="name every argument, e.g. Job(entrypoint=run, schedule='@daily')",
        )
    decl = Declaration(line=node.lineno, legacy=False, entrypoint="")
    for kw in node.keywords:
        if kw.arg is None:
            raise JobDeclarationError(
                "Job(**...) is not static", path=path, line=kw.value.lineno, hint=_NOT_STATIC_HINT
            )
        decl.lines[kw.arg] = kw.value.lineno
        if kw.arg == "entrypoint":
            decl.entrypoint = _entrypoint(kw.value, path, defined, "entrypoint")
        else:
            decl.values[kw.arg] = literal(kw.value, path, kw.arg)
    if not decl.entrypoint:
        raise JobDeclarationError(
            "Job(...) has no entrypoint",
            path=path,
            line=node.lineno,
            field="entrypoint",
            hint="add entrypoint=run, naming the function that runs the job",
        )
    return decl


def literal(node: ast.expr, path: str, field_name: str) -> Any:
    """Evaluate a literal expression, allowing ``Secret``, ``Resources`` and ``timedelta``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [literal(e, path, field_name) for e in node.elts]
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        return {
            literal(k, path, field_name): literal(v, path, field_name)  # type: ignore[arg-type]
            for k, v in zip(node.keys, node.values, strict=True)
        }
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
    ):
        return -node.operand.value
    if isinstance(node, ast.Call) and not node.args and all(k.arg for k in node.keywords):
        name = _callee_name(node.func)
        kwargs = {k.arg: literal(k.value, path, field_name) for k in node.keywords}
        if name in {"Secret", "Resources"}:
            return kwargs
        if name == "timedelta" and set(kwargs) <= _TIMEDELTA_ARGS:
            numbers = all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in kwargs.values()
            )
            if numbers:
                return timedelta(**kwargs)  # type: ignore[arg-type]
    raise JobDeclarationError(
        f"`{ast.unparse(node)}` is not a literal value",
        path=path,
        line=node.lineno,
        field=field_name,
        hint=_NOT_STATIC_HINT,
    )
