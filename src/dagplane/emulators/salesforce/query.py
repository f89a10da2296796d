"""Running SOQL against the store: name binding, the query plan and its pages (JSON or CSV).

A plan is a merge of two ordered parts: seeded records in an index range (``lo``..``hi``,
narrowed with arithmetic when the WHERE clause bounds ``SystemModstamp``/``LastModifiedDate``)
minus the records the overlay changed, and the overlay records that match, snapshotted when
the query starts. Ascending ``Id``/``SystemModstamp``/``LastModifiedDate`` order (or none) is
streamed page by page; any other order sorts the rows in memory.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .data import Row, Store, field_value
from .errors import ApiError
from .fields import (
    COMPOUND_TYPES,
    NUMERIC_TYPES,
    FieldSpec,
    to_json_value,
)
from .schema import SEED_END_MS, SEED_SPAN_MS, ObjectSchema
from .soql import (
    BoolOp,
    Compare,
    Condition,
    CountItem,
    InList,
    Literal,
    Not,
    Query,
    malformed,
    parse,
    query_error,
)

Getter = Callable[[str], Any]
Predicate = Callable[[Getter], bool]
Cursor = tuple[int, int, int]
Segment = Sequence[int] | Row  # seeded record numbers, or one overlay row
STAMP_FIELDS = frozenset({"SystemModstamp", "LastModifiedDate"})
MAX_SORTED_ROWS = 5_000_000
# How INVALID_FIELD messages name field types (the SOAP type names).
_TYPE_NAMES = {"datetime": "dateTime", "int": "integer", "currency": "double", "percent": "double"}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class _Binder:
    """Checks names and literal types of one query against one object."""

    def __init__(self, query: Query, obj: ObjectSchema) -> None:
        self.query, self.obj = query, obj

    def field(self, name: str, pos: int) -> FieldSpec:
        canonical = self.obj.canonical(name)
        if canonical is None:
            raise query_error(
                "INVALID_FIELD",
                self.query.text,
                pos,
                (
                    f"No such column '{name}' on entity '{self.obj.name}'. If you are attempting "
                    "to use a custom field, be sure to append the '__c' after the custom field "
                    "name. Please reference your WSDL or the describe call for the appropriate "
                    "names."
                ),
            )
        return self.obj.fields[canonical]

    def literal(self, spec: FieldSpec, lit: Literal, pos: int) -> Any:
        """The value of a literal compared with ``spec``, or Salesforce's INVALID_FIELD.

        SOQL and SOSL Reference, "fieldExpression Syntax": the value's type must match the
        field's; strings are single-quoted, dates, datetimes, numbers, booleans and null are
        not ("Date Formats and Date Literals": a datetime field takes a datetime literal
        with Z or an offset, a date field a date literal).
        """
        if lit.kind == "null":
            return None
        kind, ftype = lit.kind, spec.type
        textual = ftype not in NUMERIC_TYPES | {"date", "datetime", "boolean"}
        if (
            (ftype == "datetime" and kind == "datetime")
            or (ftype == "date" and kind == "date")
            or (ftype in NUMERIC_TYPES and kind == "number")
            or (ftype == "boolean" and kind == "boolean")
            or (textual and kind == "string")
        ):
            return lit.value
        if kind == "identifier" and not textual:
            raise malformed(self.query.text, pos, f"unexpected token: '{lit.value}'")
        expected = _TYPE_NAMES.get(ftype, ftype)
        if textual:
            hint = " and should be enclosed in quotes"
        else:
            hint = " and should not be enclosed in quotes" if kind == "string" else ""
        raise query_error(
            "INVALID_FIELD",
            self.query.text,
            pos,
            f"value of filter criterion for field '{spec.name}' must be of type {expected}{hint}",
        )

    def predicate(self, cond: Condition) -> Predicate:
        if isinstance(cond, BoolOp):
            parts = [self.predicate(item) for item in cond.items]
            if cond.op == "and":
                return lambda get: all(p(get) for p in parts)
            return lambda get: any(p(get) for p in parts)
        if isinstance(cond, Not):
            inner = self.predicate(cond.item)
            return lambda get: not inner(get)
        spec = self.field(cond.field, cond.pos)
        if spec.type in COMPOUND_TYPES:
            message = f"field '{spec.name}' can not be filtered in a query call"
            raise query_error("INVALID_FIELD", self.query.text, cond.pos, message)
        name = spec.name
        if isinstance(cond, InList):
            values = {self.literal(spec, v, cond.pos) for v in cond.values}
            if cond.negated:
                return lambda get: get(name) not in values
            return lambda get: get(name) in values
        value = self.literal(spec, cond.value, cond.pos)
        if cond.op == "=":
            return lambda get: get(name) == value
        if cond.op == "!=":
            return lambda get: get(name) != value
        compare = _OPS[cond.op]
        return lambda get: (v := get(name)) is not None and value is not None and compare(v, value)


def _stamp_bounds(cond: Condition | None) -> tuple[int | None, int | None, list[Condition]]:
    """Half-open [low, high) epoch-ms bounds on the modification stamp, and the rest."""
    items = list(cond.items) if isinstance(cond, BoolOp) and cond.op == "and" else [cond]
    low: int | None = None
    high: int | None = None
    rest: list[Condition] = []
    for item in items:
        if item is None:
            continue
        usable = (
            isinstance(item, Compare)
            and item.value.kind == "datetime"
            and any(item.field.lower() == f.lower() for f in STAMP_FIELDS)
            and item.op != "!="
        )
        if not usable:
            rest.append(item)
            continue
        assert isinstance(item, Compare)
        ms = item.value.value
        if item.op in (">", ">=", "="):
            start = ms + (item.op == ">")
            low = start if low is None else max(low, start)
        if item.op in ("<", "<=", "="):
            end = ms + (item.op != "<")
            high = end if high is None else min(high, end)
    return low, high, rest


@dataclass
class Plan:
    """An executable query: what to read, in which order, and how many rows there are."""

    obj: ObjectSchema
    fields: list[FieldSpec]  # the selected fields, in SELECT order
    limit: int | None
    lo: int  # seeded record numbers lo..hi-1 may match
    hi: int
    residual: Predicate | None  # the WHERE part the index range does not settle
    excluded: list[int]  # overlay record numbers inside lo..hi (served from ``extras``)
    extras: list[Row] = field(default_factory=list)  # matching overlay rows, in output order
    bounds: list[int] = field(default_factory=list)  # seeded records before each extra
    sorted_items: list[int | Row] | None = None  # every row, when the order is not streamed
    total: int = 0
    window_ms: int = 0  # width of the SystemModstamp window (for the query_timeout fault)
    count_only: bool = False  # SELECT COUNT(): ``total`` is the answer, there are no records
    aggregate: list[dict[str, Any]] | None = None  # SELECT COUNT(f): AggregateResult records

    def _seeded_getter(self, i: int) -> Getter:
        fields = self.obj.fields
        return lambda name: fields[name].gen.value(i)

    def matching_seeded(self, start: int, stop: int) -> list[int]:
        """Seeded record numbers in start..stop-1 that pass the residual WHERE."""
        skip, keep = set(self.excluded), self.residual
        assert keep is not None
        return [i for i in range(start, stop) if i not in skip and keep(self._seeded_getter(i))]

    def count_rows(self) -> int:
        """How many rows the query returns (LIMIT applied)."""
        if self.residual is None:
            seeded = self.hi - self.lo - len(self.excluded)
        else:
            seeded = len(self.matching_seeded(self.lo, self.hi))
        total = seeded + len(self.extras)
        return total if self.limit is None else min(total, self.limit)

    def _seeded(self, a: int, bound: int, want: int) -> tuple[list[Segment], int]:
        """Up to ``want`` seeded rows from record ``a`` (exclusive ``bound``); new ``a``."""
        if self.residual is not None:
            found: list[int] = []
            step = max(want, 1024)
            while a < bound and len(found) < want:
                chunk = self.matching_seeded(a, min(bound, a + step))
                take = chunk[: want - len(found)]
                found += take
                a = take[-1] + 1 if len(take) < len(chunk) else min(bound, a + step)
            return ([found] if found else []), a
        segments: list[Segment] = []
        while a < bound and want > 0:
            k = bisect.bisect_left(self.excluded, a)
            gap = self.excluded[k] if k < len(self.excluded) else bound
            if gap == a:
                a += 1
                continue
            stop = min(bound, gap, a + want)
            segments.append(range(a, stop))
            want -= stop - a
            a = stop
        return segments, a

    @property
    def start(self) -> Cursor:
        """The cursor of the first row."""
        return (0, 0, 0) if self.sorted_items is not None else (self.lo, 0, 0)

    def page(self, cursor: Cursor, size: int) -> tuple[list[Segment], Cursor | None]:
        """Rows from ``cursor`` on (at most ``size``) and the cursor after them (None: done)."""
        a, b, emitted = cursor
        if self.sorted_items is not None:
            chunk = self.sorted_items[a : a + size]
            segments: list[Segment] = []
            for item in chunk:
                if isinstance(item, dict):
                    segments.append(item)
                elif segments and isinstance(segments[-1], list):
                    segments[-1].append(item)
                else:
                    segments.append([item])
            emitted = a + len(chunk)
            return segments, (emitted, 0, emitted) if emitted < self.total else None
        want = size if self.limit is None else min(size, self.limit - emitted)
        segments, got = [], 0
        while got < want:
            bound = self.bounds[b] if b < len(self.extras) else self.hi
            if a < bound:
                more, a = self._seeded(a, bound, want - got)
                got += sum(len(s) for s in more)
                segments += more
            elif b < len(self.extras):
                segments.append(self.extras[b])
                b, got = b + 1, got + 1
            else:
                break
        emitted += got
        return segments, (a, b, emitted) if emitted < self.total else None


def build_plan(store: Store, text: str, include_deleted: bool, bulk: bool = False) -> Plan:
    """Parse, check and plan ``text``; raises ``ApiError`` like Salesforce does."""
    query = parse(text)
    obj = store.find(query.sobject)
    if obj is None:
        raise query_error(
            "INVALID_TYPE",
            text,
            query.sobject_pos,
            (
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names."
            ),
        )
    if query.counts:
        return _count_plan(store, query, obj, include_deleted, bulk)
    return _rows_plan(store, query, obj, include_deleted, bulk)


def _count_plan(
    store: Store, query: Query, obj: ObjectSchema, include_deleted: bool, bulk: bool
) -> Plan:
    """``SELECT COUNT()`` or ``SELECT COUNT(f) [alias], ...`` (no GROUP BY: one result row).

    SOQL and SOSL Reference, "COUNT() and COUNT(fieldName)": COUNT() returns the number of
    matching rows as the query result's size with no records; it must be the only element of
    the SELECT list, works with LIMIT, not with ORDER BY. COUNT(fieldName) counts matching rows
    whose field is not null and returns them in one AggregateResult record, under the implied
    alias ``expr0`` (``expr1``, ... for further unaliased items); the size does not reflect it.
    """
    text = query.text
    if bulk:
        # Bulk API 2.0 and Bulk API Developer Guide, "Understanding Bulk API 2.0 Query" (Limits):
        # aggregate functions such as COUNT() are not supported. The guide gives no error text;
        # the job is refused at creation like the other unsupported query features.
        message = "InvalidJob : Aggregate functions such as COUNT() are not supported in Bulk Query"
        raise ApiError(400, "INVALIDJOB", message)
    first = query.counts[0]
    if first.field is None or any(item.field is None for item in query.counts):
        bare = next(item for item in query.counts if item.field is None)
        if len(query.counts) > 1 or query.fields:
            raise malformed(text, bare.pos, "COUNT() must be the only element in the SELECT list")
        if query.order_by:
            raise malformed(text, query.order_by[0].pos, "COUNT() can not be used with ORDER BY")
        plan = _rows_plan(store, replace(query, counts=()), obj, include_deleted, bulk)
        plan.count_only = True
        return plan
    if query.fields:  # no GROUP BY here, so a plain field beside an aggregate is an error
        name, pos = query.fields[0]
        raise malformed(text, pos, f"Field must be grouped or aggregated: {name}")
    if query.order_by:
        item = query.order_by[0]
        raise malformed(
            text, item.pos, f"Ordered field must be grouped or aggregated: {item.field}"
        )
    return _aggregate_plan(store, query, obj, include_deleted)


def _aggregate_plan(store: Store, query: Query, obj: ObjectSchema, include_deleted: bool) -> Plan:
    """COUNT(f) items: each is the row count of the query with ``AND f != null`` added."""
    binder = _Binder(query, obj)
    record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
    unnamed = 0
    plan: Plan | None = None
    for item in query.counts:
        assert isinstance(item, CountItem) and item.field is not None
        spec = binder.field(item.field, item.pos)
        set_ = Compare(spec.name, "!=", Literal("null", None), item.pos)
        where = set_ if query.where is None else BoolOp("and", (query.where, set_))
        counted = replace(query, counts=(), fields=(), where=where, limit=None)
        plan = _rows_plan(store, counted, obj, include_deleted, False)
        key = item.alias or f"expr{unnamed}"
        unnamed += item.alias is None
        record[key] = plan.total
    assert plan is not None
    plan.aggregate = [record]
    plan.total = 1
    return plan


def _rows_plan(
    store: Store, query: Query, obj: ObjectSchema, include_deleted: bool, bulk: bool
) -> Plan:
    """The plan of a query that returns records (the SELECT list names fields)."""
    text = query.text
    binder = _Binder(query, obj)
    fields = [binder.field(name, pos) for name, pos in query.fields]
    seen: set[str] = set()
    for spec, (_, pos) in zip(fields, query.fields, strict=True):
        if spec.name in seen:
            message = f"duplicate field selected: {spec.name}"
            raise query_error("MALFORMED_QUERY", text, pos, message)
        if bulk and spec.type in COMPOUND_TYPES:
            # Bulk API 2.0 and Bulk API Developer Guide, "Create a Query Job": compound address
            # and geolocation fields are not supported; Salesforce's message is this sentence
            # (as clients match it, e.g. airbytehq/airbyte pull request #8206).
            raise ApiError(
                400, "INVALID_FIELD", "Selecting compound data not supported in Bulk Query"
            )
        if bulk and spec.type == "base64":
            # Bulk API 2.0 and Bulk API Developer Guide, "Errors": FeatureNotEnabled; binary
            # fields cannot be queried in bulk ("FeatureNotEnabled : Binary field not
            # supported", as SFDO-Tooling/CumulusCI issue #1662 quotes it).
            raise ApiError(
                400, "FEATURENOTENABLED", "FeatureNotEnabled : Binary field not supported"
            )
        seen.add(spec.name)
    full = binder.predicate(query.where) if query.where else None
    low, high, rest = _stamp_bounds(query.where)
    residual = binder.predicate(BoolOp("and", tuple(rest))) if rest else None
    order = [(binder.field(o.field, o.pos).name, o) for o in query.order_by]
    streamed = not order or (
        len(order) == 1 and not order[0][1].descending and order[0][0] in STAMP_FIELDS | {"Id"}
    )
    stamp = obj.stamp
    with store.lock:
        overlay = store.snapshot(obj)
    lo = stamp.first_at_or_after(low) if low is not None else 0
    hi = min(obj.count, stamp.first_at_or_after(high)) if high is not None else obj.count
    hi = max(lo, hi)
    plan = Plan(
        obj, fields, query.limit, lo, hi, residual, sorted(i for i in overlay if lo <= i < hi)
    )
    plan.window_ms = (high if high is not None else int(time.time() * 1000)) - (
        low if low is not None else SEED_END_MS - SEED_SPAN_MS
    )
    matching = [
        (i, row)
        for i, row in overlay.items()
        if (include_deleted or not row.get("IsDeleted")) and (full is None or full(row.get))
    ]
    by_stamp = streamed and bool(order) and order[0][0] != "Id"
    matching.sort(key=lambda pair: (pair[1][order[0][0]], pair[0]) if by_stamp else pair[0])
    plan.extras = [row for _, row in matching]
    if by_stamp:
        bounds = [stamp.first_at_or_after(row[order[0][0]]) for row in plan.extras]
    else:
        bounds = [i for i, _ in matching]
    plan.bounds = [min(max(bound, lo), hi) for bound in bounds]
    if not streamed:
        _sort(plan, order)
    plan.total = len(plan.sorted_items) if plan.sorted_items is not None else plan.count_rows()
    return plan


def _sort(plan: Plan, order: list[tuple[str, Any]]) -> None:
    if plan.hi - plan.lo > MAX_SORTED_ROWS:
        raise ApiError(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
    if plan.residual is None:
        skip = set(plan.excluded)
        seeded = [i for i in range(plan.lo, plan.hi) if i not in skip]
    else:
        seeded = plan.matching_seeded(plan.lo, plan.hi)
    items: list[int | Row] = [*seeded, *plan.extras]
    fields = plan.obj.fields
    for name, item in reversed(order):
        gen, none_flag = fields[name].gen, 0 if item.nulls_last == item.descending else 1

        def key(x: int | Row, gen=gen, name=name, none_flag=none_flag) -> tuple[int, Any]:
            value = x[name] if isinstance(x, dict) else gen.value(x)
            return (none_flag, None) if value is None else (1 - none_flag, value)

        items.sort(key=key, reverse=item.descending)
    plan.sorted_items = items if plan.limit is None else items[: plan.limit]


def json_records(plan: Plan, segments: list[Segment], version: str) -> list[dict[str, Any]]:
    """REST API records (with ``attributes``) for the rows of a page."""
    obj, fields = plan.obj, plan.fields
    base = f"/services/data/v{version}/sobjects/{obj.name}/"

    def record(record_id: str, get: Getter) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": obj.name, "url": base + record_id}}
        for spec in fields:
            out[spec.name] = to_json_value(spec.type, get(spec.name))
        return out

    records = []
    for segment in segments:
        if isinstance(segment, dict):
            records.append(record(segment["Id"], segment.get))
            continue
        for i in segment:
            get = lambda name, i=i: field_value(obj, i, obj.fields[name], None)  # noqa: E731
            records.append(record(obj.codec.make(i), get))
    return records
