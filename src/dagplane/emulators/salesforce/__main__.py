"""``python -m dagplane.emulators.salesforce --port 8443 --records 100000``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli import run_server
from .customobj import parse_object_option
from .errors import EmulatorUsageError
from .formats import CSV_DIALECTS
from .schema import KEY_PREFIXES


def _object_count(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if name not in KEY_PREFIXES or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected Object=N with Object in {list(KEY_PREFIXES)}")
    return name, int(count)


def _custom_object(text: str) -> tuple[str, dict]:
    try:
        return parse_object_option(text)
    except EmulatorUsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the emulator in the foreground."""
    parser = argparse.ArgumentParser(
        prog="python -m dagplane.emulators.salesforce",
        description="Serve a local Salesforce REST, Bulk 2.0 and OAuth emulator over HTTPS.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    parser.add_argument("--records", type=int, default=100_000, help="rows in all objects")
    parser.add_argument(
        "--object-records",
        type=_object_count,
        action="append",
        default=[],
        metavar="Object=N",
        help="rows of one object, e.g. Account=1000000 (repeatable; overrides --records)",
    )
    parser.add_argument(
        "--custom-object",
        type=_custom_object,
        action="append",
        default=[],
        metavar="Name__c=N[:Field__c=type,...]",
        help="a custom object with N rows and custom fields, e.g. "
        "Invoice__c=500:Amount__c=currency,Due__c=date (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, default=None, help="where the PEM files go")
    parser.add_argument(
        "--csv-dialect",
        choices=CSV_DIALECTS,
        default="salesforce",
        help="Bulk results CSV: as Salesforce writes it (default) or the older minimal quoting",
    )
    parser.add_argument(
        "--page-cache-mb",
        type=int,
        default=0,
        help="keep this many MB of rendered Bulk pages for repeated queries (benchmarks)",
    )
    args = parser.parse_args(argv)
    run_server(
        host=args.host,
        port=args.port,
        records=args.records,
        seed=args.seed,
        state_dir=args.state_dir,
        records_per_object=dict(args.object_records) or None,
        csv_dialect=args.csv_dialect,
        page_cache_mb=args.page_cache_mb,
        custom_objects=dict(args.custom_object) or None,
    )


if __name__ == "__main__":
    main()
