"""``datagen scenes``: Odd-One-Out scenes (ToysAD / PartsAD style), one library call.

The same plan / run machinery as ``datagen generate`` (``run_options``: workers, Ray, shards,
resume, ``--dry-run --specs``), with ``datagen.jobs.oddoneout.ScenesRunner``.
"""

from __future__ import annotations

import math
from pathlib import Path

import click

from datagen.commands.generate import MATERIALS, MATERIALS_MIX, RESOLUTION, SAMPLES, run_options
from datagen.scene_config import SCENE_PRESETS


def builtin_library(preset: str, n_scenes: int, out: Path, seed: int) -> Path:
    """Procedural shapes for a run without ``--shapes``: the toy categories (toysad) or mechanical
    parts (partsad), about two scenes per shape; written to ``out`` (resumable). Returns ``out``."""
    from datagen.shapes.procedural import TOY_CATEGORIES, generate_library

    if preset == "partsad":
        generate_library("mechanical", max(6, math.ceil(n_scenes / 2)), out, seed=seed, prefix="part", progress=False)
    else:
        per = max(2, math.ceil(n_scenes / (2 * len(TOY_CATEGORIES))))
        for cat in TOY_CATEGORIES:
            generate_library(cat, per, out, seed=seed, progress=False)
    return out


def scenes_config(preset_name, config_path, resolution, samples, views, types, anomaly_ratio, sets, materials_dir,
                  materials_mix, **_):
    """The ScenesConfig of ``datagen scenes``'s options (other keys are ignored)."""
    from datagen.commands.generate import _overrides, _types, make_config
    from datagen.scene_config import load_scenes_config, scenes_preset

    over = _overrides(resolution=None, samples=samples, sets=sets, materials_dir=materials_dir, materials_mix=materials_mix)
    over.update(resolution=resolution, views=views, types=_types(types), anomaly_ratio=anomaly_ratio)
    return make_config(preset_name, config_path, load_scenes_config, scenes_preset, **over)


@click.command("scenes")
@click.option("--preset", "preset_name", type=click.Choice(sorted(SCENE_PRESETS)), default="toysad", show_default=True,
              help="toysad: household/toy categories, seen/unseen splits; partsad: mechanical parts, tilts and flips.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help='Config JSON: {"preset": name, ...fields of datagen.scene_config.ScenesConfig}.')
@click.option("--shapes", "library", type=click.Path(file_okay=False, exists=True), default=None,
              help="Shape library (default: built-in procedural shapes in OUT/_shapes).")
@click.option("--scenes", "n_scenes", type=click.IntRange(0), default=100, show_default=True, help="Number of scenes.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Dataset root (created; rerun = resume).")
@click.option("--seed", type=int, default=0, show_default=True)
@RESOLUTION
@SAMPLES
@click.option("--views", type=click.IntRange(2, 360), default=None, help="Cameras per scene (default 20).")
@click.option("--types", default=None, help="Comma-separated anomaly types (corruption types and 'material').")
@click.option("--anomaly-ratio", type=click.FloatRange(0, 1), default=None, help="Share of scenes with an anomalous copy.")
@click.option("--set", "sets", multiple=True, metavar="TYPE.OPTION=VALUE", help="A corruption option, e.g. bend.min_deg=30.")
@MATERIALS
@MATERIALS_MIX
@click.option("--limit-shapes", type=click.IntRange(1), default=None, help="Use only the first N shapes (sorted ids).")
@run_options
def scenes(preset_name, config_path, library, n_scenes, out, seed, resolution, samples, views, types, anomaly_ratio, sets,
           materials_dir, materials_mix, limit_shapes, workers, executor, address, shard, device, threads, job_timeout,
           retries, recycle_jobs, recycle_mb, worker_cmd, finalize_only, dry_run, specs, job_patterns, quiet):
    """Render Odd-One-Out scenes: copies of one shape on a floor, one of them anomalous, from many views.

    Example: datagen scenes --preset partsad --shapes shapes/abc/ --scenes 1000 --seed 0 --out parts_ds/ --workers 2
    """
    from datagen.commands.generate import run_command
    from datagen.jobs.oddoneout import ScenesRunner

    cfg = scenes_config(preset_name, config_path, resolution, samples, views, types, anomaly_ratio, sets, materials_dir,
                        materials_mix)

    def make_runner():
        lib = library if library is not None else builtin_library(cfg.preset, n_scenes, Path(out) / "_shapes", seed)
        return ScenesRunner(cfg, lib, out, seed, limit=limit_shapes, n_scenes=n_scenes)

    run_command(make_runner, "scenes", shard=shard, dry_run=dry_run, specs=specs, job_patterns=job_patterns,
                finalize_only=finalize_only, workers=workers, executor=executor, address=address, device=device,
                threads=threads, job_timeout=job_timeout, retries=retries, recycle_jobs=recycle_jobs,
                recycle_mb=recycle_mb, worker_cmd=worker_cmd, quiet=quiet)
