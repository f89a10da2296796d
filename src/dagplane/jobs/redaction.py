"""Keep secret values out of logs: a logging filter and stream wrappers that mask them.

What this covers: everything the job writes through ``sys.stdout``/``sys.stderr`` and every
logging record (message, arguments and traceback), with the value as it is or escaped by
``repr``, JSON or URL quoting. What it cannot cover: output of child processes and raw writes to
file descriptors 1 and 2, a secret split across separate writes, and values shorter than
``MIN_SECRET_LENGTH`` characters (masking those would garble ordinary text).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import TextIO

__all__ = ["MASK", "Redactor", "redacting"]

MASK = "***"
# Very short values would mask ordinary text everywhere; they are not secret enough to hide.
MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces every known secret value in a text with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Start masking these values: as they are, each of their lines (multi-line secrets),
        and the escaped forms ``repr``, JSON and URL quoting give them."""
        values = set(self._secrets)
        for secret in secrets:
            for value in (secret, *secret.splitlines(), *_escaped_forms(secret)):
                if len(value.strip()) >= MIN_SECRET_LENGTH:
                    values.add(value)
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._secrets)


def _escaped_forms(secret: str) -> list[str]:
    return [
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),  # the default keeps "/", as in a URL's path or userinfo
        urllib.parse.quote_plus(secret),
    ]


class _RedactingFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Handlers format exc_info their own way (Airflow's structlog ignores exc_text), so
            # the traceback is formatted here, masked, and moved into the message itself.
            formatted = logging.Formatter().formatException(record.exc_info)
            clean = f"{clean}\n{self.redact(formatted)}"
            record.exc_info, record.exc_text = None, None
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


class _RedactingStream(io.TextIOBase):
    """A text stream that masks secrets before writing to the wrapped stream."""

    def __init__(self, inner: TextIO, redact: Redactor) -> None:
        self._inner = inner
        self._redact = redact

    def write(self, text: str) -> int:
        self._inner.write(self._redact(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")


@contextlib.contextmanager
def redacting(redact: Redactor) -> Iterator[Redactor]:
    """Mask secrets in everything written to stdout, stderr and every logging handler."""
    if not redact:
        yield redact
        return
    log_filter = _RedactingFilter(redact)
    handlers = _all_handlers()
    for handler in handlers:
        handler.addFilter(log_filter)
    out, err = sys.stdout, sys.stderr
    sys.stdout = _RedactingStream(out, redact)  # type: ignore[assignment]
    sys.stderr = _RedactingStream(err, redact)  # type: ignore[assignment]
    try:
        yield redact
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = out, err
        for handler in handlers:
            handler.removeFilter(log_filter)


def _all_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    seen: dict[int, logging.Handler] = {}
    for logger in loggers:
        for handler in logger.handlers:
            seen[id(handler)] = handler
    return list(seen.values())
