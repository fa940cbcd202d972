"""``datagen generate``, ``datagen demo``, ``datagen slurm-script``: thin click commands.

The work is done by ``datagen.generate.generate_dataset`` with a runner of ``datagen.jobs``.
Options shared by several commands are defined once here (``config_options``, ``run_options``),
so ``demo`` and ``generate`` accept the same ranges.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from datagen.config import PRESETS

RESOLUTION = click.option("--resolution", type=click.IntRange(8, 8192), default=None,
                          help="Query and reference image size, px.")
SAMPLES = click.option("--samples", type=click.IntRange(1, 65536), default=None, help="Cycles samples per pixel.")
WORKER_CMD = click.option("--worker-cmd", default=None, hidden=True, help="Worker command line (tests).")
QUIET = click.option("--quiet", is_flag=True, help="No progress bar.")
MATERIALS = click.option("--materials", "materials_dir", type=click.Path(), default=None,
                         help="Folder of texture-map materials (ambientCG / Poly Haven / Adobe naming, one sub-folder each; "
                              "substances from substances.json or the folder names). Default: only procedural presets.")
MATERIALS_MIX = click.option("--materials-mix", type=click.FloatRange(0, 1), default=None,
                             help="Share of part labels drawn from --materials, the rest procedural (default 1: folder only).")


def config_file_error(config_path, e: Exception) -> click.ClickException:
    """One line naming the config file for an error of loading it (exit code 1, not a usage error)."""
    msg = " ".join(str(e).split())
    if not msg.startswith(f"{config_path}:"):
        msg = f"{config_path}: bad config: {msg}"
    return click.ClickException(msg)


def make_config(preset_name, config_path, from_file, from_preset, **over):
    """A run config from a --config file (``from_file``) or a preset (``from_preset``) with ``over``.
    A problem in the file is one line naming it (exit code 1); a bad option is a usage error."""
    from datagen.errors import InputError

    if config_path:
        try:
            return absolute_materials(from_file(config_path, **over))
        except (ValueError, TypeError, KeyError, InputError) as e:
            raise config_file_error(config_path, e) from e
    try:
        return absolute_materials(from_preset(preset_name, **over))
    except (ValueError, InputError) as e:
        raise click.UsageError(str(e)) from None


def _config(preset_name, config_path, **over):
    from datagen.config import load_config, preset

    return make_config(preset_name, config_path, load_config, preset, **over)


def absolute_materials(cfg):
    """``cfg`` with its ``materials_dir`` made absolute (relative to the working directory): the dataset
    records where the materials came from, and workers may run elsewhere."""
    d = getattr(cfg, "materials_dir", None)
    if d is None or os.path.isabs(d):
        return cfg
    import dataclasses

    return dataclasses.replace(cfg, materials_dir=os.path.abspath(d))


def report_materials(runner, err: bool = False) -> None:
    """Load the run's material library now (a bad --materials folder stops here, before any rendering)
    and print the one-line report of a texture folder."""
    line = runner.materials_report()
    if line:
        click.echo(line, err=err)


def _types(text):
    if text is None:
        return None
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _overrides(resolution=None, samples=None, types=None, min_visible_px=None, anomaly_prob=None, sets=(),
               materials_dir=None, materials_mix=None):
    over = {"types": _types(types), "samples": samples, "min_visible_px": min_visible_px, "anomaly_prob": anomaly_prob,
            "materials_dir": None if materials_dir is None else os.path.abspath(materials_dir),
            "materials_mix": materials_mix}
    if resolution is not None:
        over.update(resolution=resolution, ref_resolution=resolution)
    if sets:
        from datagen.corrupt.api import parse_options

        try:
            over["corruption"] = parse_options(sets)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--set") from None
    return over


def print_counts(counts, what: str = "samples"):
    if counts:
        by = ", ".join(f"{k} {v}" for k, v in counts.get("by_type", {}).items())
        refs = f"; {counts.get('reference_shapes', 0)} reference shapes" if what == "samples" else ""
        click.echo(f"dataset: {counts.get('samples', 0)} {what} ({counts.get('normal', 0)} normal, "
                   f"{counts.get('anomalous', 0)} anomalous: {by}){refs}")


def config_options(f):
    opts = [
        click.option("--preset", "preset_name", type=click.Choice(sorted(PRESETS)), default="brokenchairs", show_default=True,
                     help="Settings preset (brokenchairs = the paper's)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
                     help='Config JSON: {"preset": name, ...fields of datagen.config.GenConfig}.'),
        RESOLUTION,
        SAMPLES,
        click.option("--types", default=None, help="Comma-separated anomaly types (default: the preset's)."),
        click.option("--min-visible-px", type=click.IntRange(0), default=None,
                     help="Min anomalous pixels (at 256 px; scaled with resolution) for a view to be kept."),
        click.option("--anomaly-prob", type=click.FloatRange(0, 1), default=None, help="Chance a shape gets each anomaly type."),
        click.option("--set", "sets", multiple=True, metavar="TYPE.OPTION=VALUE",
                     help="A corruption option, e.g. broken.min_fraction=0.2 (see `datagen corrupt --list-options`)."),
        MATERIALS,
        MATERIALS_MIX,
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def run_options(f):
    """Options of a run's execution (not its content): executor, workers, device, recovery."""
    opts = [
        click.option("--workers", type=click.IntRange(1), default=1, show_default=True, help="Render worker processes (or Ray actors)."),
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True),
        click.option("--address", default=None, help="Ray cluster address (executor ray; default: start a local Ray)."),
        click.option("--shard", default=None, help="INDEX/COUNT: run one deterministic slice (or 'auto': from SLURM/JOB_COMPLETION_INDEX env)."),
        click.option("--device", type=click.Choice(["cpu", "cuda", "optix"]), default="cpu", show_default=True, help="Cycles device."),
        click.option("--threads", type=click.IntRange(0), default=0, show_default=True,
                     help="Cycles threads per worker (0 = the machine's cores shared among the workers)."),
        click.option("--job-timeout", type=click.FloatRange(min=1), default=900, show_default=True, help="Seconds per render request before the worker is killed."),
        click.option("--retries", type=click.IntRange(0), default=1, show_default=True, help="Retries of a job whose worker crashed or timed out."),
        click.option("--recycle-jobs", type=click.IntRange(1), default=100, show_default=True, help="Restart a worker after this many jobs."),
        click.option("--recycle-mb", type=click.FloatRange(min=100), default=3000, show_default=True, help="Restart a worker above this RSS (MB)."),
        WORKER_CMD,
        click.option("--finalize-only", is_flag=True, help="Only rebuild index.jsonl, splits and counts (after all shards)."),
        click.option("--dry-run", is_flag=True, help="Print the plan (JSON) and exit."),
        click.option("--specs", is_flag=True, help="With --dry-run: print every spec the jobs render (JSON lines; meshes in OUT/.specs/)."),
        click.option("--job", "job_patterns", multiple=True, metavar="PATTERN", help="With --dry-run: only jobs whose id matches (glob)."),
        QUIET,
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def worker_options(worker_cmd=None, job_timeout=900, recycle_jobs=100, recycle_mb=3000, retries=1, device="cpu", threads=0):
    import shlex

    from datagen.executors import WorkerOptions
    from datagen.spec import RenderRuntime

    return WorkerOptions(cmd=tuple(shlex.split(worker_cmd)) if worker_cmd else None, job_timeout=job_timeout,
                         recycle_jobs=recycle_jobs, recycle_mb=recycle_mb, retries=retries,
                         runtime=RenderRuntime(device, threads))


def print_dry_run(runner, shard, specs: bool, patterns) -> None:
    """Print the plan (or, with ``specs``, every spec of the planned jobs) of ``runner``."""
    import fnmatch
    import json

    from datagen.errors import Refused
    from datagen.plan import plan_json, shard as take
    from datagen.shapes.objio import write_obj

    jobs = runner.plan()
    jobs = take(jobs, *shard) if shard else jobs
    if patterns:
        jobs = [j for j in jobs if any(fnmatch.fnmatchcase(j.id, p) for p in patterns)]
    if not specs:
        click.echo(plan_json(jobs), nl=False)
        return
    store = Path(runner.out) / ".specs"
    for job in jobs:
        try:
            bundles = runner.bundles(job)
        except Refused as e:
            click.echo(f"{job.id}: refused: {e}", err=True)
            continue
        for b in bundles:
            for rel, (v, f) in b.meshes.items():  # content-addressed: written once
                if not (store / rel).is_file():
                    write_obj(store / rel, v, f)
            click.echo(json.dumps(b.spec_json(mesh_root=store), sort_keys=True))


def run_and_report(runner, *, workers, executor, address, shard, opts, quiet, finalize_only=False,
                   what: str = "samples") -> None:
    """``generate_dataset`` + the summary lines (``what``: samples or scenes); exit code 1 with one line
    when a job failed or the plan has no job (``Summary.exit_problem``, strict)."""
    from datagen.errors import DatagenError
    from datagen.generate import generate_dataset

    try:
        summary, counts = generate_dataset(runner, workers=workers, executor=executor, address=address, shard=shard,
                                           opts=opts, progress=not quiet, finalize_only=finalize_only)
    except DatagenError as e:
        raise click.ClickException(str(e)) from None
    if summary is not None:
        click.echo(summary.line("jobs", outputs=f"{what} written"))
    if runner.bad_donors:
        click.echo(f"donor shapes skipped (unreadable): {', '.join(sorted(runner.bad_donors))}")
    if counts is None:
        click.echo(f"shard {shard[0]}/{shard[1]} finished; after all shards run the same command with --finalize-only")
    print_counts(counts, what)
    if summary is not None:
        empty = f"{runner.out}: the plan has no jobs, nothing to render (check --scenes / the config's counts)"
        if shard is not None and not any(summary.counts.values()) and runner.plan():
            empty = None  # an empty slice of a non-empty plan (more shards than jobs) is fine
        summary.raise_exit_problem("jobs", empty, verb="rendered", strict=True)


def generate_config(preset_name, config_path, resolution, samples, types, min_visible_px, anomaly_prob, sets,
                    materials_dir, materials_mix, **_):
    """The GenConfig of ``datagen generate``'s options (``config_options``; other keys are ignored)."""
    return _config(preset_name, config_path, **_overrides(resolution, samples, types, min_visible_px, anomaly_prob, sets,
                                                         materials_dir, materials_mix))


@click.command("generate")
@config_options
@click.option("--shapes", "library", type=click.Path(file_okay=False, exists=True), required=True, help="Shape library folder.")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Dataset root (created; rerun = resume).")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed.")
@click.option("--limit-shapes", type=click.IntRange(1), default=None, help="Use only the first N shapes (sorted ids).")
@run_options
def generate(preset_name, config_path, resolution, samples, types, min_visible_px, anomaly_prob, sets, materials_dir,
             materials_mix, library, out, seed, limit_shapes, workers, executor, address, shard, device, threads,
             job_timeout, retries, recycle_jobs, recycle_mb, worker_cmd, finalize_only, dry_run, specs, job_patterns, quiet):
    """Render a Looking3D-style dataset (format v1) from a shape library.

    Example: datagen generate --preset brokenchairs --shapes shapes/ --out ds/ --seed 0 --workers 2
    (add --materials ~/ambientcg --materials-mix 0.5: half of the part labels in real texture materials)
    """
    from datagen.jobs.looking3d import Looking3DRunner

    cfg = generate_config(preset_name, config_path, resolution, samples, types, min_visible_px, anomaly_prob, sets,
                          materials_dir, materials_mix)
    run_command(lambda: Looking3DRunner(cfg, library, out, seed, limit=limit_shapes), "samples", shard=shard,
                dry_run=dry_run, specs=specs, job_patterns=job_patterns, finalize_only=finalize_only, workers=workers,
                executor=executor, address=address, device=device, threads=threads, job_timeout=job_timeout,
                retries=retries, recycle_jobs=recycle_jobs, recycle_mb=recycle_mb, worker_cmd=worker_cmd, quiet=quiet)


def run_command(make_runner, what: str, *, shard, dry_run, specs, job_patterns, finalize_only, workers, executor,
                address, device, threads, job_timeout, retries, recycle_jobs, recycle_mb, worker_cmd, quiet) -> None:
    """What ``generate`` and ``scenes`` do with a runner and the ``run_options``: the materials report,
    a dry run, or the run itself (``run_and_report``)."""
    from datagen.errors import DatagenError
    from datagen.plan import parse_shard

    try:
        sh = parse_shard(shard)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--shard") from None
    try:
        runner = make_runner()
        if not finalize_only:
            report_materials(runner, err=dry_run)
        if dry_run:
            return print_dry_run(runner, sh, specs, job_patterns)
    except DatagenError as e:
        raise click.ClickException(str(e)) from None
    opts = worker_options(worker_cmd, job_timeout, recycle_jobs, recycle_mb, retries, device, threads)
    run_and_report(runner, workers=workers, executor=executor, address=address, shard=sh, opts=opts, quiet=quiet,
                   finalize_only=finalize_only, what=what)


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Dataset root (shapes go to OUT/_shapes).")
@click.option("--shapes", "n_shapes", type=click.IntRange(1), default=6, show_default=True, help="Procedural chairs.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True)
@RESOLUTION
@SAMPLES
@WORKER_CMD
@QUIET
def demo(out, n_shapes, seed, workers, resolution, samples, worker_cmd, quiet):
    """A small dataset from built-in procedural chairs, in a few minutes on 2 CPU cores (preset demo:
    96 px, 8 samples unless --resolution / --samples say otherwise).

    Example: datagen demo --out demo_ds/
    """
    from datagen.jobs.looking3d import Looking3DRunner
    from datagen.shapes.procedural import generate_library

    t0 = time.perf_counter()
    lib = Path(out) / "_shapes"
    s = generate_library("chair", n_shapes, lib, seed=seed, progress=False)
    click.echo(s.line("shapes"))
    cfg = _config("demo", None, **_overrides(resolution, samples))
    runner = Looking3DRunner(cfg, lib, out, seed)
    run = dict(workers=workers, executor="local", address=None, shard=None, quiet=quiet,
               opts=worker_options(worker_cmd, job_timeout=600))
    try:
        run_and_report(runner, **run)
    finally:
        from datagen.dataset.preview import make_preview

        if (Path(out) / "index.jsonl").is_file():
            png = Path(out) / "preview.png"
            make_preview(out, png)
            click.echo(f"preview: {png}")
        click.echo(f"demo dataset in {out} ({time.perf_counter() - t0:.0f} s)")
