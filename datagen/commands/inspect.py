"""``datagen stats | preview | verify``: inspect a dataset in format v1 (one library call each)."""

from __future__ import annotations

import json

import click

from datagen.errors import InputError

_root = click.argument("root", type=click.Path(exists=True, file_okay=False))


@click.command()
@_root
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON instead of a table.")
@click.option("--max-meta", default=None, type=int,
              help="Read at most this many samples' meta.json for the resolutions (default: all).")
def stats(root, as_json, max_meta):
    """Counts like the paper's Table 1: shapes, images and views per shape by anomaly type, splits, resolutions.

    Reads only dataset.json, splits.json, index.jsonl and meta/cameras JSON (no image).

    Example: datagen stats ds/ [--json]
    """
    from datagen.dataset.stats import compute_stats, format_table

    try:
        st = compute_stats(root, max_meta=max_meta)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    click.echo(json.dumps(st, indent=2) if as_json else format_table(st), nl=as_json)


@click.command()
@_root
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("-n", "n", default=8, show_default=True, type=click.IntRange(min=1), help="Query samples (rows); scenes of a scenes dataset.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the (deterministic) choice of samples.")
@click.option("--split", default=None, help="Only samples of this split (train, val, test).")
@click.option("--scenes", default=None, type=click.IntRange(min=0), help="Odd-One-Out scene rows (default: N for a scenes dataset, else 2).")
@click.option("--cell", default=160, show_default=True, type=click.IntRange(min=32), help="Cell size in pixels.")
def preview(root, out, n, seed, split, scenes, cell):
    """One PNG to judge the dataset at a glance: per sample the query, mask/bbox overlays, parts, depth,
    reference views; per scene several views with every object's 2D box (green normal, red anomalous),
    the anomaly's pixels, instances and depth.

    The samples (and scenes) cover every anomaly type present plus normals.

    Example: datagen preview ds/ --out preview.png -n 8 --seed 0
    """
    from datagen.dataset.preview import make_preview

    try:
        path = make_preview(root, out, n=n, seed=seed, split=split, scenes=scenes, cell=cell)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {path}")


@click.command()
@_root
@click.option("--pixels/--no-pixels", default=True, show_default=True,
              help="Also load depth, parts and masks (--no-pixels: files, JSON, image headers and manifests only).")
@click.option("--checksums/--no-checksums", default=True, show_default=True,
              help="Compare every file's BLAKE2b digest with its manifest.json (--no-checksums: sizes only).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=0),
              help="Print at most this many problems (0 = all).")
@click.option("--progress/--no-progress", default=False, help="Show a progress bar.")
def verify(root, pixels, checksums, limit, progress):
    """Check a dataset on disk; list the problems and exit 1 when there are any.

    Every file is checked against its folder's manifest.json (missing, added, size, BLAKE2b
    digest), also with --no-pixels. Folders written before checksums are listed as warnings.

    Example: datagen verify ds/ [--no-pixels] [--no-checksums]
    """
    from datagen.dataset.verify import verify as run_verify

    warnings: list[str] = []
    problems = run_verify(root, pixels=pixels, progress=progress, manifests=True, digests=checksums, warnings=warnings)
    for lines, what, prefix in ((warnings, "warnings", "warning: "), (problems, "problems", "")):
        shown = lines if limit == 0 else lines[:limit]
        for p in shown:
            click.echo(prefix + p)
        if len(shown) < len(lines):
            click.echo(f"... and {len(lines) - len(shown)} more {what} (--limit 0 lists all)")
    if not problems:
        click.echo(f"{root}: ok" + (f" ({len(warnings)} warning(s))" if warnings else ""))
        return
    click.echo(f"{root}: {len(problems)} problem(s)", err=True)
    raise SystemExit(1)
