"""``datagen render-spec``: render SceneSpec JSON files with a Blender worker (the debugging entry point)."""

from __future__ import annotations

import click


@click.command("render-spec")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "optix"]), default="cpu", show_default=True)
@click.option("--threads", type=click.IntRange(0), default=0, show_default=True, help="Cycles threads (0 = all cores).")
@click.option("--timeout", type=click.FloatRange(min=1), default=900, show_default=True, help="Seconds per spec.")
@click.option("--worker-cmd", default=None, hidden=True)
def render_spec(spec_file, out, device, threads, timeout, worker_cmd):
    """Render SPEC_FILE (one spec as JSON, or JSON lines from `generate --dry-run --specs`) into OUT.

    One spec renders into OUT; several into OUT/<job>__<tag>/. Per camera: NNNN.png,
    NNNN_depth.npy, NNNN_index.png (the passes the spec asks for).

    Example: datagen generate --shapes shapes/ --out ds/ --dry-run --specs --job 'chair_000001/*' > s.jsonl;
    datagen render-spec s.jsonl --out renders/
    """
    import shlex

    from datagen.errors import DatagenError
    from datagen.executors.worker import DEFAULT_WORKER_CMD
    from datagen.render_specs import render_spec_file
    from datagen.spec import RenderRuntime

    cmd = tuple(shlex.split(worker_cmd)) if worker_cmd else DEFAULT_WORKER_CMD
    try:
        for folder, views in render_spec_file(spec_file, out, RenderRuntime(device, threads), timeout, cmd):
            click.echo(f"{folder}: {len(views)} views")
    except DatagenError as e:
        raise click.ClickException(str(e)) from None
