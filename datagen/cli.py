"""The ``datagen`` command line: thin click commands, each one library call.

Subcommand groups live in ``datagen/commands/<name>.py`` and are imported lazily, so
``datagen --help`` is fast and a missing optional dependency (bpy, torch, ray) only
matters for the command that needs it.

Errors: whatever a command raises (a ``DatagenError``, a bad config value, a missing or
unreadable file, bad JSON, a ``click.ClickException``) is printed as one line on stderr,
``error: <path>: <problem>``, with exit code 1 and no traceback; ``datagen --debug ...`` (or
``DATAGEN_DEBUG=1``) shows the traceback instead. Click's usage errors keep exit code 2.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import traceback

import click

from datagen.version import __version__
from datagen.errors import DatagenError

# command name -> (module, attribute, short help)
COMMANDS = {
    "shapes": ("datagen.commands.shapes", "shapes", "Make or import a shape library."),
    "corrupt": ("datagen.commands.corrupt", "corrupt", "Apply the part corruptions to a shape library."),
    "generate": ("datagen.commands.generate", "generate", "Render a dataset (format v1) from a shape library."),
    "scenes": ("datagen.commands.scenes", "scenes", "Render Odd-One-Out scenes (ToysAD / PartsAD style)."),
    "demo": ("datagen.commands.generate", "demo", "A small dataset from built-in procedural chairs, in minutes."),
    "render-spec": ("datagen.commands.render_spec", "render_spec", "Render SceneSpec JSON (e.g. from generate --dry-run --specs)."),
    "slurm-script": ("datagen.commands.slurm_script", "slurm_script_cmd",
                     "Write sbatch scripts for generate or scenes: one shard per array task, then finalize."),
    "train": ("datagen.commands.train", "train", "Train CMT or the query-only baseline on a dataset."),
    "evaluate": ("datagen.commands.train", "evaluate", "Evaluate a trained run: AUROC, accuracy, per-type table."),
    "validate": ("datagen.commands.validate", "validate", "Generate, train CMT and baselines in a budget, report: does a model learn?"),
    "stats": ("datagen.commands.inspect", "stats", "Counts of a dataset, like the paper's Table 1."),
    "preview": ("datagen.commands.inspect", "preview", "One contact-sheet PNG of a dataset."),
    "verify": ("datagen.commands.inspect", "verify", "Check a dataset against format v1; list problems."),
    "status": ("datagen.commands.status", "status", "Progress of a run: jobs per kind and status, rate, ETA."),
    "pack": ("datagen.commands.pack", "pack", "Pack a dataset's training data into a few shard files for fast reading."),
    "export": ("datagen.commands.export", "export", "Write a dataset in a paper's released layout (looking3d, oddoneout)."),
    "import": ("datagen.commands.export", "import_group", "Read a paper's released layout into format v1 (looking3d)."),
}


DEBUG_ENV = "DATAGEN_DEBUG"


class OneLineError(click.ClickException):
    """Shown as ``error: <message>`` on stderr (one line), exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", file=file or sys.stderr)


def error_line(e: BaseException) -> str:
    """One line for ``e``: ``<path>: <problem>`` where the error names a file."""
    if isinstance(e, click.ClickException):
        msg = e.format_message()
    elif isinstance(e, DatagenError):
        msg = str(e)
    elif isinstance(e, OSError) and e.filename is not None:
        msg = f"{e.filename}: {e.strerror or e}"
    elif isinstance(e, json.JSONDecodeError):
        msg = f"bad JSON at line {e.lineno} column {e.colno}: {e.msg}"
    elif isinstance(e, (ValueError, OSError)):
        msg = str(e) or type(e).__name__
    else:  # not an error we raise on purpose: name its type, point at --debug
        msg = f"{type(e).__name__}: {e} (datagen --debug ... shows the traceback)"
    return re.sub(r"\s*\n\s*", " ", msg).strip()


def debug_on(ctx: click.Context | None) -> bool:
    flag = bool(ctx and ctx.find_root().params.get("debug"))
    return flag or os.environ.get(DEBUG_ENV, "") not in ("", "0")


class LazyGroup(click.Group):
    def invoke(self, ctx):
        """Run the command; turn any error into one line (``OneLineError``) unless debugging."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.UsageError):
            raise
        except click.ClickException as e:
            if debug_on(ctx) and e.__context__ is not None:  # the error a command turned into a message
                traceback.print_exception(type(e.__context__), e.__context__, e.__context__.__traceback__)
            raise OneLineError(error_line(e)) from None
        except Exception as e:  # noqa: BLE001 - every error becomes one line
            if debug_on(ctx):
                raise
            raise OneLineError(error_line(e)) from None

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="datagen")
@click.option("--debug", is_flag=True, help=f"Show the traceback of an error (also {DEBUG_ENV}=1).")
def main(debug):
    """Generate 3D anomaly-detection benchmarks with Blender, and train the models that validate them."""


if __name__ == "__main__":
    main()
