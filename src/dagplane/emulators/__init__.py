"""Local emulators of the external APIs dagplane's pipelines read (demo, tests, benchmarks)."""

from __future__ import annotations

__all__: list[str] = []
