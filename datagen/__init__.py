"""datagen: the pure-Python side of the 3D anomaly benchmark generator.

Data flows one way: shapes -> corruptions -> scene spec -> Blender render
(``blender_scripts``, the only package that imports bpy) -> dataset on disk -> trainer.
This package never imports bpy.
"""

from datagen.version import __version__

__all__ = ["__version__"]
