"""18-character Salesforce record ids: key prefix, base-36 record number, case checksum.

Record ``i`` of an object is ``<prefix>Dn0<i in base 36, 9 chars><checksum>``. Digits and
lower-case letters sort in ASCII order, so ids sort like record numbers, and the checksum
(which only depends on upper-case letters) is constant per key prefix.
"""

from __future__ import annotations

from collections.abc import Iterable

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_CHECKSUM_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_TRIPLES = [a + b + c for a in _BASE36 for b in _BASE36 for c in _BASE36]
_T = len(_TRIPLES)  # 36**3
_T2 = _T * _T
MAX_RECORDS = _T2 * _T


def checksum(id15: str) -> str:
    """The 3-character suffix that makes a 15-character id case-insensitively unique."""
    out = []
    for start in (0, 5, 10):
        bits = 0
        for offset, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        out.append(_CHECKSUM_CHARS[bits])
    return "".join(out)


class IdCodec:
    """Turns record numbers of one object into ids and back."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.head = f"{prefix}Dn0"
        self.tail = checksum(self.head + "000000000")

    def make(self, index: int) -> str:
        """The id of record ``index``."""
        t = _TRIPLES
        return f"{self.head}{t[index // _T2 % _T]}{t[index // _T % _T]}{t[index % _T]}{self.tail}"

    def make_many(self, indexes: Iterable[int], quote: str = "") -> list[str]:
        """Ids of many records (the Bulk CSV hot path), each between two ``quote`` strings."""
        t, head, tail = _TRIPLES, quote + self.head, self.tail + quote
        if not isinstance(indexes, range) or indexes.step != 1:
            return [f"{head}{t[i // _T2 % _T]}{t[i // _T % _T]}{t[i % _T]}{tail}" for i in indexes]
        out: list[str] = []
        i, stop = indexes.start, indexes.stop
        while i < stop:
            block = f"{head}{t[i // _T2 % _T]}{t[i // _T % _T]}"
            low = i % _T
            take = min(_T - low, stop - i)
            out += [f"{block}{x}{tail}" for x in t[low : low + take]]
            i += take
        return out

    def parse(self, record_id: str) -> int | None:
        """The record number of ``record_id`` (15 or 18 chars), or None if it is not ours."""
        if len(record_id) not in (15, 18) or not record_id.startswith(self.head):
            return None
        try:
            return int(record_id[6:15], 36)
        except ValueError:
            return None
