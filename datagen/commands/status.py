"""``datagen status``: progress of a run (one library call: ``datagen.generate.run_status``)."""

from __future__ import annotations

import json

import click


@click.command("status")
@click.argument("root", type=click.Path(exists=True, file_okay=False))
@click.option("--shapes", "library", type=click.Path(exists=True, file_okay=False), default=None,
              help="Shape library (default: the one recorded in dataset.json; scenes runs need it for the plan).")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def status(root, library, as_json):
    """Planned / done / refused / dropped / failed / pending jobs per kind, samples written, samples
    per hour and ETA, from dataset.json (the plan) and the job markers. Works while the run goes on.

    Example: datagen status ds/ [--json]
    """
    from datagen.errors import DatagenError
    from datagen.generate import format_status, run_status

    try:
        st = run_status(root, library)
    except DatagenError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps(st, indent=2) if as_json else format_status(st))
