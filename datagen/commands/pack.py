"""``datagen pack``: a dataset's query samples in a few shard files for the trainer (one library call)."""

from __future__ import annotations

import time

import click

from datagen.errors import InputError


@click.command("pack")
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Pack folder (created; must be empty or a pack of the same source and options: rerun = add splits).")
@click.option("--splits", default=None, help="Comma-separated splits (default: every split with query samples).")
@click.option("--resolution", type=click.IntRange(8, 8192), default=None,
              help="Resize every image to R x R (default: keep the source's sizes; packed items then equal the unpacked ones).")
@click.option("--encode", type=click.Choice(["raw", "png", "webp"]), default="raw", show_default=True,
              help="raw: uint8/float32 arrays, memory-mapped, fastest to read; png / webp: lossless, several times smaller.")
@click.option("--quality", type=click.IntRange(1, 100), default=None,
              help="Store the query images as lossy WebP at this quality (e.g. 95), to carry a pack; default: lossless.")
@click.option("--shard-mb", type=click.FloatRange(1, None), default=1024, show_default=True, help="Close a shard at this size.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def pack(src, out, splits, resolution, encode, quality, shard_mb, progress):
    """Pack a format-v1 dataset's training data (queries, reference views, depth, cameras, labels,
    boxes) into shards that `datagen train --data OUT` reads directly.

    Examples: datagen pack ds/ --out ds_pack/ (fastest to read);
    datagen pack ds/ --out ds_small/ --encode webp --resolution 96 --quality 95 (small, to carry)
    """
    from datagen.dataset.pack import pack_dataset

    t = time.perf_counter()
    names = [s.strip() for s in splits.split(",") if s.strip()] if splits else None
    try:
        s = pack_dataset(src, out, splits=names, resolution=resolution, encode=encode, shard_mb=shard_mb, progress=progress,
                         quality=quality)
    except InputError as e:
        raise click.ClickException(str(e)) from None
    for split, e in s.packed.items():
        click.echo(f"{split}: {e['queries']} queries ({e['anomalous']} anomalous), {e['shapes']} shapes, "
                   f"{len(e['shards'])} shard(s), {sum(x['bytes'] for x in e['shards']) / 2**20:.1f} MB")
    for split in s.skipped:
        click.echo(f"{split}: already packed, skipped")
    for split in s.empty:
        click.echo(f"{split}: no query samples")
    click.echo(f"pack: {s.out} ({s.bytes / 2**20:.1f} MB written) in {time.perf_counter() - t:.1f} s")
    if not s.packed and not s.skipped:  # nothing found to do (a bad item stops the pack with its own error)
        asked = f" of split(s) {', '.join(s.empty)}" if s.empty else ""
        raise click.ClickException(f"{src}: no query samples{asked} to pack")
