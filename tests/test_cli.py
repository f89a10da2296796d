"""CLI exit codes mean something: 0 ok, 1 dagplane error, 2 usage, 3 bug, 130 interrupted."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

from dagplane.cli import main
from dagplane.cli import main as main_module


def test_discover_table_json_and_failures(write_job, packages, capsys) -> None:
    write_job("sales", "good", "def main(argv):\n    return 0\n\nJOB = (main, 'ok')\n")
    write_job("sales", "broken", "JOB = Job(entrypoint=run\n")
    code = main(["discover", "--packages-dir", str(packages)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "good" in out and "manual" in out
    assert "error: packages/sales/jobs/broken.py:1: syntax error:" in err
    code = main(["discover", "--packages-dir", str(packages), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [j["dag_id"] for j in data["jobs"]] == ["sales__good"]
    assert data["failures"][0]["path"] == "packages/sales/jobs/broken.py"
    assert data["failures"][0]["line"] == 1


def test_usage_errors_exit_2(capsys) -> None:
    assert main(["sync", "--check", "--watch"]) == 2
    assert "--check and --watch cannot be combined" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2


def test_missing_packages_folder_is_a_one_line_error(tmp_path, capsys) -> None:
    assert main(["discover", "--packages-dir", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: packages folder ") and "does not exist" in err


def test_a_bug_exits_3_with_a_log_pointer(monkeypatch, capsys) -> None:
    def boom(*args, **kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr("dagplane.jobs.discovery.discover", boom)
    assert main(["discover"]) == 3
    err = capsys.readouterr().err
    assert "dagplane crashed: ZeroDivisionError('oops'). This is a bug" in err
    log = err.rsplit("the traceback is in ", 1)[1].strip()
    assert "ZeroDivisionError: oops" in Path(log).read_text()


def test_ctrl_c_exits_130(monkeypatch, capsys) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("dagplane.jobs.discovery.discover", interrupt)
    assert main(["discover"]) == 130


COMMANDS = ["check", "demo", "dev", "discover", "emulator", "images", "render", "run", "sync"]


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_every_command(flag, capsys) -> None:
    from dagplane.cli.main import cli

    assert sorted(cli.commands) == COMMANDS
    assert main_module([flag]) == 0
    out = capsys.readouterr().out
    # The program name is argv[0] (pytest here, dagplane from the console script).
    assert out.startswith("Usage: ") and " [OPTIONS] COMMAND [ARGS]...\n" in out
    assert "dagplane: find Python ETL jobs, turn them into Airflow 3 DAGs" in out
    listed = out.split("\nCommands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed if line.strip()] == COMMANDS
    assert "--version" in out


def test_version_is_the_package_version(capsys) -> None:
    import dagplane

    assert main_module(["--version"]) == 0
    assert capsys.readouterr().out == f"dagplane, version {dagplane.__version__}\n"
    assert dagplane.__version__ == importlib.metadata.version("dagplane")


def test_discover_prints_markup_like_values_literally(write_job, packages, capsys) -> None:
    write_job(
        "sales",
        "odd",
        "from dagplane import Job\n\ndef run(ctx):\n    return 0\n\n"
        "JOB = Job(entrypoint=run, partitions=['[/]', '[bold]eu[/bold]'])\n",
    )
    assert main(["discover", "--packages-dir", str(packages)]) == 0
    out = capsys.readouterr().out
    assert "[/]" in out and "[bold]eu[/bold]" in out
