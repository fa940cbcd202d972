"""``datagen export <layout>`` and ``datagen import <layout>``: thin click groups, one library call each.

Layouts: ``looking3d`` (BrokenChairs-180K, Looking 3D), ``oddoneout`` (ToysAD-8K / PartsAD-15K,
Odd-One-Out; export only). More exports add a subcommand to the ``export`` group.
"""

from __future__ import annotations

import time

import click

from datagen.errors import InputError


@click.group("export")
def export():
    """Write a format-v1 dataset in a paper's released layout."""


@click.group("import")
def import_group():
    """Read a paper's released layout into format v1."""


@export.command("looking3d")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Export root (created; must be empty or a previous export: rerun = resume).")
@click.option("--query-size", default=512, show_default=True, type=click.IntRange(8, 8192),
              help="Side of the written query images, px (2d_bbox stays in the 512 frame).")
@click.option("--points", "n_points", default=2000, show_default=True, type=click.IntRange(32),
              help="Surface points per shape in the reference views' .npy (pxy / is_visible).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="Processes writing queries.")
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
@click.option("--check", is_flag=True, help="Then check OUT against the released layout, every sample and shape; "
                                            "exit 1 if a loader [L] or model [M] check fails ([R] differences are notes).")
def export_looking3d_cmd(src, out, query_size, n_points, workers, progress, check):
    """BrokenChairs-180K layout (split.json, images/, annotations/, shapes/) that the official
    Looking 3D train.py reads with --data_path OUT.

    Example: datagen export looking3d ds/ --out bc_like/ --query-size 512 --check
    """
    from datagen.export import export_looking3d

    t = time.perf_counter()
    try:
        s = export_looking3d(src, out, query_size=query_size, n_points=n_points, workers=workers, progress=progress)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    s.seconds = time.perf_counter() - t
    for group, what in (("shape", "shapes"), ("sample", "samples")):
        c = s.by_group.get(group, {})
        click.echo(f"{what}: " + ", ".join(f"{k} {c.get(k, 0)}" for k in ("done", "skipped", "failed")))
    click.echo(s.line("export", outputs="written"))
    s.raise_exit_problem("items", f"{src}: no query samples and no reference views to export", verb="exported")
    if check:
        from datagen.export.looking3d_check import check_looking3d

        report = check_looking3d(out)
        for line in report.lines():
            click.echo(line)
        if report.failed:
            raise click.ClickException(f"{out}: {report.failed} check(s) of the released layout failed (listed above)")


@export.command("oddoneout")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Export root = the config's dataset.data_path (created; must be empty or a previous export: rerun = resume).")
@click.option("--split-file", type=click.Path(dir_okay=False), default=None,
              help="Where the split JSON goes (the config's dataset.split_path)  [default: OUT/split.json]")
@click.option("--size", default=256, show_default=True, type=click.IntRange(16, 4096),
              help="Side of RGB / masks, px (the config's dataset.dimension); K is scaled to it.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="Processes writing scenes.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def export_oddoneout_cmd(src, out, split_file, size, workers, progress):
    """ToysAD-8K / PartsAD-15K layout (one folder per scene: RGB/, masks/, scene3d.metadata.json, ...)
    plus a split JSON, which the official Odd-One-Out train.py reads with dataset.data_path = OUT and
    dataset.split_path = the split file.

    Example: datagen export oddoneout ds/ --out parts_like/ --split-file parts_like/split.json
    """
    from datagen.export import export_oddoneout

    t = time.perf_counter()
    try:
        r = export_oddoneout(src, out, split_file=split_file, size=size, workers=workers, progress=progress)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    r.summary.seconds = time.perf_counter() - t
    for line in r.lines():
        click.echo(line)
    click.echo(r.summary.line("scenes", outputs="written"))
    r.summary.raise_exit_problem("scenes", f"{src}: no scenes to export", verb="exported")


@import_group.command("looking3d")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Dataset root (format v1; rerun = resume).")
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
def import_looking3d_cmd(src, out, progress):
    """The BrokenChairs-180K layout (the released set or an export) -> format v1, for stats, preview,
    verify and train. Unreadable files go to OUT/failures.jsonl; the import goes on.

    Example: datagen import looking3d /data/BrokenChairs --out ds_real/
    """
    from datagen.export import import_looking3d

    t = time.perf_counter()
    try:
        s = import_looking3d(src, out, progress=progress)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    s.seconds = time.perf_counter() - t
    for group, what in (("shape", "shapes"), ("sample", "samples")):
        c = s.by_group.get(group, {})
        click.echo(f"{what}: " + ", ".join(f"{k} {c.get(k, 0)}" for k in ("done", "skipped", "refused", "failed")))
    click.echo(s.line("import", outputs="written"))
    s.raise_exit_problem("items", f"{src}: no query images and no reference views found (expected "
                                  "images/<group>/render_*.png and shapes/shape_<id>/mv_images/)", verb="imported")
