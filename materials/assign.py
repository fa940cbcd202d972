"""One material per semantic part label, drawn with substance priors.

``PART_PRIORS`` maps a part label (PartNet leaf names as used by ``datagen.shapes``, and the
mechanical labels of ``datagen.shapes.procedural.mechanical``) to substance weights.
Labels not in the table fall back to keyword rules (``prior_for``), then to uniform.

:func:`assign_materials` first draws a substance for each label from its prior (restricted
to the substances the library has), then a material of that substance uniformly. All
parts with the same label share one material (all legs of a chair look alike). Labels are
processed in sorted order, so the result depends only on the set of labels, the library
and the generator state.
"""

from __future__ import annotations

import numpy as np

from datagen.spec import Material
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


def assign_materials(labels: list[str], library: list[Material], rng: np.random.Generator) -> dict[str, Material]:
    """Choose one material per distinct label.

    labels : part labels of one shape (repeats allowed: they share a material).
    library : candidate materials; their substance is ``params["substance"]``.
    rng : the only source of randomness (same state -> same assignment).
    Returns {label: Material}. A label whose prior has no substance present in the library
    gets a uniformly drawn library material.
    """
    if not library:
        raise ValueError("assign_materials: empty material library")
    groups = by_substance(library)
    out: dict[str, Material] = {}
    for label in sorted(set(labels)):
        prior = prior_for(label)
        names = [s for s in SUBSTANCES if prior.get(s, 0.0) > 0 and s in groups]
        if not names:
            out[label] = library[int(rng.integers(len(library)))]
            continue
        w = np.array([prior[s] for s in names], dtype=np.float64)
        substance = names[int(rng.choice(len(names), p=w / w.sum()))]
        pool = groups[substance]
        out[label] = pool[int(rng.integers(len(pool)))]
    return out
