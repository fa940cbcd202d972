"""Texture-map SVBRDF folders on disk -> ``Material(kind="textures")``.

One folder holds one material: image maps for its channels. Recognised namings (the
channel is the last word of the file stem, after dropping resolution / format words such
as ``2K``, ``JPG``, ``4k``):

- ambientCG / cc_textures: ``<Name>_Color.jpg``, ``<Name>_2K-JPG_Color.jpg``,
  ``<Name>_2K_Color.jpg``; ``_Roughness``, ``_Metalness``, ``_NormalGL`` / ``_NormalDX``,
  ``_Displacement`` (``_AmbientOcclusion``, ``_Opacity`` are known and ignored).
- Poly Haven: ``<name>_diff_2k.jpg`` (or ``col`` / ``albedo``), ``rough``, ``nor_gl`` /
  ``nor_dx``, ``metal``, ``disp``, ``arm`` (packed: R = ambient occlusion, G = roughness,
  B = metallic; also read under the name ``orm``) (``ao``, ``bump``, ``spec`` ignored).
- PhotoShape / Adobe Stock: ``<name>_{basecolor,height,metallic,normal,roughness}.png``.

Channels: ``color`` (required), ``roughness``, ``normal``, ``metallic``, ``displacement``.
A plain ``normal`` / ``nrm`` / ``nor`` map is taken as OpenGL (Y up, what Blender expects);
when a folder has both a GL and a DX normal map, GL is used. A packed ARM map gives the
roughness (its G channel) and the metallic (B) that the folder has no separate map for; its
AO (R) is not used (the renderer computes occlusion). ``required`` (default: color,
roughness, normal, i.e. a full SVBRDF; metallic defaults to 0, or 1 for metal) lists the
channels whose absence makes a folder incomplete.

Params of the returned material (JSON): ``version``, ``substance``, ``folder`` (absolute
path of the folder), ``maps`` ({channel: absolute path}), ``packed`` ({channel: "R" | "G" |
"B"}: the image channel to read for a channel whose map is a packed ARM image; absent when
none is), ``normal_convention`` ("GL" | "DX", absent without a normal map), ``naming``
("ambientcg" | "polyhaven" | "adobe" | "generic"), ``metallic`` (constant used when there
is no metallic map), ``uv_scale`` (UV tiling, 1.0 = one copy of the maps per UV unit),
``bump`` (height-map bump strength).

Substances of a library (``scan_texture_library``): from a mapping file ``substances.json``
in the library root when it names the folder, else guessed from the folder name
(``guess_substance``). The file is one JSON object ``{"<pattern>": "<substance>"}``; a
pattern is a folder name or its path relative to the root (``/``-separated), exact or a glob
(``fnmatch``: ``*``, ``?``, ``[...]``). Exact names win over globs; globs are tried in the
file's order. Example: ``{"Tiles012": "plastic", "oak_*": "wood", "upholstery/*": "fabric"}``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from pathlib import Path

from datagen.errors import DatagenError, InputError
from datagen.spec import Material

TEXTURE_VERSION = 2  # 2: "folder", packed ARM maps ("packed")
CHANNELS = ("color", "roughness", "metallic", "normal", "displacement")
SUBSTANCE_MAP_FILE = "substances.json"
# a packed ARM (occlusion, roughness, metallic) image: which of its channels gives what
ARM_CHANNELS = {"roughness": "G", "metallic": "B"}
DEFAULT_REQUIRED = ("color", "roughness", "normal")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".tga", ".bmp", ".webp")

# last word(s) of a stem -> (channel, normal convention or None, naming family)
_WORDS = {
    "color": ("color", None, "ambientcg"),
    "diff": ("color", None, "polyhaven"),
    "col": ("color", None, "polyhaven"),
    "albedo": ("color", None, "polyhaven"),
    "diffuse": ("color", None, "generic"),
    "basecolor": ("color", None, "adobe"),
    "roughness": ("roughness", None, None),
    "rough": ("roughness", None, "polyhaven"),
    "metalness": ("metallic", None, "ambientcg"),
    "metallic": ("metallic", None, "adobe"),
    "metal": ("metallic", None, "polyhaven"),
    "normalgl": ("normal", "GL", "ambientcg"),
    "normaldx": ("normal", "DX", "ambientcg"),
    "nor_gl": ("normal", "GL", "polyhaven"),
    "nor_dx": ("normal", "DX", "polyhaven"),
    "normal": ("normal", "GL", "adobe"),
    "nrm": ("normal", "GL", "generic"),
    "nor": ("normal", "GL", "generic"),
    "displacement": ("displacement", None, "ambientcg"),
    "disp": ("displacement", None, "polyhaven"),
    "height": ("displacement", None, "adobe"),
    "arm": ("arm", None, "polyhaven"),
    "orm": ("arm", None, "generic"),
}
_IGNORED = {"ambientocclusion", "ao", "opacity", "bump", "spec", "specular", "mask", "preview", "emission", "alpha"}
_NOISE_WORD = re.compile(r"^(\d+k|\d+px|jpg|jpeg|png|exr|tif|tiff|lq|hq|sq)$")

# substance keywords (whole words of the folder name, camelCase split, plural 's' dropped)
SUBSTANCE_KEYWORDS = {
    "wood": ("wood", "plank", "planks", "oak", "walnut", "pine", "veneer", "plywood", "bamboo", "cherry", "teak",
             "mahogany", "birch", "maple", "ash", "beech", "timber", "parquet", "woodfloor", "bark", "chipboard"),
    "leather": ("leather", "suede", "leatherette", "hide", "nubuck"),
    "fabric": ("fabric", "cloth", "textile", "carpet", "denim", "linen", "wool", "velvet", "cotton", "knit",
               "weave", "woven", "canvas", "felt", "upholstery", "tweed", "burlap", "jute", "silk", "rug", "towel"),
    "plastic": ("plastic", "rubber", "vinyl", "acrylic", "pvc", "polymer", "foam", "silicone", "polystyrene"),
    "metal": ("metal", "steel", "iron", "aluminium", "aluminum", "brass", "copper", "bronze", "chrome", "gold",
              "silver", "rust", "tin", "zinc", "corrugated", "galvanized", "titanium", "diamondplate", "sheetmetal"),
}


def _words(stem: str) -> list[str]:
    return [w for w in re.split(r"[_\-\s.]+", stem.lower()) if w]


def classify_map(filename: str) -> tuple[str, str | None, str] | None:
    """Channel of an image file name: ``(channel, normal_convention, naming)``; ``("ignored",
    None, "")`` for known non-SVBRDF maps (AO, opacity...); None for unknown names."""
    p = Path(filename)
    if p.suffix.lower() not in IMAGE_EXTS:
        return None
    words = _words(p.stem)
    while words and _NOISE_WORD.match(words[-1]):
        words.pop()
    if len(words) < 2:  # a bare "<Name>.png" is a preview, not a map
        return None
    two = "_".join(words[-2:])
    if two in _WORDS:
        return _WORDS[two]
    if words[-1] in _WORDS:
        return _WORDS[words[-1]]
    if words[-1] in _IGNORED:
        return ("ignored", None, "")
    return None


def guess_substance(name: str) -> str | None:
    """Substance from keywords in a folder name (``WoodFloor041`` -> wood), or None."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    words = [w for w in re.split(r"[^a-z]+", spaced.lower()) if w]
    for w in words:  # first matching word wins
        for cand in (w, w[:-1] if w.endswith("s") else w):
            for substance, keys in SUBSTANCE_KEYWORDS.items():
                if cand in keys:
                    return substance
    return None


def _check_readable(path: Path) -> None:
    try:
        if path.stat().st_size == 0:
            raise InputError(path, "empty image file")
        if path.suffix.lower() == ".exr":  # Pillow cannot decode EXR: check the magic number only
            with open(path, "rb") as f:
                if f.read(4) != b"\x76\x2f\x31\x01":
                    raise InputError(path, "not an OpenEXR file")
            return
        from PIL import Image

        with Image.open(path) as im:
            im.verify()
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError) as e:  # PIL raises these for broken files
        raise InputError(path, f"unreadable image: {e}") from None


def load_texture_material(
    folder: str | os.PathLike,
    substance: str | None = None,
    *,
    required: tuple = DEFAULT_REQUIRED,
    uv_scale: float = 1.0,
    bump: float = 0.3,
    check_images: bool = True,
) -> Material:
    """Read one SVBRDF texture folder.

    folder : a directory of image maps (see module docstring for namings).
    substance : one of ``materials.presets.SUBSTANCES``; guessed from the folder name when None.
    Returns ``Material(name=<folder name>, kind="textures", params)`` with absolute map paths.
    Raises ``InputError(folder, problem)`` for an incomplete folder (missing channels are
    named), two candidate maps for one channel, an unreadable image, or an unknown substance.
    """
    from materials.presets import SUBSTANCES

    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise InputError(folder, "not a directory")
    found: dict[str, list[tuple[Path, str | None, str]]] = {}
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.stem.lower() == folder.name.lower():  # "<Name>.png" = preview
            continue
        c = classify_map(p.name)
        if c is None or c[0] == "ignored":
            continue
        found.setdefault(c[0], []).append((p, c[1], c[2]))
    maps: dict[str, str] = {}
    convention = None
    namings = set()
    for channel, cands in found.items():
        if channel == "normal" and len({conv for _, conv, _ in cands}) > 1:
            cands = [c for c in cands if c[1] == "GL"]  # both GL and DX: Blender wants GL
        if len(cands) > 1:
            names = ", ".join(p.name for p, _, _ in cands)
            raise InputError(folder, f"two candidate maps for channel '{channel}': {names}")
        path, conv, naming = cands[0]
        maps[channel] = str(path)
        if channel == "normal":
            convention = conv
        if naming and channel != "arm":
            namings.add(naming)
    packed = {}
    arm = maps.pop("arm", None)
    if arm is not None:  # a packed ARM map stands in for the channels without their own map
        for channel, component in ARM_CHANNELS.items():
            if channel not in maps:
                maps[channel] = arm
                packed[channel] = component
        if packed:
            namings.add(classify_map(arm)[2])
    missing = [c for c in required if c not in maps]
    if missing:
        have = ", ".join(sorted(maps)) or "none"
        raise InputError(folder, f"incomplete texture folder: missing {', '.join(missing)} map(s) (found: {have})")
    if substance is None:
        substance = guess_substance(folder.name)
        if substance is None:
            raise InputError(folder, f"cannot guess the substance from the folder name; pass one of {SUBSTANCES}")
    elif substance not in SUBSTANCES:
        raise InputError(folder, f"unknown substance {substance!r}; choose from {SUBSTANCES}")
    if check_images:
        for p in sorted(set(maps.values())):
            _check_readable(Path(p))
    namings.discard("generic")
    params = {
        "version": TEXTURE_VERSION,
        "substance": substance,
        "folder": str(folder),
        "maps": maps,
        "naming": namings.pop() if len(namings) == 1 else "generic",
        "metallic": 1.0 if substance == "metal" else 0.0,
        "uv_scale": float(uv_scale),
        "bump": float(bump),
    }
    if packed:
        params["packed"] = packed
    if convention:
        params["normal_convention"] = convention
    return Material(folder.name, "textures", params)


class TextureScan(list):
    """A ``list[Material]`` with ``.bad``: [{"item": folder, "error": problem}] for skipped folders."""

    def __init__(self, materials=(), bad=()):
        super().__init__(materials)
        self.bad = list(bad)


def read_substance_map(path: str | os.PathLike) -> dict[str, str]:
    """A substance mapping file (``{"<folder name, relative path or glob>": "<substance>"}``, see the
    module docstring). Raises ``InputError(path, problem)`` for bad JSON or an unknown substance."""
    from materials.presets import SUBSTANCES

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(path, f"unreadable substance mapping: {e}") from None
    if not isinstance(doc, dict):
        raise InputError(path, 'substance mapping must be a JSON object {"<folder name or glob>": "<substance>"}')
    for k, v in doc.items():
        if v not in SUBSTANCES:
            raise InputError(path, f"substance mapping {k!r}: unknown substance {v!r}; choose from {', '.join(SUBSTANCES)}")
    return dict(doc)


def mapped_substance(mapping: dict[str, str], rel: str, name: str) -> str | None:
    """The substance ``mapping`` gives a folder (``rel``: its path relative to the library root, ``/``
    separated; ``name``: its own name): an exact key first, then the globs in the mapping's order; None."""
    for key in (rel, name):
        if key in mapping:
            return mapping[key]
    for pattern, substance in mapping.items():
        if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(name, pattern):
            return substance
    return None


def scan_texture_library(root: str | os.PathLike, substance: str | None = None, *,
                         substance_map: dict[str, str] | None = None, **kwargs) -> TextureScan:
    """Every folder under ``root`` (recursive, sorted) that directly holds image files is
    read with :func:`load_texture_material`; bad folders are skipped and listed in
    ``result.bad``. Keyword arguments go to :func:`load_texture_material`.

    substance : one substance for every folder (overrides everything). substance_map : folder
    pattern -> substance (see the module docstring); default: ``root/substances.json`` when it
    exists. A folder the mapping does not name gets the substance guessed from its name.
    Raises ``InputError`` when ``root`` is not a directory or its mapping file is bad.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "texture library root is not a directory")
    if substance_map is None and (root / SUBSTANCE_MAP_FILE).is_file():
        substance_map = read_substance_map(root / SUBSTANCE_MAP_FILE)
    out = TextureScan()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        if not any(Path(f).suffix.lower() in IMAGE_EXTS for f in filenames):
            continue
        sub = substance
        if sub is None and substance_map:
            sub = mapped_substance(substance_map, Path(dirpath).relative_to(root).as_posix(), Path(dirpath).name)
        try:
            out.append(load_texture_material(dirpath, sub, **kwargs))
        except DatagenError as e:
            out.bad.append({"item": str(Path(dirpath).resolve()), "error": str(e)})
    names = [m.name for m in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:  # same folder name in two places: keep the names unique by their relative path
        out[:] = [
            Material(Path(m.params["folder"]).relative_to(root.resolve()).as_posix(), m.kind, m.params)
            if m.name in dup else m
            for m in out
        ]
    return out
