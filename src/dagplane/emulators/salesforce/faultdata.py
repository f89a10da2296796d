"""Data-shaped faults: rows whose text values carry a NUL character (``nul_bytes``)."""

from __future__ import annotations

from typing import Any

from .data import Row, field_value
from .fields import TEXT_TYPES, FieldSpec
from .query import Plan, Segment

NUL = "\x00"


def _with_nul(fields: list[FieldSpec], row: Row) -> Row:
    """``row`` with a NUL after the first character of its first non-empty text value."""
    for spec in fields:
        value = row.get(spec.name)
        if spec.type in TEXT_TYPES and isinstance(value, str) and value:
            return {**row, spec.name: value[:1] + NUL + value[1:]}
    return row


def nul_segments(plan: Plan, segments: list[Segment]) -> list[Segment]:
    """The page's segments with its first row replaced by a copy holding a NUL."""
    if not segments:
        return segments
    first, rest = segments[0], segments[1:]
    if isinstance(first, dict):
        return [_with_nul(plan.fields, first), *rest]
    if not first:
        return segments
    i = first[0]
    obj = plan.obj
    row = {spec.name: field_value(obj, i, obj.fields[spec.name], None) for spec in plan.fields}
    return [_with_nul(plan.fields, row), first[1:], *rest]


def nul_records(plan: Plan, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """REST records with a NUL inside a text value of the first one (JSON writes ``\\u0000``)."""
    if not records:
        return records
    return [_with_nul(plan.fields, records[0]), *records[1:]]
