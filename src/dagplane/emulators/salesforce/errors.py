"""Errors of the Salesforce emulator: its own failures and the API errors it answers with."""

from __future__ import annotations

from dagplane.errors import DagplaneError, UsageError

__all__ = ["ApiError", "EmulatorError", "EmulatorUsageError"]


class EmulatorError(DagplaneError):
    """The emulator itself failed (could not start, bind its port, write its certificate...)."""


class EmulatorUsageError(UsageError):
    """A control operation was called wrongly (unknown object, id, fault kind, field type)."""


class ApiError(Exception):
    """An error the emulated API answers with: HTTP status, Salesforce ``errorCode``, message.

    Not a ``DagplaneError``: it never leaves the emulator, the HTTP layer renders it as the
    JSON list ``[{"message": ..., "errorCode": ...}]`` Salesforce sends.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        empty_body: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.empty_body = empty_body  # answer with no body at all (the empty_body_error fault)

    def body(self) -> list[dict[str, str]]:
        """The JSON error body Salesforce sends."""
        return [{"message": self.message, "errorCode": self.code}]
