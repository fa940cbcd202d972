"""``datagen corrupt``: apply the part corruptions to a shape library (one library call)."""

from __future__ import annotations

import click

from datagen.corrupt.registry import TYPES


def option_help() -> str:
    return ("TYPE.OPTION=VALUE: a field of a corruption type's Params or Thresholds, e.g. broken.min_fraction=0.2, "
            "position.min_displacement=0.05, scale.max_axes=1 (repeatable; `datagen corrupt --list-options` lists them).")


def options_table() -> str:
    """Every corruption option with its default, one per line."""
    import dataclasses

    from datagen.corrupt import registry

    lines = []
    for t in TYPES:
        ct = registry.get(t)
        for cls in (ct.Params, ct.Thresholds):
            for f in dataclasses.fields(cls):
                lines.append(f"{t}.{f.name} = {getattr(cls(), f.name)!r}   ({cls.__name__})")
    return "\n".join(lines)


@click.command()
@click.argument("shapes_root", type=click.Path(exists=True, file_okay=False), required=False)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (one folder per corrupted shape).")
@click.option("--types", default=",".join(TYPES), show_default=True, help="Comma-separated corruption types.")
@click.option("--per-shape", default=1, show_default=True, type=click.IntRange(0), help="Corruptions per shape and type (k = 0..n-1).")
@click.option("--seed", default=0, show_default=True, type=int, help="Run seed; rng per item = rng_for(seed, shape, type, k).")
@click.option("--max-faces", default=None, type=click.IntRange(1), help="Reject input parts with more faces than this.")
@click.option("--attempts", default=3, show_default=True, type=click.IntRange(1), help="Redraws when a sample fails a check.")
@click.option("--set", "sets", multiple=True, metavar="TYPE.OPTION=VALUE", help=option_help())
@click.option("--list-options", is_flag=True, help="List every corruption option with its default and exit.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def corrupt(shapes_root, out, types, per_shape, seed, max_faces, attempts, sets, list_options, progress):
    """Corrupt every shape of SHAPES_ROOT with each type, write OUT/<shape>__<type>__<k>/.

    Each output folder is a shape folder plus corruption.json and anomaly/before.obj,
    anomaly/after.obj. Existing outputs are skipped (resume); refusals go to
    OUT/refusals.jsonl, failures (bad input) to OUT/failures.jsonl.

    Example: datagen corrupt shapes/ --types position,broken,scale --set broken.min_fraction=0.2 --out corrupted/
    """
    if list_options:
        click.echo(options_table())
        return
    if shapes_root is None or out is None:
        raise click.UsageError("SHAPES_ROOT and --out are required")
    from datagen.corrupt.api import parse_options
    from datagen.corrupt.run import corrupt_library

    kinds = tuple(t.strip() for t in types.split(",") if t.strip())
    bad = [t for t in kinds if t not in TYPES]
    if bad or not kinds:
        raise click.BadParameter(f"unknown type(s) {bad}; expected some of {', '.join(TYPES)}", param_hint="--types")
    try:
        options = parse_options(sets)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--set") from None
    summary = corrupt_library(shapes_root, out, types=kinds, per_shape=per_shape, seed=seed, options=options,
                              max_faces=max_faces, attempts=attempts, progress=progress)
    click.echo(summary.line("corruptions"))
    empty = (f"--per-shape {per_shape}: nothing to corrupt" if per_shape == 0 else
             f"{shapes_root}: no shapes found (expected one folder per shape with parts.json)")
    summary.raise_exit_problem("corruptions", empty, verb="written")
