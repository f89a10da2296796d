"""Custom fields added at run time (``add_field``): describe metadata plus seeded values."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from .builder import FieldBuilder
from .errors import EmulatorUsageError
from .fields import ConstGen, FieldSpec
from .schema import SEED_END_MS, SEED_SPAN_MS

CUSTOM_TYPES = {
    "string": "string",
    "text": "string",
    "textarea": "textarea",
    "email": "email",
    "phone": "phone",
    "url": "url",
    "picklist": "picklist",
    "number": "double",
    "double": "double",
    "int": "int",
    "currency": "currency",
    "percent": "percent",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


def custom_field(
    seed: int,
    obj: str,
    counts: dict[str, int],
    name: str,
    type: str = "string",
    *,
    values: Sequence[Any] | None = None,
    fill: str = "seeded",
    label: str | None = None,
    length: int = 255,
    precision: int = 18,
    scale: int = 2,
) -> FieldSpec:
    """A ``<name>__c`` field; existing records get deterministic values, or null (fill="null")."""
    if not name.endswith("__c") or not name[:-3].replace("_", "").isalnum():
        raise EmulatorUsageError(f"custom field names look like Region__c, not {name!r}")
    ftype = CUSTOM_TYPES.get(type)
    if ftype is None:
        raise EmulatorUsageError(f"unknown field type {type!r}; known: {sorted(CUSTOM_TYPES)}")
    if fill not in ("seeded", "null"):
        raise EmulatorUsageError("fill is 'seeded' (deterministic values) or 'null'")
    b = FieldBuilder(obj, seed, counts)
    rng = random.Random(f"{seed}:{obj}:{name}:custom")
    if ftype == "picklist":
        b.picklist(name, list(values or ["North", "South", "East", "West"]), nulls=0.1)
    elif values is not None:
        b.add(name, ftype, b.pool(name, list(values)), length=length)
    elif ftype in ("double", "int", "currency", "percent"):
        b.number(name, ftype, 0, 100 if ftype == "percent" else 10_000, precision, scale)
    elif ftype == "boolean":
        b.add(name, ftype, b.pool(name, [True, False, False]), nillable=False)
    elif ftype == "date":
        b.date(name, 700, 30, nulls=0.1)
    elif ftype == "datetime":
        moments = [SEED_END_MS - rng.randrange(SEED_SPAN_MS // 1000) * 1000 for _ in range(211)]
        b.add(name, ftype, b.pool(name, moments, 0.1))
    else:
        words = [f"{name[:-3]} {rng.randrange(10_000)}" for _ in range(199)]
        b.add(name, ftype, b.pool(name, words, 0.1), length=length)
    spec = b.fields[-1]
    spec.type, spec.custom, spec.label = ftype, True, label or name[:-3].replace("_", " ")
    if fill == "null":
        spec.gen = ConstGen(None)
    return spec
