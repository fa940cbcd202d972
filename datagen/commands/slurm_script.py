"""``datagen slurm-script [OPTIONS] COMMAND [ARGS]...``: sbatch scripts for ``datagen generate`` or
``datagen scenes`` (``datagen.executors.slurm``).

ARGS are the command's own options, checked by the command's own parser and config before anything
is written (a bad option is the command's usage error), then written back in full with every path
made absolute, so the tasks run from any folder.
"""

from __future__ import annotations

import os
import shlex
import sys

import click
from click.core import ParameterSource

from datagen.executors.slurm import SCRIPT_SET

COMMANDS = {"generate": ("datagen.commands.generate", "generate", "generate_config"),
            "scenes": ("datagen.commands.scenes", "scenes", "scenes_config")}


def _command(name: str):
    import importlib

    module, attr, config = COMMANDS[name]
    mod = importlib.import_module(module)
    return getattr(mod, attr), getattr(mod, config)


def task_args(cmd: click.Command, make_config, args) -> list[str]:
    """``args`` of ``datagen <cmd>``: parsed and checked by the command (its options and its config), then
    written back option by option (paths absolute). Raises ``click.UsageError`` for a bad option or one
    the script sets per task (``SCRIPT_SET``)."""
    try:
        ctx = cmd.make_context(f"datagen {cmd.name}", list(args))
    except click.NoSuchOption as e:
        raise click.UsageError(f"{cmd.name} options: {e.format_message()} (slurm-script's own options go before "
                               f"{cmd.name})") from None
    except click.UsageError as e:
        raise click.UsageError(f"{cmd.name} options: {e.format_message()}") from None
    out = []
    for p in cmd.params:
        if not isinstance(p, click.Option) or ctx.get_parameter_source(p.name) is not ParameterSource.COMMANDLINE:
            continue
        if set(p.opts) & set(SCRIPT_SET):
            raise click.UsageError(f"{p.opts[0]}: the script sets it for each task; leave it out")
        value = ctx.params[p.name]
        if p.is_flag:
            out += [p.opts[0]] if value else p.secondary_opts[:1]
            continue
        fmt = (lambda v: os.path.abspath(v)) if isinstance(p.type, click.Path) else str
        for v in (value if p.multiple else (value,)):
            out += [p.opts[0], fmt(v)]
    make_config(**ctx.params)  # a bad config is found now, not in every task
    return out


@click.command("slurm-script", context_settings={"allow_interspersed_args": False})
@click.argument("command", type=click.Choice(sorted(COMMANDS)))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--array", type=click.IntRange(1), required=True, help="Number of array tasks (shards of the plan).")
@click.option("--script", "script", type=click.Path(dir_okay=False), default="run.sbatch", show_default=True,
              help="The array script (its finalize job goes beside it: <stem>.finalize.sbatch).")
@click.option("--log-dir", type=click.Path(file_okay=False), default=None,
              help="Where Slurm writes the task logs (created now)  [default: slurm-logs/ beside the script]")
@click.option("--cpus", type=click.IntRange(1), default=4, show_default=True, help="CPUs per task.")
@click.option("--workers", type=click.IntRange(1), default=None, help="Render workers per task  [default: cpus // 2]")
@click.option("--mem", default="8G", show_default=True)
@click.option("--time", "time_limit", default="24:00:00", show_default=True)
@click.option("--partition", default=None)
@click.option("--gpus", type=click.IntRange(0), default=0, show_default=True, help="GPUs per task (--gres=gpu:N).")
@click.option("--max-parallel", type=click.IntRange(1), default=None, help="At most this many tasks at once.")
@click.option("--job-name", default="datagen", show_default=True)
@click.option("--setup", multiple=True, help="A shell line run first in every task and in the finalize job, e.g. "
                                              "'module load cuda' (repeat for several).")
@click.option("--datagen", "datagen_cmd", default=None,
              help="How a task calls datagen  [default: this interpreter: /path/to/python -m datagen.cli]")
@click.option("--finalize/--no-finalize", default=True, show_default=True,
              help="The first task submits the finalize job (afterany on the array); --no-finalize: run it yourself.")
def slurm_script_cmd(command, args, array, script, log_dir, cpus, workers, mem, time_limit, partition, gpus, max_parallel,
                     job_name, setup, datagen_cmd, finalize):
    """Write sbatch scripts: task i of --array N runs `datagen COMMAND ARGS --shard i/N`; the finalize job
    runs once every task has ended. COMMAND is generate or scenes, ARGS its options.

    \b
    Example:
      datagen slurm-script --array 32 --cpus 8 --script run.sbatch \\
          generate --preset brokenchairs --shapes /data/shapes --out /data/ds --seed 0
      sbatch run.sbatch
    """
    from datagen.executors.slurm import SlurmResources, write_scripts

    cmd, make_config = _command(command)
    targs = task_args(cmd, make_config, args)
    datagen = shlex.split(datagen_cmd) if datagen_cmd else [sys.executable, "-m", "datagen.cli"]
    res = SlurmResources(cpus=cpus, mem=mem, time=time_limit, partition=partition, gpus=gpus, workers=workers,
                         max_parallel=max_parallel, job_name=job_name)
    paths, logs = write_scripts(script, datagen, command, targs, array, res, log_dir=log_dir,
                                setup="\n".join(setup) or None, finalize=finalize)
    click.echo(f"wrote {', '.join(map(str, paths))} (task logs in {logs})")
    click.echo(f"submit: sbatch {paths[0]}")
