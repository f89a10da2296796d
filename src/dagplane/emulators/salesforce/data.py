"""The record store: seeded records computed on demand plus an in-memory overlay of changes.

Record ``i`` of an object is computed from ``(seed, object, i)``; nothing is stored for it
until a control operation changes it. Changed, deleted and created records live in the
overlay as ``{field: value}`` overrides, stamped later than every seeded record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from .errors import EmulatorUsageError
from .fields import COMPOUND_TYPES, FieldSpec, compound_key, parse_datetime
from .schema import SEED_END_MS, ObjectSchema

Row = dict[str, Any]
_SYSTEM_FIELDS = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CreatedById"}
)


def field_value(obj: ObjectSchema, i: int, spec: FieldSpec, overrides: Row | None) -> Any:
    """The value of one field of record ``i`` given its overrides; compound fields are dicts."""
    if spec.type in COMPOUND_TYPES:
        parts = {
            compound_key(spec.name, part): field_value(obj, i, obj.fields[part], overrides)
            for part in spec.components
        }
        return parts | {"geocodeAccuracy": None} if spec.type == "address" else parts
    if overrides is not None and spec.name in overrides:
        return overrides[spec.name]
    return spec.gen.value(i)


class Store:
    """Seeded records of every object and the overlay of changes made through the control API."""

    def __init__(self, objects: dict[str, ObjectSchema]) -> None:
        self.objects = objects
        self.lock = threading.RLock()
        self.overlay: dict[str, dict[int, Row]] = {name: {} for name in objects}
        self.created: dict[str, int] = dict.fromkeys(objects, 0)
        self._lower = {name.lower(): name for name in objects}
        self._last_stamp = SEED_END_MS
        self.revision = 0  # bumped by every change, so cached pages of older data go unused

    def add_object(self, obj: ObjectSchema) -> None:
        """Make a new object (a custom object) queryable."""
        with self.lock:
            self.objects[obj.name] = obj
            self.overlay[obj.name] = {}
            self.created[obj.name] = 0
            self._lower[obj.name.lower()] = obj.name
            self.revision += 1

    def find(self, name: str) -> ObjectSchema | None:
        """The object called ``name`` (case-insensitive), or None."""
        canonical = self._lower.get(name.lower())
        return self.objects[canonical] if canonical else None

    def schema(self, name: str) -> ObjectSchema:
        """The object called ``name``; raises ``EmulatorUsageError`` if there is none."""
        found = self.find(name)
        if found is None:
            raise EmulatorUsageError(f"unknown object {name!r}; known: {sorted(self.objects)}")
        return found

    def size(self, obj: ObjectSchema) -> int:
        """How many record numbers exist (seeded and created, deleted or not)."""
        return obj.count + self.created[obj.name]

    def row(self, obj: ObjectSchema, i: int) -> Row:
        """Every field of record ``i`` as it is now (the overlay applied)."""
        overrides = self.overlay[obj.name].get(i)
        return {name: field_value(obj, i, spec, overrides) for name, spec in obj.fields.items()}

    def is_deleted(self, obj: ObjectSchema, i: int) -> bool:
        overrides = self.overlay[obj.name].get(i)
        return bool(overrides and overrides.get("IsDeleted"))

    def record_count(self, name: str, include_deleted: bool = False) -> int:
        """Records of an object, without (default) or with the deleted ones."""
        obj = self.schema(name)
        with self.lock:
            deleted = sum(1 for o in self.overlay[obj.name].values() if o.get("IsDeleted"))
            return self.size(obj) - (0 if include_deleted else deleted)

    def pick(
        self,
        name: str,
        ids: Iterable[str] | None,
        count: int | None,
        last: bool,
        deleted: bool = False,
    ) -> tuple[ObjectSchema, list[int]]:
        """Record numbers named by ``ids``, or the first/last ``count`` (not) deleted ones."""
        obj = self.schema(name)
        if ids is not None:
            found = []
            for record_id in ids:
                i = obj.codec.parse(record_id)
                if i is None or i >= self.size(obj):
                    raise EmulatorUsageError(f"no {obj.name} record has id {record_id!r}")
                found.append(i)
            return obj, found
        if count is None:
            raise EmulatorUsageError("pass ids=[...] or count=N")
        layer = self.overlay[obj.name]
        if deleted:  # only overlay records can be deleted
            order: Iterable[int] = sorted(
                (i for i, o in layer.items() if o.get("IsDeleted")), reverse=last
            )
        else:
            order = range(self.size(obj) - 1, -1, -1) if last else range(self.size(obj))
        chosen: list[int] = []
        for i in order:
            if len(chosen) >= count:
                break
            if self.is_deleted(obj, i) == deleted:
                chosen.append(i)
        return obj, chosen

    def _stamp(self) -> int:
        self._last_stamp = max(int(time.time() * 1000), self._last_stamp + 1)
        return self._last_stamp

    def _coerce(self, obj: ObjectSchema, fields: Row) -> Row:
        out: Row = {}
        for name, value in fields.items():
            canonical = obj.canonical(name)
            spec = obj.fields.get(canonical or "")
            if spec is None or spec.name in _SYSTEM_FIELDS or spec.type in COMPOUND_TYPES:
                raise EmulatorUsageError(f"{obj.name}.{name} cannot be set")
            if spec.type == "datetime" and isinstance(value, str):
                parsed = parse_datetime(value)
                if parsed is None:
                    raise EmulatorUsageError(f"{obj.name}.{name}: bad datetime {value!r}")
                value = parsed
            out[spec.name] = value
        return out

    def _touch(self, obj: ObjectSchema, indexes: list[int], changes: Row) -> list[str]:
        self.revision += 1
        stamp = self._stamp()
        layer = self.overlay[obj.name]
        for i in indexes:
            layer.setdefault(i, {}).update(changes, LastModifiedDate=stamp, SystemModstamp=stamp)
        return [obj.codec.make(i) for i in indexes]

    def update(
        self,
        name: str,
        ids: Iterable[str] | None,
        count: int | None,
        fields: Row | None,
        last: bool = False,
    ) -> list[str]:
        """Change fields (or only the modification stamps) of records; returns their ids."""
        with self.lock:
            obj, indexes = self.pick(name, ids, count, last)
            return self._touch(obj, indexes, self._coerce(obj, fields or {}))

    def set_deleted(
        self,
        name: str,
        ids: Iterable[str] | None,
        count: int | None,
        deleted: bool,
        last: bool = False,
    ) -> list[str]:
        """Delete (to the recycle bin) or undelete records; returns their ids."""
        if "IsDeleted" not in self.schema(name).fields:
            raise EmulatorUsageError(f"{name} records cannot be deleted in Salesforce")
        with self.lock:
            obj, indexes = self.pick(name, ids, count, last, deleted=not deleted)
            return self._touch(obj, indexes, {"IsDeleted": deleted})

    def create(self, name: str, fields: Row | None) -> str:
        """Add a record (seeded-looking values, overridden by ``fields``); returns its id."""
        with self.lock:
            obj = self.schema(name)
            changes = self._coerce(obj, fields or {})
            i = self.size(obj)
            self.created[obj.name] += 1
            changes["CreatedDate"] = self._last_stamp + 1
            return self._touch(obj, [i], changes)[0]

    def snapshot(self, obj: ObjectSchema) -> dict[int, Row]:
        """Full current rows of every record in the overlay (a consistent copy)."""
        with self.lock:
            return {i: self.row(obj, i) for i in self.overlay[obj.name]}
