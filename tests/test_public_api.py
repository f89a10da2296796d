"""The public API is small and pinned; changing it is a deliberate act."""

from __future__ import annotations

import dagplane
import dagplane.errors


def test_top_level_exports() -> None:
    assert dagplane.__all__ == ["Job", "JobContext", "Resources", "Secret", "__version__"]
    for name in dagplane.__all__:
        assert getattr(dagplane, name) is not None


def test_every_error_derives_from_the_base_class() -> None:
    for name in dagplane.errors.__all__:
        error = getattr(dagplane.errors, name)
        if name not in {"TransientError", "TerminalError"}:
            assert issubclass(error, dagplane.errors.DagplaneError), name
