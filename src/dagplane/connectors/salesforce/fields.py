"""A Salesforce field as ``describe()`` reports it, reduced to what loading needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SalesforceField"]


@dataclass(frozen=True)
class SalesforceField:
    """One field of an sObject: its API name, Salesforce type and size facets."""

    name: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    compound_field_name: str | None = None

    @classmethod
    def from_describe(cls, field: dict[str, Any]) -> SalesforceField:
        """Build from one entry of ``describe()["fields"]``."""
        return cls(
            name=field["name"],
            type=field["type"],
            length=int(field.get("length") or 0),
            precision=int(field.get("precision") or 0),
            scale=int(field.get("scale") or 0),
            digits=int(field.get("digits") or 0),
            nillable=bool(field.get("nillable", True)),
            compound_field_name=field.get("compoundFieldName"),
        )
