"""The public API is small and pinned; changing it is a deliberate act."""

from __future__ import annotations

import importlib
import importlib.metadata

import dagplane
import dagplane.errors
from dagplane.errors import (
    DagplaneError,
    JobDeclarationError,
    SyncError,
    TerminalError,
)


def test_top_level_exports() -> None:
    assert dagplane.__all__ == ["Job", "JobContext", "Resources", "Secret", "__version__"]
    # Each lazy name is the class from its defining module, not a stand-in or another class.
    homes = {
        "Job": "dagplane.jobs.spec",
        "Resources": "dagplane.jobs.spec",
        "Secret": "dagplane.jobs.spec",
        "JobContext": "dagplane.jobs.context",
    }
    for name, module in homes.items():
        exported = getattr(dagplane, name)
        assert exported is getattr(importlib.import_module(module), name), name
        assert isinstance(exported, type) and exported.__name__ == name, name
    assert dagplane.__version__ == importlib.metadata.version("dagplane")
    namespace: dict[str, object] = {}
    exec("from dagplane import *", namespace)  # the star import a job module may write
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(dagplane.__all__)


def test_error_hierarchy_is_the_documented_tree() -> None:
    # Direct bases, as drawn in dagplane/errors.py's docstring; TerminalError marks never-retry.
    expected = {
        "ConfigError": (DagplaneError, TerminalError),
        "DagplaneError": (Exception,),
        "DestinationError": (DagplaneError,),
        "DuplicateJobError": (JobDeclarationError,),
        "ImageError": (DagplaneError, TerminalError),
        "JobDeclarationError": (DagplaneError, TerminalError),
        "JobFailedError": (DagplaneError,),
        "JobNotFoundError": (DagplaneError, TerminalError),
        "OwnershipConflictError": (SyncError, TerminalError),
        "SourceError": (DagplaneError,),
        "SyncError": (DagplaneError,),
        "MassPruneRefused": (SyncError, TerminalError),
        "TerminalError": (object,),
        "TransientError": (object,),
        "UsageError": (DagplaneError, TerminalError),
    }
    assert sorted(dagplane.errors.__all__) == sorted(expected)
    for name, bases in expected.items():
        error = getattr(dagplane.errors, name)
        assert error.__name__ == name and error.__module__ == "dagplane.errors", name
        assert error.__bases__ == bases, name


def test_every_error_derives_from_the_base_class() -> None:
    for name in dagplane.errors.__all__:
        error = getattr(dagplane.errors, name)
        if name in {"TransientError", "TerminalError"}:
            # The mixins are markers, not exceptions: raising one alone must be impossible.
            assert not issubclass(error, BaseException), name
        else:
            assert issubclass(error, DagplaneError), name
