"""Which fields to extract: loadable fields from ``describe()``, then a per-object selection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dagplane.connectors.salesforce.fields import SalesforceField
from dagplane.errors import ConfigError

__all__ = ["SKIPPED_TYPES", "FieldSelection", "loadable_fields"]

# base64 bodies are not returned by Bulk queries; compound address/location values cannot be
# queried by Bulk at all (their components are ordinary fields and are kept).
SKIPPED_TYPES = frozenset({"base64", "address", "location"})
# Kept whatever the selection says: the key, the delete flag where the object has one (User
# does not: users are deactivated, not deleted) and the cursor field.
ALWAYS = ("Id",)
WHEN_PRESENT = ("IsDeleted",)


@dataclass(frozen=True)
class FieldSelection:
    """All fields, or only ``include``, minus ``exclude``; ``Id``, ``IsDeleted`` (when the object
    has it) and the cursor field are always kept."""

    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: FieldSelection | Mapping[str, Any] | Iterable[str] | None) -> FieldSelection:
        """Coerce ``None`` (all), names (include) or ``{"include": ..., "exclude": ...}``."""
        if value is None:
            return cls()
        if isinstance(value, FieldSelection):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"include", "exclude"}
            if unknown:
                raise ConfigError(f"field selection keys must be include/exclude, not {unknown}")
            include = value.get("include")
            return cls(
                tuple(include) if include is not None else None, tuple(value.get("exclude", ()))
            )
        return cls(include=tuple(value))

    def apply(self, fields: list[SalesforceField], cursor_field: str) -> list[SalesforceField]:
        """The selected fields in describe order; including an unknown field is an error, and so
        is a cursor that is not a datetime field (incremental windows are datetime ranges)."""
        names = {f.name: f for f in fields}
        keep = {*ALWAYS, cursor_field, *(n for n in WHEN_PRESENT if n in names)}
        unknown = sorted((set(self.include or ()) | keep) - set(names))
        if unknown:
            raise ConfigError(f"selected fields are missing or not loadable: {unknown}")
        if names[cursor_field].type != "datetime":
            raise ConfigError(
                f"cursor field {cursor_field} is a {names[cursor_field].type} field; incremental "
                "extraction needs a datetime field such as SystemModstamp or LastModifiedDate"
            )
        return [
            f
            for f in fields
            if f.name in keep
            or ((self.include is None or f.name in self.include) and f.name not in self.exclude)
        ]


def loadable_fields(describe: Mapping[str, Any]) -> list[SalesforceField]:
    """The fields of a ``describe()`` result that extraction can read, as ``SalesforceField``."""
    return [
        SalesforceField.from_describe(field)
        for field in describe["fields"]
        if field["type"] not in SKIPPED_TYPES
    ]
