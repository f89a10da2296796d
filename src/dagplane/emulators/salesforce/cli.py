"""Run the emulator in the foreground (``dagplane emulator salesforce`` and ``python -m``)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from .emulator import SalesforceEmulator


def run_server(
    *,
    host: str,
    port: int,
    records: int,
    seed: int,
    state_dir: Path | None,
    records_per_object: dict[str, int] | None = None,
    csv_dialect: str = "salesforce",
    page_cache_mb: int = 0,
    custom_objects: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Serve until Ctrl-C or SIGTERM; prints the URL, the CA bundle and the demo username.

    ``csv_dialect`` is ``"salesforce"`` (Bulk results as Salesforce writes them) or
    ``"minimal"`` (the older, minimally quoted CSV); ``page_cache_mb`` keeps rendered Bulk
    pages for repeated queries; ``custom_objects`` declares custom objects (both: see
    ``SalesforceEmulator``).
    """
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    emu = SalesforceEmulator(
        records=records,
        seed=seed,
        host=host,
        port=port,
        state_dir=state_dir,
        records_per_object=records_per_object,
        csv_dialect=csv_dialect,
        page_cache_mb=page_cache_mb,
        custom_objects=custom_objects,
    )
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with emu:
            counts = ", ".join(f"{name}={n:,}" for name, n in emu.record_counts.items())
            print(f"Salesforce emulator listening on {emu.url}", flush=True)
            print(f"  CA bundle: {emu.ca_bundle}", flush=True)
            print(f"  username:  {emu.credentials['username']}", flush=True)
            print(f"  records:   {counts}", flush=True)
            print(f"  Bulk CSV:  {emu.csv_dialect} dialect", flush=True)
            print("Press Ctrl-C to stop.", flush=True)
            while not stopped.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("Salesforce emulator stopped.", flush=True)
