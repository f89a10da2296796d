"""The ``dagplane`` command line: thin commands over the library, one error boundary."""

from dagplane.cli.main import main

__all__ = ["main"]
