"""Bulk API 2.0 CSV pages, written column by column for speed.

Consecutive pool-drawn fields of a query repeat with ``PERIOD``, so their joined cells are
precomputed once per job for each residue (each pool value formatted and quoted once) and
copied by slicing; ids and stamps of a record range are built with their quotes in one pass.
Only overlay rows (changed records) are formatted one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

from .fields import PERIOD, ConstGen, FieldSpec, PoolGen
from .formats import CsvDialect
from .query import Segment


def _periodic(table: list[str], indexes: Sequence[int]) -> list[str]:
    if not isinstance(indexes, range) or indexes.step != 1:
        return [table[i % PERIOD] for i in indexes]
    out: list[str] = []
    i, stop = indexes.start, indexes.stop
    while i < stop:
        low = i % PERIOD
        take = min(PERIOD - low, stop - i)
        out += table[low : low + take]
        i += take
    return out


class CsvWriter:
    """Turns pages of one query's rows into CSV bytes (header line first)."""

    def __init__(self, fields: list[FieldSpec], dialect: CsvDialect, newline: str) -> None:
        self.fields, self.dialect, self.newline = fields, dialect, newline
        self.delimiter = dialect.delimiter
        self.header = dialect.header(spec.name for spec in fields)
        # Each part is either a precomputed periodic table or a field computed per page.
        self.parts: list[list[str] | FieldSpec] = []
        run: list[FieldSpec] = []
        for spec in [*fields, None]:
            if spec is not None and isinstance(spec.gen, PoolGen | ConstGen):
                run.append(spec)
                continue
            if run:
                self.parts.append(self._table(run))
                run = []
            if spec is not None:
                self.parts.append(spec)

    def _table(self, run: list[FieldSpec]) -> list[str]:
        columns = []
        for spec in run:
            if isinstance(spec.gen, PoolGen):
                columns.append(spec.gen.period_cells(spec.type, self.dialect))
            else:
                columns.append(spec.gen.csv_column(spec.type, range(PERIOD), self.dialect))
        return list(map(self.delimiter.join, zip(*columns, strict=True)))

    def _seeded_lines(self, indexes: Sequence[int]) -> list[str]:
        shared: dict[int, list[str]] = {}
        columns = []
        for part in self.parts:
            if isinstance(part, list):
                columns.append(_periodic(part, indexes))
                continue
            column = shared.get(id(part.gen))
            if column is None:
                column = part.gen.csv_column(part.type, indexes, self.dialect)
                shared[id(part.gen)] = column
            columns.append(column)
        if len(columns) == 1:
            return columns[0]
        return list(map(self.delimiter.join, zip(*columns, strict=True)))

    def page(self, segments: list[Segment]) -> bytes:
        """The CSV body of one page of rows."""
        cell = self.dialect.cell
        lines = [self.header]
        for segment in segments:
            if isinstance(segment, dict):
                row = segment
                lines.append(self.delimiter.join(cell(s.type, row[s.name]) for s in self.fields))
            else:
                lines += self._seeded_lines(segment)
        lines.append("")
        return self.newline.join(lines).encode()
