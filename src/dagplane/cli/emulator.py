"""``dagplane emulator salesforce``: run the bundled Salesforce API emulator."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("emulator")
def group() -> None:
    """Local emulators of the APIs dagplane's pipelines read."""


@group.command("salesforce")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8443, show_default=True, help="0 picks a free port.")
@click.option("--records", type=int, default=100_000, show_default=True, help="Rows in all.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the TLS certificate and CA bundle are written (default: a temp folder).",
)
@click.option(
    "--csv-dialect",
    type=click.Choice(["salesforce", "minimal"]),
    default="salesforce",
    show_default=True,
    help='Bulk CSV as Salesforce writes it (every value quoted, null as "", 12.0 in int '
    "fields), or dagplane's old minimal dialect.",
)
@click.option(
    "--custom-object",
    "custom_objects",
    multiple=True,
    metavar="NAME__c=N[:FIELD__c=TYPE,...]",
    help="Serve a custom object with N rows and custom fields, e.g. "
    "Invoice__c=500:Amount__c=currency,Due__c=date (repeatable).",
)
def salesforce(
    host: str,
    port: int,
    records: int,
    seed: int,
    state_dir: Path | None,
    csv_dialect: str,
    custom_objects: tuple[str, ...],
) -> int:
    """Serve a Salesforce REST, Bulk 2.0 and OAuth emulator over HTTPS until Ctrl-C."""
    from dagplane.emulators.salesforce import EmulatorUsageError, run_server
    from dagplane.emulators.salesforce.customobj import parse_object_option

    try:
        declared = dict(parse_object_option(text) for text in custom_objects)
    except EmulatorUsageError as exc:
        raise click.BadParameter(str(exc), param_hint="--custom-object") from exc

    run_server(
        host=host,
        port=port,
        records=records,
        seed=seed,
        state_dir=state_dir,
        csv_dialect=csv_dialect,
        custom_objects=declared or None,
    )
    return 0
