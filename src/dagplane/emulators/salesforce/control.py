"""The control API over HTTP: ``POST /__emulator__/<op>`` with a JSON object of arguments.

Every op calls the ``SalesforceEmulator`` method of the same name (``object`` names the
sObject): update, delete, undelete, create, add_field, change_field, add_object, inject_fault,
clear_faults, set_api_usage, record_count (``add_object`` takes ``name``, not ``object``);
``stats``, ``requests`` and ``info`` read state (GET works too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import EmulatorUsageError

if TYPE_CHECKING:
    from .emulator import SalesforceEmulator

_CALLS = frozenset(
    {
        "update",
        "delete",
        "undelete",
        "create",
        "add_field",
        "change_field",
        "add_object",
        "inject_fault",
        "clear_faults",
        "set_api_usage",
        "record_count",
    }
)


def run_control(emu: SalesforceEmulator, op: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run one control op; returns its JSON answer."""
    if op == "stats":
        return emu.stats
    if op == "requests":
        return {"requests": emu.requests}
    if op == "info":
        creds = emu.credentials
        return {"url": emu.url, "ca_bundle": str(emu.ca_bundle), "username": creds["username"]}
    if op not in _CALLS:
        known = sorted(_CALLS | {"stats", "requests", "info"})
        raise EmulatorUsageError(f"unknown control op {op!r}; known: {known}")
    args = dict(payload)
    if "object" in args:
        args["obj"] = args.pop("object")
    result = getattr(emu, op)(**args)
    if isinstance(result, dict):
        return result
    if isinstance(result, list):
        return {"ids": result}
    if isinstance(result, str):
        return {"id": result}
    if isinstance(result, int):
        return {"count": result}
    return {"ok": True, "faults": emu.faults.pending(), "api_usage": list(emu.api_usage)}
