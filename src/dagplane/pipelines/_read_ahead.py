"""Read a page stream one or two pages ahead in a thread, so extraction overlaps the load.

While the destination COPYs page N, a reader thread already fetches page N+1 (HTTP, gzip,
page checks: work that mostly waits on sockets and releases the GIL). The hand-off is a
bounded queue, so at most ``depth`` pages wait beside the one being loaded and the one being
fetched: memory stays flat however many pages there are.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")
_DONE = object()
_POLL_SECONDS = 0.1


def read_ahead(items: Iterable[T], depth: int = 1, name: str = "read-ahead") -> Iterator[T]:
    """Yield ``items`` in order while a daemon thread produces up to ``depth`` ahead.

    An exception in the producer is raised here, at the position it happened. When the
    consumer stops early (an error, or ``close()``), the producer is told to stop, its
    iterator is closed in its own thread, and nothing more is fetched.
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    handoff: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                handoff.put((item, error), timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(_DONE, exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None and stop.is_set():
                close()

    producer = threading.Thread(target=produce, name=name, daemon=True)
    producer.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        producer.join(timeout=5)
