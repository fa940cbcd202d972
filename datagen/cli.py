"""The ``datagen`` command line: thin click commands, each one library call.

Subcommand groups live in ``datagen/commands/<name>.py`` and are imported lazily, so
``datagen --help`` is fast and a missing optional dependency (bpy, torch, ray) only
matters for the command that needs it.
"""

from __future__ import annotations

import importlib

import click

from datagen import __version__

# command name -> (module, attribute, short help)
COMMANDS = {
    "shapes": ("datagen.commands.shapes", "shapes", "Make or import a shape library."),
    "corrupt": ("datagen.commands.corrupt", "corrupt", "Apply the part corruptions to a shape library."),
    "generate": ("datagen.commands.generate", "generate", "Render a dataset (format v1) from a shape library."),
    "scenes": ("datagen.commands.scenes", "scenes", "Render Odd-One-Out scenes (ToysAD / PartsAD style)."),
    "demo": ("datagen.commands.generate", "demo", "A small dataset from built-in procedural chairs, in minutes."),
    "render-spec": ("datagen.commands.render_spec", "render_spec", "Render SceneSpec JSON (e.g. from generate --dry-run --specs)."),
    "slurm-script": ("datagen.commands.generate", "slurm_script_cmd", "Write an sbatch array script (one shard per task)."),
    "train": ("datagen.commands.train", "train", "Train CMT or the query-only baseline on a dataset."),
    "evaluate": ("datagen.commands.train", "evaluate", "Evaluate a trained run: AUROC, accuracy, per-type table."),
    "stats": ("datagen.commands.inspect", "stats", "Counts of a dataset, like the paper's Table 1."),
    "preview": ("datagen.commands.inspect", "preview", "One contact-sheet PNG of a dataset."),
    "verify": ("datagen.commands.inspect", "verify", "Check a dataset against format v1; list problems."),
    "export": ("datagen.commands.export", "export", "Write a dataset in a paper's released layout (looking3d, oddoneout)."),
    "import": ("datagen.commands.export", "import_group", "Read a paper's released layout into format v1 (looking3d)."),
}


class LazyGroup(click.Group):
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
def main():
    """Generate 3D anomaly-detection benchmarks with Blender, and train the models that validate them."""


if __name__ == "__main__":
    main()
