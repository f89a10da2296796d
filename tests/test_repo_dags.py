"""The committed dags/ folder matches the committed job packages (what CI should enforce)."""

from __future__ import annotations

import os
from pathlib import Path

from dagplane.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_committed_dags_are_fresh(capsys) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["sync", "--check"])
    finally:
        os.chdir(cwd)
    assert code == 0, capsys.readouterr().err
