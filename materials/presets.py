"""Procedural SVBRDF presets: plain parameter dicts that ``blender_scripts.materials`` turns
into Principled BSDF node graphs (spatially varying base color, roughness, metallic and a
bump normal).

Five substance classes, as in PhotoShape: ``SUBSTANCES = ("wood", "plastic", "leather",
"fabric", "metal")``. :func:`make_preset` samples one preset from an explicit
``numpy.random.Generator``; :func:`builtin_library` gives a deterministic, balanced library
of distinct presets (400 by default, the paper's count) named ``f"{substance}_{k:03d}"``.

The library is generated on the fly (it takes a few milliseconds) and is the source of
truth; :func:`write_library_json` exports it (``python -m materials.presets out.json``) for
inspection or for use elsewhere, and :func:`read_library_json` reads such a file back.
Material ``k`` of a substance depends only on ``(seed, substance, k)``, so
``builtin_library(n)`` is a prefix-stable family: growing ``n`` adds materials and never
changes existing ones.

Params (``Material.params``, JSON-serializable; colors are LINEAR RGB in [0, 1]):

- common: ``version`` (int), ``substance``, ``pattern`` (per substance, see ``PATTERNS``),
  ``palette`` (list of [r, g, b], meaning per substance below), ``roughness`` ([lo, hi],
  the range the pattern modulates), ``metallic`` (float in [0, 1]), ``bump`` (Bump node
  strength in [0, 1]), ``scale`` (pattern frequency, cycles per unit of object space: the
  shapes are normalized to a bbox diagonal of 1, i.e. about 1 m for a chair).
- wood (``rings`` | ``straight`` | ``planks``): palette = [light, dark, pore]; ``axis``
  ("X" | "Y" | "Z", the grain direction), ``distortion``, ``grain_scale`` (fine streaks),
  ``grain_contrast``, ``coat`` (varnish coat weight), ``plank_width`` (planks only).
- fabric (``plain`` | ``twill`` | ``melange`` | ``canvas``): palette = [warp, weft, heather];
  ``thread_contrast``, ``heather_scale``, ``heather_amount``, ``sheen``, ``fuzz``.
- leather (``pebbled`` | ``smooth`` | ``wrinkled``): palette = [base, crease, wear];
  ``cell_scale`` (= ``scale``), ``bumpiness`` (= ``bump``), ``wrinkle``, ``wear``, ``coat``.
- plastic (``smooth`` | ``speckle`` | ``scratched`` | ``textured``): palette = [base,
  speckle/scratch]; ``speckle_density``, ``scratch_amount``, ``wear``, ``coat``.
- metal (``brushed`` | ``polished`` | ``hammered`` | ``oxidized``): palette = [metal,
  oxide]; ``anisotropy``, ``streak_stretch``, ``oxidation``, ``wear``.
"""

from __future__ import annotations

import colorsys
import sys
from pathlib import Path

import numpy as np

from datagen.errors import InputError
from datagen.io import atomic_write_json, read_json
from datagen.seeding import rng_for
from datagen.spec import Material

PRESET_VERSION = 1
SUBSTANCES = ("wood", "plastic", "leather", "fabric", "metal")
PATTERNS = {
    "wood": ("rings", "straight", "planks"),
    "plastic": ("smooth", "speckle", "scratched", "textured"),
    "leather": ("pebbled", "smooth", "wrinkled"),
    "fabric": ("plain", "twill", "melange", "canvas"),
    "metal": ("brushed", "polished", "hammered", "oxidized"),
}

# Wood species: (light, dark) in sRGB.
_WOOD = {
    "oak": ((0.78, 0.60, 0.40), (0.56, 0.38, 0.21)),
    "maple": ((0.90, 0.79, 0.62), (0.74, 0.58, 0.40)),
    "pine": ((0.88, 0.70, 0.45), (0.70, 0.45, 0.22)),
    "walnut": ((0.47, 0.31, 0.20), (0.25, 0.15, 0.09)),
    "cherry": ((0.66, 0.36, 0.22), (0.45, 0.20, 0.12)),
    "mahogany": ((0.52, 0.23, 0.14), (0.31, 0.12, 0.07)),
    "teak": ((0.68, 0.48, 0.28), (0.46, 0.30, 0.15)),
    "wenge": ((0.28, 0.20, 0.15), (0.11, 0.08, 0.06)),
    "weathered": ((0.72, 0.69, 0.63), (0.50, 0.46, 0.40)),
}
# Leather dyes, sRGB.
_LEATHER = {
    "brown": (0.42, 0.26, 0.15),
    "tan": (0.70, 0.50, 0.30),
    "cognac": (0.60, 0.33, 0.14),
    "black": (0.07, 0.065, 0.065),
    "oxblood": (0.36, 0.08, 0.09),
    "cream": (0.85, 0.80, 0.70),
    "grey": (0.45, 0.45, 0.46),
    "navy": (0.12, 0.15, 0.28),
    "green": (0.16, 0.26, 0.17),
    "white": (0.90, 0.89, 0.86),
}
# Metal F0 reflectances, LINEAR RGB (common physically based values).
_METAL = {
    "steel": (0.56, 0.57, 0.58),
    "aluminium": (0.91, 0.92, 0.92),
    "chrome": (0.55, 0.56, 0.56),
    "dark_steel": (0.32, 0.32, 0.34),
    "brass": (0.91, 0.78, 0.42),
    "copper": (0.95, 0.64, 0.54),
    "gold": (1.00, 0.77, 0.34),
    "bronze": (0.71, 0.47, 0.28),
    "nickel": (0.66, 0.61, 0.53),
    "titanium": (0.54, 0.50, 0.45),
}
# Oxide / patina colors, sRGB.
_OXIDE = {"rust": (0.45, 0.20, 0.08), "patina": (0.32, 0.56, 0.47), "tarnish": (0.14, 0.12, 0.11)}


def srgb_to_linear(c) -> list[float]:
    """sRGB (3,) in [0, 1] -> linear RGB (3,) (IEC 61966-2-1 transfer function)."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return [float(x) for x in lin]


def _jitter_srgb(c, rng: np.random.Generator, dh=0.02, ds=0.08, dv=0.08) -> tuple:
    """Small random HSV jitter of an sRGB color (hue wraps, saturation/value clipped)."""
    h, s, v = colorsys.rgb_to_hsv(*c)
    h = (h + rng.uniform(-dh, dh)) % 1.0
    s = float(np.clip(s * (1 + rng.uniform(-ds, ds) * 3), 0.0, 1.0))
    v = float(np.clip(v * (1 + rng.uniform(-dv, dv)), 0.0, 1.0))
    return colorsys.hsv_to_rgb(h, s, v)


def _hsv(h, s, v) -> list[float]:
    return srgb_to_linear(colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1))))


def _u(rng, lo, hi) -> float:
    return float(rng.uniform(lo, hi))


def _pick(rng, options, p=None):
    i = int(rng.choice(len(options), p=p))
    return options[i]


def _rough_range(rng, lo, hi, spread_lo, spread_hi) -> list[float]:
    a = _u(rng, lo, hi)
    return [a, min(1.0, a + _u(rng, spread_lo, spread_hi))]


def _wood(rng) -> dict:
    species = _pick(rng, sorted(_WOOD))
    light, dark = _WOOD[species]
    light = _jitter_srgb(light, rng)
    dark = _jitter_srgb(dark, rng)
    pore = tuple(0.75 * x for x in dark)
    pattern = _pick(rng, PATTERNS["wood"], p=[0.45, 0.35, 0.2])
    d = {
        "species": species,
        "pattern": pattern,
        "palette": [srgb_to_linear(light), srgb_to_linear(dark), srgb_to_linear(pore)],
        "roughness": _rough_range(rng, 0.25, 0.6, 0.1, 0.3),
        "metallic": 0.0,
        "bump": _u(rng, 0.05, 0.3),
        "scale": _u(rng, 12.0, 40.0),  # growth rings per unit
        "axis": _pick(rng, ("Z", "X", "Y"), p=[0.6, 0.2, 0.2]),
        "distortion": _u(rng, 1.0, 8.0),
        "grain_scale": _u(rng, 40.0, 160.0),
        "grain_contrast": _u(rng, 0.2, 0.7),
        "coat": _u(rng, 0.0, 0.6) if rng.uniform() < 0.5 else 0.0,
    }
    if pattern == "planks":
        d["plank_width"] = _u(rng, 0.06, 0.2)
    return d


def _fabric(rng) -> dict:
    h = rng.uniform()
    s = _u(rng, 0.05, 0.75) if rng.uniform() < 0.8 else _u(rng, 0.0, 0.05)
    v = _u(rng, 0.15, 0.85)
    contrast = _u(rng, 0.05, 0.35)
    dh = _u(rng, -0.04, 0.04) if rng.uniform() < 0.8 else _u(rng, 0.2, 0.5)  # sometimes a two-tone weave
    warp = _hsv(h, s, v)
    weft = _hsv(h + dh, s * _u(rng, 0.7, 1.1), v * (1 - contrast))
    heather = _hsv(h + _u(rng, -0.05, 0.05), s * 0.6, min(1.0, v * _u(rng, 0.7, 1.3)))
    pattern = _pick(rng, PATTERNS["fabric"])
    return {
        "pattern": pattern,
        "palette": [warp, weft, heather],
        "roughness": _rough_range(rng, 0.7, 0.95, 0.02, 0.1),
        "metallic": 0.0,
        "bump": _u(rng, 0.15, 0.5),
        "scale": _u(rng, 25.0, 90.0),  # threads per unit (visible at 256 px)
        "thread_contrast": contrast,
        "heather_scale": _u(rng, 3.0, 20.0),
        "heather_amount": _u(rng, 0.1, 0.6),
        "sheen": _u(rng, 0.05, 0.4),
        "fuzz": _u(rng, 0.0, 0.5),
    }


def _leather(rng) -> dict:
    dye = _pick(rng, sorted(_LEATHER))
    base = _jitter_srgb(_LEATHER[dye], rng, dh=0.015, ds=0.1, dv=0.12)
    crease = tuple(0.55 * x for x in base)
    wear = tuple(min(1.0, x * 1.35 + 0.06) for x in base)
    pattern = _pick(rng, PATTERNS["leather"], p=[0.5, 0.2, 0.3])
    bump = _u(rng, 0.15, 0.5) if pattern != "smooth" else _u(rng, 0.08, 0.2)
    return {
        "dye": dye,
        "pattern": pattern,
        "palette": [srgb_to_linear(base), srgb_to_linear(crease), srgb_to_linear(wear)],
        "roughness": _rough_range(rng, 0.3, 0.65, 0.1, 0.25),
        "metallic": 0.0,
        "bump": bump,
        "scale": _u(rng, 30.0, 100.0),  # grain cells per unit
        "wrinkle": _u(rng, 0.0, 1.0) if pattern != "smooth" else _u(rng, 0.0, 0.3),
        "wear": _u(rng, 0.0, 0.6),
        "coat": _u(rng, 0.0, 0.4) if rng.uniform() < 0.3 else 0.0,
    }


def _plastic(rng) -> dict:
    h = rng.uniform()
    if rng.uniform() < 0.4:  # neutral: white / grey / black
        base = _hsv(h, _u(rng, 0.0, 0.06), _pick(rng, (0.06, 0.3, 0.55, 0.9)) * _u(rng, 0.85, 1.1))
    else:
        base = _hsv(h, _u(rng, 0.35, 0.95), _u(rng, 0.3, 0.95))
    second = _hsv(h + _u(rng, 0.3, 0.7), _u(rng, 0.0, 0.8), _u(rng, 0.05, 0.95))
    pattern = _pick(rng, PATTERNS["plastic"], p=[0.3, 0.2, 0.25, 0.25])
    return {
        "pattern": pattern,
        "palette": [base, second],
        "roughness": _rough_range(rng, 0.08, 0.55, 0.03, 0.2),
        "metallic": 0.0,
        "bump": _u(rng, 0.02, 0.15) if pattern != "textured" else _u(rng, 0.1, 0.4),
        "scale": _u(rng, 20.0, 120.0),
        "speckle_density": _u(rng, 0.05, 0.3),
        "scratch_amount": _u(rng, 0.1, 0.6) if pattern == "scratched" else _u(rng, 0.0, 0.15),
        "wear": _u(rng, 0.0, 0.5),
        "coat": _u(rng, 0.0, 0.5) if rng.uniform() < 0.25 else 0.0,
    }


def _metal(rng) -> dict:
    kind = _pick(rng, sorted(_METAL))
    f0 = [float(np.clip(x * _u(rng, 0.93, 1.05), 0.0, 1.0)) for x in _METAL[kind]]
    oxide_kind = _pick(rng, sorted(_OXIDE))
    oxide = srgb_to_linear(_jitter_srgb(_OXIDE[oxide_kind], rng))
    pattern = _pick(rng, PATTERNS["metal"], p=[0.35, 0.25, 0.2, 0.2])
    lo = {"brushed": (0.2, 0.45), "polished": (0.03, 0.2), "hammered": (0.1, 0.35), "oxidized": (0.25, 0.5)}[pattern]
    return {
        "metal": kind,
        "oxide": oxide_kind,
        "pattern": pattern,
        "palette": [f0, oxide],
        "roughness": _rough_range(rng, lo[0], lo[1], 0.05, 0.3),
        "metallic": 1.0,
        "bump": _u(rng, 0.02, 0.1) if pattern != "hammered" else _u(rng, 0.15, 0.45),
        "scale": _u(rng, 8.0, 40.0),
        "anisotropy": _u(rng, 0.4, 0.9) if pattern == "brushed" else 0.0,
        "streak_stretch": _u(rng, 30.0, 200.0),
        "axis": _pick(rng, ("Z", "X", "Y")),
        "oxidation": _u(rng, 0.2, 0.7) if pattern == "oxidized" else _u(rng, 0.0, 0.05),
        "wear": _u(rng, 0.0, 0.5),
    }


_MAKERS = {"wood": _wood, "plastic": _plastic, "leather": _leather, "fabric": _fabric, "metal": _metal}


def _round(x, nd=4):
    if isinstance(x, float):
        return round(x, nd)
    if isinstance(x, list | tuple):
        return [_round(v, nd) for v in x]
    if isinstance(x, dict):
        return {k: _round(v, nd) for k, v in x.items()}
    return x


def make_preset(substance: str, rng: np.random.Generator, name: str | None = None) -> Material:
    """Sample one procedural preset of ``substance``.

    Returns a ``Material(kind="preset")`` whose ``params`` follow the module docstring
    (floats rounded to 4 decimals, so the JSON is short and round-trips exactly).
    ``name`` defaults to ``f"{substance}_preset"``.
    """
    if substance not in _MAKERS:
        raise ValueError(f"unknown substance {substance!r}; choose from {SUBSTANCES}")
    params = {"version": PRESET_VERSION, "substance": substance, **_MAKERS[substance](rng)}
    return Material(name or f"{substance}_preset", "preset", _round(params))


def builtin_library(n: int = 400, seed: int = 0) -> list[Material]:
    """``n`` distinct presets balanced across ``SUBSTANCES`` (counts differ by at most 1).

    Order: round-robin over substances (wood_000, plastic_000, ..., metal_000, wood_001, ...).
    Material ``f"{substance}_{k:03d}"`` is sampled from ``rng_for("materials.builtin", seed,
    substance, k)``, so it is the same for every ``n`` and on every machine.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = []
    for i in range(n):
        substance, k = SUBSTANCES[i % len(SUBSTANCES)], i // len(SUBSTANCES)
        out.append(make_preset(substance, rng_for("materials.builtin", seed, substance, k), f"{substance}_{k:03d}"))
    return out


def library_to_json(materials: list[Material]) -> dict:
    return {
        "version": PRESET_VERSION,
        "materials": [{"name": m.name, "kind": m.kind, "params": m.params} for m in materials],
    }


def write_library_json(path, n: int = 400, seed: int = 0) -> Path:
    """Write ``builtin_library(n, seed)`` as canonical JSON (atomically) and return the path."""
    doc = library_to_json(builtin_library(n, seed))
    doc.update({"n": n, "seed": seed})
    return atomic_write_json(path, doc)


def read_library_json(path) -> list[Material]:
    """Read a library written by :func:`write_library_json` (or by hand, same layout)."""
    doc = read_json(path)
    try:
        mats = [Material(d["name"], d.get("kind", "preset"), d.get("params", {})) for d in doc["materials"]]
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(path, f"bad material library: {type(e).__name__}: {e}") from None
    names = [m.name for m in mats]
    if len(set(names)) != len(names):
        raise InputError(path, "material names are not unique")
    return mats


def substance_of(material: Material) -> str | None:
    """The substance class of a material (from its params), or None (flat / unknown)."""
    s = material.params.get("substance") if material.params else None
    return s if s in SUBSTANCES else None


if __name__ == "__main__":  # python -m materials.presets OUT.json [N] [SEED]
    if len(sys.argv) < 2:
        sys.exit("usage: python -m materials.presets OUT.json [N=400] [SEED=0]")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    print(write_library_json(sys.argv[1], n, seed))
