"""The emulated standard objects: names, key prefixes, record counts and describe metadata."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .fields import FieldSpec, StampGen
from .ids import IdCodec

KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "Case": "500",
    "User": "005",
}
# How ``records`` is shared between objects when no per-object count is given.
WEIGHTS = {"Account": 20, "Contact": 30, "Opportunity": 20, "Lead": 15, "Case": 12, "User": 3}
SEED_END_MS = int(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000)
SEED_SPAN_MS = 730 * 86_400_000


class ObjectSchema:
    """One sObject: its fields (in describe order) and how many records are seeded."""

    def __init__(
        self,
        name: str,
        count: int,
        fields: list[FieldSpec],
        *,
        prefix: str | None = None,
        custom: bool = False,
        label: str | None = None,
    ) -> None:
        self.name = name
        self.prefix = prefix or KEY_PREFIXES[name]
        self.custom = custom
        self.label = label or name
        self.codec = IdCodec(self.prefix)
        self.count = count
        self.fields: dict[str, FieldSpec] = {f.name: f for f in fields}
        self._lower = {f.name.lower(): f.name for f in fields}

    def add_field(self, spec: FieldSpec) -> None:
        self.fields[spec.name] = spec
        self._lower[spec.name.lower()] = spec.name

    def canonical(self, name: str) -> str | None:
        """The field's real name (SOQL names are case-insensitive), or None if unknown."""
        return self._lower.get(name.lower())

    @property
    def stamp(self) -> StampGen:
        gen = self.fields["SystemModstamp"].gen
        assert isinstance(gen, StampGen)
        return gen

    def describe(self, version: str) -> dict[str, Any]:
        """The ``/sobjects/<name>/describe`` body."""
        return {**self.summary(version), "fields": [f.describe() for f in self.fields.values()]}

    def summary(self, version: str) -> dict[str, Any]:
        """The entry of this object in the global describe."""
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": f"{self.label}s",
            "keyPrefix": self.prefix,
            "custom": self.custom,
            "queryable": True,
            "retrieveable": True,
            "replicateable": True,
            "searchable": True,
            "createable": True,
            "updateable": True,
            "deletable": True,
            "undeletable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }


def split_records(records: int, per_object: dict[str, int] | None) -> dict[str, int]:
    """Seeded record counts: ``records`` shared by weight, then per-object overrides."""
    total = sum(WEIGHTS.values())
    counts = {name: records * w // total for name, w in WEIGHTS.items()}
    counts["User"] = max(counts["User"], 1 if records else 0)
    for name, count in (per_object or {}).items():
        counts[name] = count
    return counts
