"""One material per semantic part label, drawn with substance priors.

``PART_PRIORS`` maps a part label (PartNet leaf names as used by ``datagen.shapes``, and the
mechanical labels of ``datagen.shapes.procedural.mechanical``) to substance weights.
Labels not in the table fall back to keyword rules (``prior_for``), then to uniform.

:func:`assign_materials` first draws a substance for each label from its prior (restricted
to the substances the library has), then a material of that substance uniformly. All
parts with the same label share one material (all legs of a chair look alike). Labels are
processed in sorted order, so the result depends only on the set of labels, the library
and the generator state.

Texture folders (``materials.library.MaterialLibrary``: presets + a folder's texture
materials, ``mix`` = the share from the folder). Texture materials carry a substance too
(``substances.json`` or the folder name), so the same priors apply to them:

- ``mix == 1`` (folder only): the rule above on the folder's materials; a label whose prior
  has no substance in the folder gets any folder material (uniformly).
- ``mix == 0``: the rule above on the presets.
- ``0 < mix < 1``: per label, a substance from its prior (restricted to the substances of
  presets and folder together), then with probability ``mix`` a folder material of that
  substance, else a preset of it. When the folder has none of that substance the label gets a
  preset (the prior wins over the share: with a folder of only wood, a seat drawn "fabric"
  stays procedural fabric), so the folder's realized share is ``mix`` times the prior mass of
  the folder's substances. A label whose prior has no substance at all in the library gets
  any material: from the folder with probability ``mix``.

Plain lists (no folder) take exactly the draws they always took.
"""

from __future__ import annotations

import numpy as np

from datagen.spec import Material
from materials.library import MaterialLibrary
from materials.presets import SUBSTANCES, substance_of

FRAME = {"wood": 0.5, "metal": 0.35, "plastic": 0.15}
SURFACE = {"fabric": 0.35, "leather": 0.2, "plastic": 0.15, "wood": 0.3}
CUSHION = {"fabric": 0.55, "leather": 0.4, "plastic": 0.05}
SOFT_ARM = {"fabric": 0.5, "leather": 0.35, "wood": 0.15}
WHEEL = {"plastic": 1.0}
METAL = {"metal": 1.0}
STAR_LEG = {"metal": 0.5, "plastic": 0.4, "wood": 0.1}
MECHANICAL = {"metal": 0.8, "plastic": 0.2}
CONTROL = {"metal": 0.5, "plastic": 0.5}
BOARD = {"wood": 0.6, "plastic": 0.2, "metal": 0.2}
UNIFORM = {s: 1.0 for s in SUBSTANCES}

PART_PRIORS: dict[str, dict[str, float]] = {
    # chair frame
    "leg": FRAME,
    "bar_stretcher": FRAME,
    "runner": FRAME,
    "back_frame": FRAME,
    "back_frame_vertical_bar": FRAME,
    "back_frame_horizontal_bar": FRAME,
    "back_support": FRAME,
    "back_connector": FRAME,
    "head_connector": FRAME,
    "arm_horizontal_bar": FRAME,
    "arm_near_vertical_bar": FRAME,
    "arm_writing_table": BOARD,
    "seat_frame": FRAME,
    "seat_support": BOARD,
    "footrest": FRAME,
    "pedestal": {"metal": 0.6, "plastic": 0.2, "wood": 0.2},
    # surfaces people touch
    "seat_surface": SURFACE,
    "seat_single_surface": SURFACE,
    "back_surface": SURFACE,
    "back_single_surface": SURFACE,
    "back_surface_vertical_bar": SURFACE,
    "back_surface_horizontal_bar": SURFACE,
    "arm_sofa_style": SOFT_ARM,
    "headrest": CUSHION,
    "seat_cushion": CUSHION,
    "back_cushion": CUSHION,
    "cushion": CUSHION,
    "pillow": CUSHION,
    # office chair base
    "star_leg": STAR_LEG,
    "wheel": WHEEL,
    "caster": WHEEL,
    "caster_stem": METAL,
    "central_support": METAL,
    "pedestal_support": METAL,
    "mechanical_control": CONTROL,
    "knob": CONTROL,
    "lever": CONTROL,
    # mechanical parts (datagen.shapes.procedural.mechanical)
    "flange_disc": MECHANICAL,
    "hub": MECHANICAL,
    "plate": MECHANICAL,
    "gusset": MECHANICAL,
    "shaft_step": MECHANICAL,
    "collar": MECHANICAL,
    "gear_body": MECHANICAL,
    "teeth": MECHANICAL,
    "bolt": METAL,
    "nut": METAL,
    "key": METAL,
}

# keyword fallbacks for labels not in PART_PRIORS (first match wins)
_KEYWORDS = (
    (("wheel", "caster"), WHEEL),
    (("bolt", "nut", "screw", "pin", "rivet", "spring"), METAL),
    (("cushion", "pillow", "headrest", "pad"), CUSHION),
    (("surface", "panel", "seat", "back"), SURFACE),
    (("leg", "bar", "frame", "stretcher", "runner", "connector", "support", "rail", "post", "slat", "arm"), FRAME),
    (("gear", "shaft", "flange", "bracket", "hub", "bearing", "washer", "disc"), MECHANICAL),
)


def prior_for(label: str) -> dict[str, float]:
    """Substance weights for a part label: exact entry, keyword rule, else uniform."""
    if label in PART_PRIORS:
        return PART_PRIORS[label]
    low = label.lower()
    for words, prior in _KEYWORDS:
        if any(w in low for w in words):
            return prior
    return UNIFORM


def by_substance(library: list[Material]) -> dict[str, list[Material]]:
    """Library materials grouped by substance (``materials.presets.substance_of``), library order kept."""
    groups: dict[str, list[Material]] = {}
    for m in library:
        s = substance_of(m)
        if s is not None:
            groups.setdefault(s, []).append(m)
    return groups


def _prior_substances(prior: dict[str, float], groups: dict[str, list[Material]]) -> tuple[list[str], np.ndarray]:
    names = [s for s in SUBSTANCES if prior.get(s, 0.0) > 0 and s in groups]
    w = np.array([prior[s] for s in names], dtype=np.float64)
    return names, w


def _draw(prior: dict[str, float], library: list[Material], groups: dict[str, list[Material]],
          rng: np.random.Generator) -> Material:
    """A substance from ``prior`` (restricted to ``groups``), then one of its materials; any material
    of ``library`` when the prior has none of its substances."""
    names, w = _prior_substances(prior, groups)
    if not names:
        return library[int(rng.integers(len(library)))]
    substance = names[int(rng.choice(len(names), p=w / w.sum()))]
    pool = groups[substance]
    return pool[int(rng.integers(len(pool)))]


def _draw_mixed(prior: dict[str, float], lib: MaterialLibrary, groups: dict, rng: np.random.Generator) -> Material:
    """``0 < lib.mix < 1``: substance from the prior, then the folder (probability mix, when it has that
    substance) or the presets. ``groups``: {"all" | "presets" | "textures": by_substance(...)}."""
    names, w = _prior_substances(prior, groups["all"])
    if not names:
        src = lib.textures if rng.random() < lib.mix else lib.presets
        return src[int(rng.integers(len(src)))]
    substance = names[int(rng.choice(len(names), p=w / w.sum()))]
    from_folder = rng.random() < lib.mix
    pool = groups["textures"].get(substance) if from_folder else None
    pool = pool or groups["presets"].get(substance) or groups["textures"][substance]
    return pool[int(rng.integers(len(pool)))]


def assign_materials(labels: list[str], library: list[Material], rng: np.random.Generator) -> dict[str, Material]:
    """Choose one material per distinct label.

    labels : part labels of one shape (repeats allowed: they share a material).
    library : candidate materials; their substance is ``params["substance"]``. A
    ``materials.library.MaterialLibrary`` (presets + a texture folder) draws a share ``mix`` of the
    labels from the folder (module docstring).
    rng : the only source of randomness (same state -> same assignment).
    Returns {label: Material}. A label whose prior has no substance present in the library
    gets a uniformly drawn library material.
    """
    if not library:
        raise ValueError("assign_materials: empty material library")
    out: dict[str, Material] = {}
    if isinstance(library, MaterialLibrary) and 0.0 < library.mix < 1.0:
        groups = {"all": by_substance(library), "presets": by_substance(library.presets),
                  "textures": by_substance(library.textures)}
        for label in sorted(set(labels)):
            out[label] = _draw_mixed(prior_for(label), library, groups, rng)
        return out
    if isinstance(library, MaterialLibrary):
        library = library.textures if library.mix >= 1.0 else library.presets
    groups = by_substance(library)
    for label in sorted(set(labels)):
        out[label] = _draw(prior_for(label), library, groups, rng)
    return out
