"""``datagen shapes procedural``: write a library of procedural part-annotated shapes."""

from __future__ import annotations

import click

from datagen.shapes.procedural import CATEGORIES
from datagen.shapes.procedural.mechanical import KINDS


@click.command("procedural")
@click.option("--category", type=click.Choice(CATEGORIES), required=True, help="What to generate.")
@click.option("--count", type=click.IntRange(min=0), required=True, help="How many shapes (indices start .. start+count-1).")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed; shape i uses rng_for(seed, category, i).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Shape library folder (created).")
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True, help="First shape index (for shards).")
@click.option("--prefix", default=None, help="Shape id prefix (default: the category, or the kind); id = PREFIX_000123.")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Mechanical only: fix the kind (default: drawn per shape).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def procedural(category, count, seed, out, start, prefix, kind, quiet):
    """Generate COUNT procedural shapes: chairs with PartNet labels, mechanical parts, or
    household / toy categories (table, lamp, mug, cup, bottle, car, airplane, train,
    animal, robot, chess_piece).

    Shapes already in OUT are skipped, so rerunning the same command resumes. Failures
    are listed in OUT/failures.jsonl; the exit status is 1 (with one line) if any shape failed
    or there is nothing to generate (--count 0).

    \b
    Examples:
      datagen shapes procedural --category chair --count 200 --seed 0 --out shapes/
      datagen shapes procedural --category mug --count 10 --out shapes/
    """
    from datagen.shapes.procedural import generate_library

    if kind is not None and category != "mechanical":
        raise click.BadParameter("--kind applies to --category mechanical only", param_hint="--kind")
    summary = generate_library(category, count, out, seed=seed, start=start, prefix=prefix, kind=kind, progress=not quiet)
    click.echo(summary.line("shapes"))
    summary.raise_exit_problem("shapes", f"--count {count}: no shapes to generate", verb="written", strict=True)
