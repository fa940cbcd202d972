"""Procedural tables and lamps with PartNet-style labels and semantic paths.

Building frame: Z up, metres, floor at ``z = 0``, the object centred on the Z axis
(a table's length along X, a desk lamp's head towards -Y). Sampler ``sample_<category>``
draws every random choice; ``build_<category>`` is pure geometry (see ``assembly``).

Tables (``top_shape`` rect | square | round | oval; ``base_type``):

- ``four_leg`` / ``three_leg`` (``regular_leg_base``: ``leg``, optional ``bar_stretcher``
  H / box, or a lower ``shelf``; legs straight / tapered / splayed, square or round),
- ``pedestal`` (``pedestal_base``: ``central_support`` column (straight / flared /
  baluster) on a ``pedestal`` disc or star ``leg`` feet; long tops get two columns on
  foot bars joined by a ``bar_stretcher``),
- ``panel`` (``panel_base``: two ``side_panel`` slabs, optional ``back_panel``);
  optional apron ``tabletop_frame`` under the ``tabletop_surface``.

Lamps (``style``): ``table`` / ``floor`` (``lamp_base`` disc, block or vase, or tripod
``leg``; ``lamp_pole``; ``lamp_shade`` cone / drum / bell shell with its spider (spokes
and a hub ring around the pole); ``light_bulb``) and ``desk`` (base, two ``lamp_arm``
segments with a ``joint``, a cone or dome head ``lamp_shade`` and its bulb).
"""

from __future__ import annotations

import numpy as np

import datagen.shapes.procedural.primitives as P
from datagen.shapes.procedural.assembly import PartList, chance, pick, u

TABLE_PATHS = {
    "top": "table/tabletop/tabletop_surface",
    "apron": "table/tabletop/tabletop_frame",
    "leg": "table/table_base/regular_leg_base/leg",
    "stretcher": "table/table_base/regular_leg_base/bar_stretcher",
    "shelf": "table/table_base/regular_leg_base/shelf",
    "column": "table/table_base/pedestal_base/central_support",
    "foot": "table/table_base/pedestal_base/pedestal",
    "star_leg": "table/table_base/pedestal_base/leg",
    "ped_stretcher": "table/table_base/pedestal_base/bar_stretcher",
    "side_panel": "table/table_base/panel_base/side_panel",
    "back_panel": "table/table_base/panel_base/back_panel",
}
LAMP_PATHS = {
    "base": "lamp/lamp_base/lamp_base",
    "leg": "lamp/lamp_base/leg",
    "pole": "lamp/lamp_body/lamp_pole",
    "arm": "lamp/lamp_body/lamp_arm",
    "joint": "lamp/lamp_body/joint",
    "shade": "lamp/lamp_head/lamp_shade",
    "bulb": "lamp/lamp_head/light_bulb",
}
EMBED = 0.006  # metres parts sink into each other so the assembly is connected
SEG = 32


# --- tables -------------------------------------------------------------------------
def sample_table(rng: np.random.Generator) -> dict:
    """Every random choice of a table (metres, radians), JSON-serializable."""
    top = pick(rng, ("rect", "square", "round", "oval"), p=[0.4, 0.15, 0.3, 0.15])
    p: dict = {"top_shape": top}
    if top == "rect":
        p["length"] = u(rng, 0.9, 1.8)
        p["width"] = p["length"] * u(rng, 0.45, 0.75)
    elif top == "oval":
        p["length"] = u(rng, 1.0, 1.8)
        p["width"] = p["length"] * u(rng, 0.5, 0.75)
    else:
        p["length"] = p["width"] = u(rng, 0.6, 1.2)
    p["height"] = u(rng, 0.42, 0.95)
    p["top_thickness"] = u(rng, 0.02, 0.06)
    p["top_bevel"] = u(rng, 0.002, 0.012)
    p["corner_radius"] = u(rng, 0.005, 0.15)
    bases = ["four_leg", "pedestal", "panel"] if top in ("rect", "square") else ["four_leg", "three_leg", "pedestal"]
    p["base_type"] = pick(rng, bases, p=[0.6, 0.25, 0.15])
    p["leg_style"] = pick(rng, ("straight", "tapered", "splayed"))
    p["leg_section"] = pick(rng, ("square", "round"))
    p["leg_size"] = u(rng, 0.03, 0.075)
    p["leg_inset"] = u(rng, 0.02, 0.09)
    p["leg_splay"] = u(rng, 0.03, 0.09)
    p["leg_taper"] = u(rng, 0.45, 0.8)
    p["apron"] = chance(rng, 0.55)
    p["apron_height"] = u(rng, 0.05, 0.12)
    p["apron_thickness"] = u(rng, 0.015, 0.03)
    p["stretcher_type"] = pick(rng, ("none", "h", "box", "shelf"), p=[0.45, 0.2, 0.2, 0.15])
    p["stretcher_height"] = u(rng, 0.08, 0.2)
    p["stretcher_size"] = u(rng, 0.4, 0.7)
    p["column_style"] = pick(rng, ("straight", "flared", "baluster"))
    p["column_radius"] = u(rng, 0.03, 0.07)
    p["foot_style"] = pick(rng, ("disc", "star"))
    p["foot_radius"] = u(rng, 0.5, 0.8)  # fraction of the top's half-width
    p["foot_thickness"] = u(rng, 0.02, 0.05)
    p["n_feet"] = int(rng.choice([3, 4]))
    p["panel_thickness"] = u(rng, 0.02, 0.05)
    p["panel_inset"] = u(rng, 0.0, 0.08)
    p["back_panel"] = chance(rng, 0.5)
    return p


def _top_profile(p: dict, inset: float) -> np.ndarray:
    L, W = p["length"] - 2 * inset, p["width"] - 2 * inset
    if p["top_shape"] in ("round", "oval"):
        return P.circle_profile(1.0, 48) * [L / 2, W / 2]
    return P.rounded_rect_profile(L, W, max(p["corner_radius"] - inset, 1e-3), 4)


def _beveled(profile_at, z0: float, thickness: float, bevel: float) -> tuple:
    """Plate between ``z0`` and ``z0 + thickness`` whose outline ``profile_at(inset)`` is
    bevelled by ``bevel`` metres at both edges."""
    b = min(bevel, thickness / 3)
    return P.vertical_stack(
        [profile_at(b), profile_at(0.0), profile_at(0.0), profile_at(b)], [z0, z0 + b, z0 + thickness - b, z0 + thickness]
    )


def _leg_anchors(p: dict) -> list[np.ndarray]:
    s, ins = p["leg_size"], p["leg_inset"]
    a, b = p["length"] / 2, p["width"] / 2
    if p["top_shape"] in ("round", "oval"):
        n = 3 if p["base_type"] == "three_leg" else 4
        angles = [np.pi / 2 + 2 * np.pi * k / 3 for k in range(3)] if n == 3 else [np.pi / 4 + np.pi / 2 * k for k in range(4)]
        return [np.array([(a - ins - s) * np.cos(t), (b - ins - s) * np.sin(t)]) for t in angles]
    d = max(ins, 0.35 * p["corner_radius"]) + s / 2 + p["top_bevel"]
    return [np.array([sx * (a - d), sy * (b - d)]) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]


def _section(p: dict, size: float) -> np.ndarray:
    return P.circle_profile(size / 2, 12) if p["leg_section"] == "round" else P.rect_profile(size, size)


def _leg_base(parts: PartList, p: dict, z_under: float):
    s = p["leg_size"]
    splay = p["leg_splay"] if p["leg_style"] == "splayed" else 0.0
    taper = p["leg_taper"] if p["leg_style"] == "tapered" else 1.0
    anchors = _leg_anchors(p)
    feet = []
    for xy in anchors:
        foot = xy + xy / np.linalg.norm(xy) * splay
        feet.append(foot)
        bottom, top = _section(p, s * taper) + foot, _section(p, s) + xy
        parts.add("leg", P.loft(np.stack([np.c_[bottom, np.zeros(len(bottom))], np.c_[top, np.full(len(top), z_under + EMBED)]])))

    def at(k: int, z: float) -> np.ndarray:
        t = z / (z_under + EMBED)
        return np.r_[feet[k] + (anchors[k] - feet[k]) * t, z]

    n = len(anchors)
    if p["apron"]:
        ah, th = p["apron_height"], p["apron_thickness"]
        zc = z_under - ah / 2 + EMBED
        if p["top_shape"] in ("round", "oval"):
            r_out = p["length"] / 2 - p["leg_inset"] - s / 2
            v, f = P.tube(zc - ah / 2, zc + ah / 2, r_out, r_out - th, 48)
            parts.add("apron", (v * [1, p["width"] / p["length"], 1], f))
        else:
            for k in range(n):  # outer face flush with the legs' outer faces
                a, b = anchors[k], anchors[(k + 1) % n]
                mid = (a + b) / 2
                c = mid + np.sign(mid) * (np.abs(mid) > 1e-9) * (s / 2 - th / 2)
                parts.add("apron", P.bar(np.r_[c + a - mid, zc], np.r_[c + b - mid, zc], P.rect_profile(th, ah), up=[0, 0, 1]))
    kind = p["stretcher_type"]
    h = p["stretcher_height"]
    if kind == "shelf" and n == 4:
        ext = np.max(np.abs([at(k, h)[:2] for k in range(n)]), axis=0) + 0.3 * s
        if p["top_shape"] in ("round", "oval"):
            prof = P.circle_profile(1.0, 48) * ext
        else:
            prof = P.rect_profile(2 * ext[0], 2 * ext[1])
        parts.add("shelf", P.vertical_stack([prof, prof], [h, h + 0.02]))
    elif kind in ("h", "box") or (kind == "shelf" and n == 3):
        prof = _section(p, s * p["stretcher_size"])
        pairs = [(k, (k + 1) % n) for k in range(n)] if kind != "h" or n == 3 else [(0, 3), (1, 2)]
        for a, b in pairs:
            parts.add("stretcher", P.bar(at(a, h), at(b, h), prof, up=[0, 0, 1]))
        if kind == "h" and n == 4:
            parts.add("stretcher", P.bar((at(0, h) + at(3, h)) / 2, (at(1, h) + at(2, h)) / 2, prof, up=[0, 0, 1]))


def _column(p: dict, x: float, z0: float, z1: float) -> tuple:
    r = p["column_radius"]
    style = p["column_style"]
    if style == "straight":
        rs = [r, r]
        ts = [0.0, 1.0]
    elif style == "flared":
        rs, ts = [2.0 * r, 1.2 * r, r, r, 1.3 * r], [0.0, 0.15, 0.3, 0.9, 1.0]
    else:
        rs, ts = [1.4 * r, r, 0.7 * r, 1.5 * r, 0.7 * r, r, 1.2 * r], [0.0, 0.1, 0.25, 0.45, 0.7, 0.9, 1.0]
    prof = [(0.0, z0)] + [(ri, z0 + t * (z1 - z0)) for ri, t in zip(rs, ts)] + [(0.0, z1)]
    v, f = P.revolve(prof, 24)
    return v + [x, 0, 0], f


def _pedestal_base(parts: PartList, p: dict, z_under: float):
    th = p["foot_thickness"]
    half_w = p["width"] / 2
    double = p["length"] / p["width"] > 1.4
    xs = [-0.3 * p["length"], 0.3 * p["length"]] if double else [0.0]
    for x in xs:
        parts.add("column", _column(p, x, th * 0.5, z_under + EMBED))
        R = max(half_w * p["foot_radius"], 2.5 * p["column_radius"])
        if double:
            parts.add("foot", P.rounded_slab(4 * p["column_radius"], 2 * R, th, 0.02, 0.008, [x, 0, th / 2]))
        elif p["foot_style"] == "disc":
            parts.add("foot", _beveled(lambda i: P.circle_profile(R - i, 48) + [x, 0], 0.0, th, 0.01))
        else:
            n = p["n_feet"]
            for k in range(n):
                a = np.pi / 2 + 2 * np.pi * k / n
                tip = np.array([x + R * np.cos(a), R * np.sin(a), th * 0.4])
                prof0, prof1 = P.rect_profile(1.4 * p["column_radius"], th * 1.6), P.rect_profile(p["column_radius"], th * 0.8)
                parts.add("star_leg", P.bar([x, 0, th * 1.5], tip, prof0, prof1, up=[0, 0, 1]))
    if double:
        zs = 0.3 * z_under
        parts.add("ped_stretcher", P.bar([xs[0], 0, zs], [xs[1], 0, zs], P.rect_profile(0.03, 0.05), up=[0, 0, 1]))


def _panel_base(parts: PartList, p: dict, z_under: float):
    t, ins = p["panel_thickness"], p["panel_inset"]
    x = p["length"] / 2 - ins - t / 2 - max(0.0, 0.3 * p["corner_radius"] - ins)
    depth = p["width"] - 2 * max(ins, 0.3 * p["corner_radius"]) - 2 * p["top_bevel"]
    for sx in (-1, 1):
        parts.add("side_panel", P.box([sx * x, 0, (z_under + EMBED) / 2], [t, depth, z_under + EMBED]))
    if p["back_panel"]:
        hb = 0.45 * z_under
        parts.add("back_panel", P.box([0, depth / 2 - t, z_under - hb / 2 + EMBED], [2 * x, t * 0.6, hb]))


def build_table(p: dict) -> PartList:
    """The table of ``p`` (from :func:`sample_table`) in its building frame."""
    parts = PartList("table", TABLE_PATHS)
    t = p["top_thickness"]
    z_under = p["height"] - t
    parts.add("top", _beveled(lambda i: _top_profile(p, i), z_under, t, p["top_bevel"]), name="tabletop")
    if p["base_type"] in ("four_leg", "three_leg"):
        _leg_base(parts, p, z_under)
    elif p["base_type"] == "pedestal":
        _pedestal_base(parts, p, z_under)
    else:
        _panel_base(parts, p, z_under)
    return parts


# --- lamps --------------------------------------------------------------------------------
def sample_lamp(rng: np.random.Generator) -> dict:
    """Every random choice of a lamp (metres, radians), JSON-serializable."""
    style = pick(rng, ("table", "floor", "desk"), p=[0.45, 0.25, 0.3])
    p: dict = {"style": style}
    if style == "table":
        p["base_style"] = pick(rng, ("disc", "block", "vase"))
        p["base_radius"] = u(rng, 0.07, 0.13)
        p["pole_height"] = u(rng, 0.25, 0.45)
    elif style == "floor":
        p["base_style"] = pick(rng, ("disc", "tripod"))
        p["base_radius"] = u(rng, 0.13, 0.22)
        p["pole_height"] = u(rng, 1.1, 1.6)
    else:
        p["base_style"] = pick(rng, ("disc", "block"))
        p["base_radius"] = u(rng, 0.06, 0.1)
        p["arm_lengths"] = [u(rng, 0.22, 0.38), u(rng, 0.2, 0.35)]
        p["arm_angles"] = [u(rng, np.radians(5), np.radians(35)), u(rng, np.radians(50), np.radians(90))]
        p["head_angle"] = u(rng, np.radians(10), np.radians(55))
    p["base_height"] = u(rng, 0.015, 0.04)
    p["vase_height"] = u(rng, 0.12, 0.25)
    p["pole_radius"] = u(rng, 0.006, 0.014)
    p["shade_style"] = pick(rng, ("cone", "drum", "bell")) if style != "desk" else pick(rng, ("cone", "dome"))
    p["shade_radius"] = u(rng, 0.12, 0.22) if style != "desk" else u(rng, 0.05, 0.09)
    p["shade_top_ratio"] = u(rng, 0.45, 0.7)
    p["shade_height"] = p["shade_radius"] * u(rng, 0.8, 1.4)
    p["shade_thickness"] = u(rng, 0.003, 0.006)
    p["shade_drop"] = u(rng, 0.2, 0.45)  # share of the shade height below the pole top
    p["bulb_radius"] = u(rng, 0.025, 0.04) if style != "desk" else u(rng, 0.015, 0.025)
    return p


def _shade_profile(p: dict, z0: float, z_band: float, band: float) -> np.ndarray:
    """Closed (r, z) ring polygon of a table / floor lamp shade shell from ``z0`` up; the
    inner wall carries an inward band ``band`` metres deep around ``z_band`` (the spider
    spokes end in it)."""
    R, H, th = p["shade_radius"], p["shade_height"], p["shade_thickness"]
    ratio = {"cone": p["shade_top_ratio"], "drum": 0.97, "bell": 0.35}[p["shade_style"]]
    ts = np.linspace(0.0, 1.0, 9 if p["shade_style"] == "bell" else 2)
    r = R * (ratio + (1 - ratio) * (1 - ts) ** 2) if p["shade_style"] == "bell" else R + (R * ratio - R) * ts
    z = z0 + H * ts
    hb = 0.5 * band
    zi = np.unique(np.r_[z, z_band + np.array([-hb - band, -hb, hb, hb + band])])
    bump = np.interp(np.abs(zi - z_band), [hb, hb + band], [band, 0.0])
    inner = np.c_[np.interp(zi, z, r) - th - bump, zi][::-1]
    return np.concatenate([np.c_[r, z], inner])


def _hanging_shade(parts: PartList, p: dict, z_top: float):
    H, rp = p["shade_height"], p["pole_radius"]
    z0 = z_top - p["shade_drop"] * H
    z_sp, band = z0 + 0.3 * H, 0.01
    prof = _shade_profile(p, z0, z_sp, band)
    inner = prof[prof[:, 1].argmax() + 1 :]  # inner wall, top to bottom
    r_end = float(np.interp(z_sp, inner[::-1, 1], inner[::-1, 0])) + band / 2
    hub_in, hub_out = rp * 1.02, rp + 0.012
    pieces = [P.lathe(prof, 48), P.tube(z_sp - 0.008, z_sp + 0.008, hub_out, hub_in, 24)]
    for k in range(3):
        a = 2 * np.pi * k / 3
        d = np.array([np.cos(a), np.sin(a), 0.0])
        pieces.append(P.cylinder(d * (hub_out - 0.003) + [0, 0, z_sp], d * r_end + [0, 0, z_sp], 0.0025, 8))
    parts.add("shade", P.union(pieces), name="lamp_shade")
    parts.add("bulb", P.ellipsoid([0, 0, z_top + 0.8 * p["bulb_radius"]], [p["bulb_radius"]] * 2 + [1.3 * p["bulb_radius"]], 16, 10), name="light_bulb")


def _lamp_base(parts: PartList, p: dict) -> float:
    """Add the base; returns the z where the pole starts."""
    R, hb = p["base_radius"], p["base_height"]
    style = p["base_style"]
    if style == "disc":
        parts.add("base", _beveled(lambda i: P.circle_profile(R - i, 48), 0.0, hb, 0.006), name="lamp_base")
        return hb - EMBED
    if style == "block":
        parts.add("base", P.rounded_slab(1.6 * R, 1.6 * R, hb * 1.5, 0.015, 0.005, [0, 0, hb * 0.75]), name="lamp_base")
        return hb * 1.5 - EMBED
    if style == "vase":
        H = p["vase_height"]
        ts = np.linspace(0.0, 1.0, 10)
        r = 0.35 * R + 0.65 * R * np.sin(np.pi * (0.15 + 0.75 * ts)) ** 1.5
        parts.add("base", P.revolve([(0.0, 0.0)] + list(zip(r, H * ts)) + [(0.0, H)], SEG), name="lamp_base")
        return H - EMBED
    zh = 0.3 * p["pole_height"]  # tripod: legs meet the pole at zh
    for k in range(3):
        a = np.pi / 2 + 2 * np.pi * k / 3
        parts.add("leg", P.cylinder([0, 0, zh], [R * np.cos(a), R * np.sin(a), 0.0], p["pole_radius"] * 0.9, 12))
    return zh - 0.03


def build_lamp(p: dict) -> PartList:
    """The lamp of ``p`` (from :func:`sample_lamp`) in its building frame."""
    parts = PartList("lamp", LAMP_PATHS)
    z0 = _lamp_base(parts, p)
    rp = p["pole_radius"]
    if p["style"] != "desk":
        z_top = z0 + max(p["pole_height"], p["shade_drop"] * p["shade_height"] + 0.08)  # shade clears the base
        parts.add("pole", P.cylinder([0, 0, z0], [0, 0, z_top], rp, 16), name="lamp_pole")
        _hanging_shade(parts, p, z_top)
        return parts
    (l1, l2), (a1, a2) = p["arm_lengths"], p["arm_angles"]
    j0 = np.array([0.0, 0.0, z0])
    j1 = j0 + l1 * np.array([0.0, np.sin(a1), np.cos(a1)])  # leans back (+Y)
    j2 = j1 + l2 * np.array([0.0, -np.sin(a2), np.cos(a2)])  # reaches forward (-Y)
    r_arm = max(rp, 0.008)
    parts.add("arm", P.cylinder(j0, j1, r_arm, 16))
    parts.add("arm", P.cylinder(j1, j2, r_arm, 16))
    parts.add("joint", P.ellipsoid(j1, [1.8 * r_arm] * 3, 16, 8))
    b = p["head_angle"]
    d = np.array([0.0, -np.sin(b), -np.cos(b)])  # where the light points
    R, th = p["shade_radius"], p["shade_thickness"]
    H, rn, ln = 1.1 * R, 0.18 * R, 0.3 * R  # shade depth, neck radius and length (metres)
    if p["shade_style"] == "cone":
        outer = [(rn, 0.0), (0.3 * R, 0.0), (R, -H)]
        inner = [(R - th, -H), (0.3 * R - th, -th), (0.0, -th)]
    else:
        a = np.linspace(np.arcsin(rn / R), np.pi / 2, 7)
        outer = [(R * np.sin(t), -H * (1 - np.cos(t))) for t in a]
        inner = [((R - th) * np.sin(t), -th - (H - th) * (1 - np.cos(t))) for t in a[:0:-1]] + [(0.0, -th)]
    v, f = P.revolve([(0.0, ln), (rn, ln)] + outer + inner, SEG)  # neck and shell in one profile
    parts.add("shade", (P.transform(v, P.axis_matrix(-d, j2 + (ln - 0.02) * d)), f), name="lamp_shade")
    parts.add("bulb", P.ellipsoid(j2 + 0.45 * H * d, [p["bulb_radius"]] * 3, 16, 8), name="light_bulb")
    return parts
