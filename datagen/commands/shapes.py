"""``datagen shapes``: make (procedural) or import (PartNet, ABC, mesh files) a shape library."""

import click

from datagen.commands.shapes_import import import_group
from datagen.commands.shapes_procedural import procedural


@click.group()
def shapes():
    """Make or import a shape library (one folder per shape, PartNet layout + parts.json)."""


shapes.add_command(procedural)
shapes.add_command(import_group)
