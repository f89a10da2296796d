"""``FieldBuilder``: declares the fields of an object with seeded, deterministic values."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from typing import Any

from .fields import (
    SOAP_TYPES,
    ConstGen,
    FieldSpec,
    Generator,
    NumberedGen,
    PoolGen,
    ReferenceGen,
    StampGen,
)
from .ids import IdCodec
from .schema import KEY_PREFIXES, SEED_END_MS, SEED_SPAN_MS

# References to objects with at most this many records draw from a precomputed id pool.
POOLED_REFERENCES = 20_000
FIRST_NAMES = [
    "Ava",
    "Ben",
    "Chloe",
    "Diego",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jamal",
    "Kira",
    "Liam",
    "Mei",
    "Noah",
    "Olga",
    "Priya",
]
LAST_NAMES = [
    "Adams",
    "Brown",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Nowak",
]
WORDS = [
    "alpine",
    "blue",
    "cedar",
    "delta",
    "ember",
    "falcon",
    "granite",
    "harbor",
    "iris",
    "juniper",
    "kestrel",
    "lumen",
]
COMPANY_KINDS = [
    "Systems",
    "Labs",
    "Foods",
    "Logistics",
    "Partners",
    "Media",
    "Energy",
    "Health",
    "Robotics",
    "Textiles",
]
CITIES = [
    "Austin",
    "Berlin",
    "Chicago",
    "Dublin",
    "Lyon",
    "Madrid",
    "Osaka",
    "Porto",
    "Seattle",
    "Toronto",
    "Zurich",
]
STATES = ["TX", "CA", "NY", "WA", "IL", "MA", "ON", "BY"]
COUNTRIES = ["United States", "Germany", "France", "Japan", "Canada", "Spain", "Ireland"]


def _phone(rng: random.Random) -> str:
    return f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


class FieldBuilder:
    """Collects the fields of one object; every pool is drawn from (seed, object, field)."""

    def __init__(self, name: str, seed: int, counts: dict[str, int]) -> None:
        self.name, self.seed, self.counts = name, seed, counts
        self.fields: list[FieldSpec] = []

    def rng(self, fname: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.name}:{fname}")

    def pool(self, fname: str, values: Sequence[Any], nulls: float = 0.0) -> PoolGen:
        rng = self.rng(fname)
        items = list(values) + [None] * math.ceil(len(values) * nulls)
        step = rng.randrange(1, 10_000)
        while math.gcd(step, len(items)) != 1:
            step += 1
        return PoolGen(items, step, rng.randrange(len(items)))

    def add(self, name: str, ftype: str, gen: Generator | None = None, **meta: Any) -> None:
        meta.setdefault("label", name)
        meta.setdefault("soap_type", SOAP_TYPES.get(ftype, "xsd:string"))
        self.fields.append(FieldSpec(name, ftype, gen=gen or ConstGen(None), **meta))

    def text(self, name: str, values: Sequence[str], length: int = 255, nulls: float = 0.0) -> None:
        self.add(name, "string", self.pool(name, values, nulls), length=length)

    def picklist(
        self, name: str, values: Sequence[str], *, ftype: str = "picklist", nulls: float = 0.0
    ) -> None:
        self.add(name, ftype, self.pool(name, values, nulls), length=255, picklist=tuple(values))

    def number(
        self, name: str, ftype: str, low: float, high: float, precision: int, scale: int
    ) -> None:
        rng = self.rng(name)
        if ftype == "int":
            values: list[float] = [rng.randint(int(low), int(high)) for _ in range(509)]
        elif scale == 0:
            values = [round(rng.uniform(low, high)) for _ in range(509)]
        else:
            values = [round(rng.uniform(low, high), scale) for _ in range(509)]
        if ftype == "int":  # an integer field has digits, no precision or scale
            self.add(name, ftype, self.pool(name, values, 0.05), digits=precision)
        else:
            self.add(name, ftype, self.pool(name, values, 0.05), precision=precision, scale=scale)

    def reference(self, name: str, target: str, relationship: str | None = None) -> None:
        """Ids of seeded ``target`` records; drawn from a pool when there are few of them."""
        codec, count = IdCodec(KEY_PREFIXES[target]), self.counts[target]
        gen: Generator
        if count <= POOLED_REFERENCES:
            gen = self.pool(name, codec.make_many(range(count)) or [None])
        else:
            gen = ReferenceGen(codec, count, self.rng(name).randrange(1, 99_991) | 1, 7)
        self.add(name, "reference", gen, length=18, reference_to=(target,))
        self.fields[-1].relationship_name = relationship or name.removesuffix("Id")

    def date(self, name: str, days_back: int, days_ahead: int = 0, nulls: float = 0.0) -> None:
        end = dt.datetime.fromtimestamp(SEED_END_MS // 1000, dt.timezone.utc).date()
        rng = self.rng(name)
        days = [rng.randint(-days_back, days_ahead) for _ in range(401)]
        values = [(end + dt.timedelta(days=d)).isoformat() for d in days]
        self.add(name, "date", self.pool(name, values, nulls))

    def textarea(self, name: str, nulls: float = 0.1) -> None:
        rng = self.rng(name)
        lines = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))).capitalize()
            for _ in range(97)
        ]
        lines += ['Said "call me", then left', "Line one\nline two", "a, b, and c"]
        self.add(name, "textarea", self.pool(name, lines, nulls), length=32_000)

    def address(self, prefix: str, street_name: str = "Street") -> None:
        compound = f"{prefix}Address"
        rng = self.rng(compound)
        streets = [f"{rng.randint(1, 999)} {rng.choice(WORDS).title()} St" for _ in range(211)]
        part = {"compound_field_name": compound}
        self.add(f"{prefix}{street_name}", "textarea", self.pool(f"{prefix}S", streets), **part)
        self.add(f"{prefix}City", "string", self.pool(f"{prefix}C", CITIES, 0.05), **part)
        self.add(f"{prefix}State", "string", self.pool(f"{prefix}St", STATES, 0.1), **part)
        codes = [f"{rng.randint(10000, 99999)}" for _ in range(101)]
        self.add(f"{prefix}PostalCode", "string", self.pool(f"{prefix}P", codes), **part)
        self.add(f"{prefix}Country", "string", self.pool(f"{prefix}Co", COUNTRIES), **part)
        for axis, bound in (("Latitude", 80.0), ("Longitude", 179.0)):
            values = [round(rng.uniform(-bound, bound), 6) for _ in range(307)]
            self.add(
                f"{prefix}{axis}",
                "double",
                self.pool(f"{prefix}{axis}", values, 0.2),
                precision=18,
                scale=15,
                **part,
            )
        self.add(
            compound,
            "address",
            updateable=False,
            components=tuple(f.name for f in self.fields if f.compound_field_name == compound),
        )

    def contact_details(self, phones: Sequence[str] = ("Phone",)) -> None:
        rng = self.rng("contact")
        for name in phones:
            values = [_phone(rng) for _ in range(503)]
            self.add(name, "phone", self.pool(name, values, 0.1), length=40)
        heads = [f"{f.lower()}.{la.lower()}" for f in FIRST_NAMES for la in LAST_NAMES]
        self.add(
            "Email", "email", NumberedGen(heads, ["@example.com", "@example.org"], 7919), length=80
        )

    def person(self) -> None:
        self.text("FirstName", FIRST_NAMES, 40)
        self.text("LastName", LAST_NAMES, 80)
        full = [f"{f} {la}" for f in FIRST_NAMES for la in LAST_NAMES]
        self.add("Name", "string", self.pool("Name", full), length=121, updateable=False)

    def system(self) -> None:
        """The audit fields every object has, stamps rising with the record number."""
        count = self.counts[self.name]
        stamp = StampGen(SEED_END_MS, SEED_SPAN_MS, count)
        lags = [self.rng("lag").randrange(0, 60 * 86_400) * 1000 for _ in range(89)]
        created = StampGen(SEED_END_MS, SEED_SPAN_MS, count, self.pool("CreatedDate", lags))
        for name, gen in (("CreatedDate", created), ("LastModifiedDate", stamp)):
            self.add(name, "datetime", gen, nillable=False, updateable=False)
            by = name.replace("Date", "ById")
            self.reference(by, "User", by.removesuffix("Id"))
            self.fields[-1].updateable = self.fields[-1].nillable = False
        self.add("SystemModstamp", "datetime", stamp, nillable=False, updateable=False)
