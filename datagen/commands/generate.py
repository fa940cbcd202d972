"""``datagen generate``, ``datagen demo``, ``datagen slurm-script``: thin click commands.

The work is done by ``datagen.pipeline.generate_dataset`` (plan, executors, finalize).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from datagen.config import PRESETS


def _config(preset_name, config_path, **over):
    from datagen.config import load_config, preset

    try:
        if config_path:
            return load_config(config_path, **over)
        return preset(preset_name, **over)
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def _types(text):
    if text is None:
        return None
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _overrides(resolution, samples, types, min_visible_px, anomaly_prob):
    over = {"types": _types(types), "samples": samples, "min_visible_px": min_visible_px, "anomaly_prob": anomaly_prob}
    if resolution is not None:
        over.update(resolution=resolution, ref_resolution=resolution)
    return over


def _print_counts(counts):
    if counts:
        by = ", ".join(f"{k} {v}" for k, v in counts.get("by_type", {}).items())
        click.echo(
            f"dataset: {counts.get('samples', 0)} samples ({counts.get('normal', 0)} normal, "
            f"{counts.get('anomalous', 0)} anomalous: {by}); {counts.get('reference_shapes', 0)} reference shapes"
        )


def config_options(f):
    opts = [
        click.option("--preset", "preset_name", type=click.Choice(sorted(PRESETS)), default="brokenchairs", show_default=True,
                     help="Settings preset (brokenchairs = the paper's)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
                     help='Config JSON: {"preset": name, ...fields of datagen.config.GenConfig}.'),
        click.option("--resolution", type=click.IntRange(8, 8192), default=None, help="Query and reference image size, px."),
        click.option("--samples", type=click.IntRange(1, 65536), default=None, help="Cycles samples per pixel."),
        click.option("--types", default=None, help="Comma-separated anomaly types (default all five)."),
        click.option("--min-visible-px", type=click.IntRange(0), default=None,
                     help="Min anomalous pixels (at 256 px; scaled with resolution) for a view to be kept."),
        click.option("--anomaly-prob", type=click.FloatRange(0, 1), default=None, help="Chance a shape gets each anomaly type."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


@click.command("generate")
@config_options
@click.option("--shapes", "library", type=click.Path(file_okay=False, exists=True), required=True, help="Shape library folder.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Dataset root (created; rerun = resume).")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, help="Render worker processes (or Ray actors).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (executor ray; default: start a local Ray).")
@click.option("--shard", default=None, help="INDEX/COUNT: run one deterministic slice (or 'auto': from SLURM/JOB_COMPLETION_INDEX env).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "optix"]), default="cpu", show_default=True, help="Cycles device.")
@click.option("--limit-shapes", type=click.IntRange(1), default=None, help="Use only the first N shapes (sorted ids).")
@click.option("--job-timeout", type=click.FloatRange(min=1), default=900, show_default=True, help="Seconds per render request before the worker is killed.")
@click.option("--retries", type=click.IntRange(0), default=1, show_default=True, help="Retries of a job whose worker crashed or timed out.")
@click.option("--recycle-jobs", type=click.IntRange(1), default=100, show_default=True, help="Restart a worker after this many jobs.")
@click.option("--recycle-mb", type=click.FloatRange(min=100), default=3000, show_default=True, help="Restart a worker above this RSS (MB).")
@click.option("--worker-cmd", default=None, hidden=True, help="Worker command line (tests).")
@click.option("--finalize-only", is_flag=True, help="Only rebuild index.jsonl, splits and counts (after all shards).")
@click.option("--dry-run", is_flag=True, help="Print the plan (JSON) and exit.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate(preset_name, config_path, resolution, samples, types, min_visible_px, anomaly_prob, library, out, seed,
             workers, executor, address, shard, device, limit_shapes, job_timeout, retries, recycle_jobs, recycle_mb,
             worker_cmd, finalize_only, dry_run, quiet):
    """Render a Looking3D-style dataset (format v1) from a shape library.

    Example: datagen generate --preset brokenchairs --shapes shapes/ --out ds/ --seed 0 --workers 2
    """
    import shlex

    from datagen.errors import DatagenError
    from datagen.executors import WorkerOptions
    from datagen.pipeline import generate_dataset
    from datagen.plan import parse_shard

    cfg = _config(preset_name, config_path, **_overrides(resolution, samples, types, min_visible_px, anomaly_prob))
    try:
        sh = parse_shard(shard)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--shard") from None
    if dry_run:
        from datagen.plan import plan, plan_json, shard as take
        from datagen.shapes.library import list_shapes

        ids = sorted(p.name for p in list_shapes(library))[:limit_shapes]
        jobs = plan(cfg, ids, seed)
        click.echo(plan_json(take(jobs, *sh) if sh else jobs), nl=False)
        return
    opts = WorkerOptions(
        cmd=tuple(shlex.split(worker_cmd)) if worker_cmd else None,
        job_timeout=job_timeout, recycle_jobs=recycle_jobs, recycle_mb=recycle_mb, retries=retries,
    )
    try:
        summary, counts = generate_dataset(
            cfg, library, out, seed, workers=workers, executor=executor, address=address, shard=sh,
            limit=limit_shapes, device=device, opts=opts, progress=not quiet, finalize_only=finalize_only,
        )
    except DatagenError as e:
        raise click.ClickException(str(e)) from None
    if summary is not None:
        click.echo(summary.line())
    if counts is None:
        click.echo(f"shard {sh[0]}/{sh[1]} finished; after all shards run the same command with --finalize-only")
    _print_counts(counts)
    if summary is not None and summary.counts["failed"]:
        sys.exit(1)


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Dataset root (shapes go to OUT/_shapes).")
@click.option("--shapes", "n_shapes", type=click.IntRange(1), default=6, show_default=True, help="Procedural chairs.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True)
@click.option("--resolution", type=click.IntRange(16, 1024), default=None, help="Image size (default 96).")
@click.option("--samples", type=click.IntRange(1, 4096), default=None, help="Cycles samples (default 8).")
@click.option("--worker-cmd", default=None, hidden=True)
@click.option("--quiet", is_flag=True)
def demo(out, n_shapes, seed, workers, resolution, samples, worker_cmd, quiet):
    """A small dataset from built-in procedural chairs, in a few minutes on 2 CPU cores.

    Example: datagen demo --out demo_ds/
    """
    import shlex

    from datagen.config import preset
    from datagen.errors import DatagenError
    from datagen.executors import WorkerOptions
    from datagen.pipeline import generate_dataset
    from datagen.shapes.procedural import generate_library

    t0 = time.perf_counter()
    lib = Path(out) / "_shapes"
    s = generate_library("chair", n_shapes, lib, seed=seed, progress=False)
    click.echo(s.line("shapes"))
    over = {"samples": samples}
    if resolution is not None:
        over.update(resolution=resolution, ref_resolution=resolution)
    cfg = preset("demo", **over)
    opts = WorkerOptions(cmd=tuple(shlex.split(worker_cmd)) if worker_cmd else None, job_timeout=600)
    try:
        summary, counts = generate_dataset(cfg, lib, out, seed, workers=workers, opts=opts, progress=not quiet)
    except DatagenError as e:
        raise click.ClickException(str(e)) from None
    click.echo(summary.line())
    _print_counts(counts)
    try:
        from datagen.dataset.preview import make_preview
    except ImportError:
        make_preview = None
    if make_preview is not None:
        png = Path(out) / "preview.png"
        make_preview(out, png)
        click.echo(f"preview: {png}")
    click.echo(f"demo dataset in {out} ({time.perf_counter() - t0:.0f} s)")
    if summary.counts["failed"]:
        sys.exit(1)


@click.command("slurm-script")
@config_options
@click.option("--shapes", "library", type=click.Path(file_okay=False), required=True)
@click.option("--dataset", type=click.Path(file_okay=False), required=True, help="Dataset root the tasks write.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--array", type=click.IntRange(1), required=True, help="Number of array tasks (shards).")
@click.option("--out", "script_out", type=click.Path(dir_okay=False), default="run.sbatch", show_default=True,
              help="Where to write the sbatch script.")
@click.option("--cpus", type=click.IntRange(1), default=4, show_default=True)
@click.option("--mem", default="8G", show_default=True)
@click.option("--time", "time_limit", default="24:00:00", show_default=True)
@click.option("--partition", default=None)
@click.option("--gpus", type=click.IntRange(0), default=0, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda", "optix"]), default="cpu", show_default=True)
@click.option("--setup", default=None, help="Shell line(s) before the run, e.g. 'source .venv/bin/activate'.")
def slurm_script_cmd(preset_name, config_path, resolution, samples, types, min_visible_px, anomaly_prob, library,
                     dataset, seed, array, script_out, cpus, mem, time_limit, partition, gpus, device, setup):
    """Write an sbatch array script: task i runs `datagen generate ... --shard i/N`.

    Example: datagen slurm-script --preset brokenchairs --shapes shapes/ --dataset ds/ --array 32 --out run.sbatch
    """
    from datagen.executors.slurm import slurm_script
    from datagen.io import atomic_write_text

    _config(preset_name, config_path, **_overrides(resolution, samples, types, min_visible_px, anomaly_prob))  # validate now
    args = ["--shapes", os.path.abspath(library), "--out", os.path.abspath(dataset), "--seed", str(seed), "--device", device]
    if config_path:
        args += ["--config", os.path.abspath(config_path)]
    else:
        args += ["--preset", preset_name]
    for flag, v in (("--resolution", resolution), ("--samples", samples), ("--types", types),
                    ("--min-visible-px", min_visible_px), ("--anomaly-prob", anomaly_prob)):
        if v is not None:
            args += [flag, str(v)]
    args.append("--quiet")
    text = slurm_script(args, array, cpus=cpus, mem=mem, time=time_limit, partition=partition, gpus=gpus, setup=setup)
    atomic_write_text(script_out, text)
    os.chmod(script_out, 0o755)
    click.echo(f"wrote {script_out}: sbatch {script_out}")
