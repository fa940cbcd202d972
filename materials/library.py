"""The material library of a run: the procedural presets, or a texture folder's materials, or both.

:func:`run_library` builds it from a run config's fields (``n_materials``, ``material_seed``,
``materials_dir``, ``materials_mix``):

- no folder: ``materials.presets.builtin_library(n_materials, material_seed)``, a plain list
  (the draws of ``materials.assign.assign_materials`` are then exactly those of every release
  before texture folders: existing datasets stay reproducible);
- a folder: a :class:`MaterialLibrary` of the presets (none when ``mix`` is 1) and the
  folder's texture materials (``materials.textures.scan_texture_library``: every sub-folder
  that holds image maps; substances from ``substances.json`` in the folder or the folder
  names). ``mix`` is the share of part labels drawn from the folder (see
  ``materials.assign.assign_materials``).

Texture map paths are absolute: a run on other machines (Ray, Slurm) needs the folder at the
same path there.
"""

from __future__ import annotations

import os
from pathlib import Path

from datagen.errors import InputError
from datagen.spec import Material


class MaterialLibrary(list):
    """A ``list[Material]`` (every material a draw may return: ``presets + textures``) that knows its parts.

    presets : procedural presets (empty when ``mix`` is 1). textures : the folder's materials (not empty).
    mix : float in [0, 1], the share of part labels drawn from ``textures``. bad : folders of ``root``
    that could not be used, ``[{"item": folder, "error": problem}]``. root : the folder (absolute).
    """

    def __init__(self, presets, textures, mix: float, bad=(), root: str | None = None):
        presets, textures = list(presets), list(textures)
        if not textures:
            raise ValueError("MaterialLibrary: no texture materials")
        if not 0.0 <= float(mix) <= 1.0:
            raise ValueError(f"MaterialLibrary: mix={mix!r} out of range [0, 1]")
        if float(mix) < 1.0 and not presets:
            raise ValueError("MaterialLibrary: mix < 1 needs presets")
        super().__init__(presets + textures)
        self.presets = presets
        self.textures = textures
        self.mix = float(mix)
        self.bad = list(bad)
        self.root = root

    def summary(self) -> str:
        """E.g. ``"12 texture folders used, 2 skipped; mix 0.5: that share of part labels from the folder, the rest
        procedural"`` (``"...; mix 1: folder materials only"``)."""
        share = "folder materials only" if self.mix >= 1.0 else "that share of part labels from the folder, the rest procedural"
        return f"{len(self.textures)} texture folders used, {len(self.bad)} skipped; mix {self.mix:g}: {share}"


def run_library(n_materials: int, material_seed: int, materials_dir: str | os.PathLike | None = None,
                mix: float | None = None) -> list[Material]:
    """The material library of a run (see the module docstring).

    Raises ``InputError(materials_dir, problem)`` when the folder does not exist, is not a
    directory, holds no usable texture material (the skipped folders are counted in the
    message) or has a bad ``substances.json``.
    """
    from materials.presets import builtin_library

    if materials_dir is None:
        return builtin_library(n_materials, material_seed)
    from materials.textures import scan_texture_library

    root = Path(materials_dir)
    if not root.exists():
        raise InputError(root, "materials folder not found")
    scan = scan_texture_library(root)
    if not scan:
        why = f"{len(scan.bad)} folders skipped, first: {scan.bad[0]['error']}" if scan.bad else "no folder holds image maps"
        raise InputError(root, f"no usable texture material in the materials folder ({why})")
    mix = 1.0 if mix is None else float(mix)
    presets = builtin_library(n_materials, material_seed) if mix < 1.0 else []
    return MaterialLibrary(presets, scan, mix, scan.bad, str(root.resolve()))
