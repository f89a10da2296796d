"""The bounded hand-off between extraction and load: order, overlap, bound, errors, early stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from dagplane.pipelines._read_ahead import read_ahead


class Source:
    """Yields 0..n-1, recording what was produced; ``gate`` holds production of item ``k``."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.produced: list[int] = []
        self.started = {k: threading.Event() for k in range(n)}
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[int]:
        try:
            for k in range(self.n):
                self.started[k].set()
                if k == self.fail_at:
                    raise RuntimeError(f"page {k} failed")
                self.produced.append(k)
                yield k
        finally:
            self.closed.set()


def test_items_arrive_in_order_and_all_of_them() -> None:
    assert list(read_ahead(iter(Source(50)), depth=2)) == list(range(50))


def test_the_next_item_is_fetched_while_the_consumer_still_holds_the_current_one() -> None:
    source = Source(5)
    items = read_ahead(iter(source), depth=1)

    assert next(items) == 0
    # The consumer has not asked for item 1, yet its production starts (the overlap).
    assert source.started[1].wait(timeout=5)
    assert list(items) == [1, 2, 3, 4]


def test_no_more_than_depth_items_wait_beyond_the_one_in_production() -> None:
    source = Source(100)
    items = read_ahead(iter(source), depth=2)
    assert next(items) == 0

    assert source.started[3].wait(timeout=5)
    # 1 and 2 wait in the hand-off, 3 is produced and blocked on it: 4 is never started.
    assert not source.started[4].wait(timeout=0.3)
    items.close()


def test_a_producer_error_is_raised_at_its_position() -> None:
    got: list[int] = []

    with pytest.raises(RuntimeError, match="page 3 failed"):
        for item in read_ahead(iter(Source(10, fail_at=3))):
            got.append(item)

    assert got == [0, 1, 2]


def test_stopping_early_stops_the_producer_and_closes_its_iterator() -> None:
    source = Source(1000)
    items = read_ahead(iter(source), depth=1)
    assert [next(items), next(items)] == [0, 1]

    items.close()

    assert source.closed.wait(timeout=5)
    assert len(source.produced) <= 4
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth must be at least 1"):
        next(read_ahead([1], depth=0))
