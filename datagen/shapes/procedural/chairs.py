"""Procedural chairs with PartNet part labels and semantic paths.

A chair is first described by plain parameters (:func:`sample_chair_params`, all random
choices happen there), then built (:func:`build_chair`, pure geometry). So
``shape.meta["params"]`` replays the exact chair.

Frame while building: Z up, metres, floor at ``z = 0``, seat centred on the Z axis,
the chair faces -Y (the back is on the +Y side, the sitter looks towards -Y). The
result is normalized (``datagen.shapes.normalize``: bbox centre at origin, diagonal 1).

Structure (the ``*_type``/``*_style`` fields of the parameters):

- base: ``four_leg`` | ``three_leg`` | ``runner`` (regular_leg_base, legs straight /
  splayed / tapered, square or round, stretchers H / box / ring / none, runners on the
  floor), ``star`` (star_leg_base: 5 legs, central column, casters = wheel + stem,
  optional mechanical control), ``pedestal`` (pedestal_base: column + foot disc).
- seat: ``box`` | ``rounded`` | ``cushion`` (seat_support board + seat_surface cushion).
- back: ``panel`` | ``slats`` (frame + vertical slats) | ``ladder`` (posts + horizontal
  bars) | ``floating`` (back connectors + panel) | ``cushion`` (frame panel + cushion);
  tilted back by ``back_tilt`` radians; optional headrest (+ head connectors).
- arms: ``none`` | ``bars`` (horizontal bar + near-vertical supports) | ``solid``
  (sofa-style side slabs).

Part names are unique (``leg_0``, ``seat``, ``back_slat_2`` ...); labels are PartNet leaf
names; paths are PartNet semantic paths (``chair/chair_base/regular_leg_base/leg``).
"""

from __future__ import annotations

import numpy as np

from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize
import datagen.shapes.procedural.primitives as P
from datagen.shapes.procedural.chair_params import sample_chair_params

_REG = "chair/chair_base/regular_leg_base/"
_STAR = "chair/chair_base/star_leg_base/"
_PED = "chair/chair_base/pedestal_base/"
PATHS = {
    "leg": _REG + "leg",
    "bar_stretcher": _REG + "bar_stretcher",
    "runner": _REG + "runner",
    "star_leg": _STAR + "leg",
    "central_support": _STAR + "central_support",
    "wheel": _STAR + "caster/wheel",
    "caster_stem": _STAR + "caster/caster_stem",
    "mechanical_control": _STAR + "mechanical_control",
    "pedestal": _PED + "pedestal",
    "pedestal_support": _PED + "central_support",
    "seat_surface": "chair/chair_seat/seat_surface",
    "seat_support": "chair/chair_seat/seat_support",
    "back_surface": "chair/chair_back/back_surface",
    "back_frame": "chair/chair_back/back_frame",
    "back_support": "chair/chair_back/back_support",
    "back_connector": "chair/chair_back/back_connector",
    "arm_horizontal_bar": "chair/chair_arm/arm_horizontal_bar",
    "arm_near_vertical_bar": "chair/chair_arm/arm_near_vertical_bar",
    "arm_sofa_style": "chair/chair_arm/arm_sofa_style",
    "headrest": "chair/chair_head/headrest",
    "head_connector": "chair/chair_head/head_connector",
}

ROUND_SEGMENTS = 12


class _Parts:
    """Accumulates (name, label, path, vertices, faces)."""

    def __init__(self):
        self.items: list[tuple[str, str, str, np.ndarray, np.ndarray]] = []

    def add(self, name: str, key: str, mesh: tuple[np.ndarray, np.ndarray]):
        path = PATHS[key]
        self.items.append((name, path.rsplit("/", 1)[1], path, mesh[0], mesh[1]))

    def transform_from(self, start: int, matrix: np.ndarray):
        for k in range(start, len(self.items)):
            n, lab, path, v, f = self.items[k]
            self.items[k] = (n, lab, path, P.transform(v, matrix), f)


def _section(p: dict, size: float) -> np.ndarray:
    if p["leg_section"] == "round":
        return P.circle_profile(size / 2, ROUND_SEGMENTS)
    return P.rect_profile(size, size)


def _seat(parts: _Parts, p: dict) -> float:
    """Add the seat; returns the z of its underside."""
    W, D, top, t = p["seat_width"], p["seat_depth"], p["seat_height"], p["seat_thickness"]
    style = p["seat_style"]
    if style == "box":
        parts.add("seat", "seat_surface", P.box([0, 0, top - t / 2], [W, D, t]))
        return top - t
    if style == "rounded":
        parts.add("seat", "seat_surface", P.rounded_slab(W, D, t, p["seat_corner_radius"], p["seat_bevel"], [0, 0, top - t / 2]))
        return top - t
    c = p["cushion_thickness"]
    board = min(t, 0.035)
    bottom = top - c - board
    parts.add("seat_support", "seat_support", P.box([0, 0, bottom + board / 2], [W, D, board]))
    ins = p["cushion_inset"]
    parts.add(
        "seat",
        "seat_surface",
        P.rounded_slab(W - 2 * ins, D - 2 * ins, c + 0.004, p["seat_corner_radius"], max(p["seat_bevel"], 0.012), [0, 0, top - c / 2 - 0.002]),
    )
    return bottom


def seat_half_width(p: dict, y: float, face: str = "top") -> float:
    """Half-width (metres) of the seat's ``face`` ("top" or "bottom") at depth ``y`` (0 outside),
    conservative: rounded corners and edge bevels are subtracted, so anything embedded
    within it touches the seat."""
    W, D = p["seat_width"], p["seat_depth"]
    if p["seat_style"] == "box":
        A, B, r = W / 2, D / 2, 0.0
    elif p["seat_style"] == "rounded":
        b = min(p["seat_bevel"], p["seat_thickness"] / 3.0)
        A, B, r = W / 2 - b, D / 2 - b, p["seat_corner_radius"]
    else:
        ins = p["cushion_inset"]
        b = max(p["seat_bevel"], 0.012)
        A, B, r = W / 2 - ins - b, D / 2 - ins - b, p["seat_corner_radius"]
        if face == "bottom":  # the board under the cushion is a plain box
            return W / 2 if abs(y) <= D / 2 else 0.0
    r = min(r, A, B)
    y = abs(y)
    if y > B:
        return 0.0
    if y <= B - r:
        return A
    return A - r + float(np.sqrt(max(r * r - (y - (B - r)) ** 2, 0.0)))


def _leg_anchor_xy(p: dict) -> list[np.ndarray]:
    W, D, s, ins = p["seat_width"], p["seat_depth"], p["leg_size"], p["leg_inset"]
    hy = D / 2 - ins - s / 2
    hx = min(W / 2 - ins - s / 2, seat_half_width(p, hy + s / 2, "bottom") - s / 2 - 0.004)
    if p["base_type"] == "three_leg":
        return [np.array([-hx, -hy]), np.array([hx, -hy]), np.array([0.0, hy])]
    return [np.array([-hx, -hy]), np.array([hx, -hy]), np.array([hx, hy]), np.array([-hx, hy])]


def _regular_base(parts: _Parts, p: dict, z_under: float, embed: float):
    s = p["leg_size"]
    style = p["leg_style"]
    splay = p["leg_splay"] if "splayed" in style else 0.0
    taper = p["leg_taper"] if "tapered" in style else 1.0
    z_bottom = p["runner_height"] * 0.5 if p["base_type"] == "runner" else 0.0
    z_top = z_under + embed
    axes = []
    for i, xy in enumerate(_leg_anchor_xy(p)):
        d = xy / max(np.linalg.norm(xy), 1e-9)
        if p["base_type"] != "three_leg":
            d = np.sign(xy) / np.sqrt(2.0)
        foot = xy + d * splay
        top = np.array([xy[0], xy[1], z_top])
        bottom = np.array([foot[0], foot[1], z_bottom])
        prof_top, prof_bottom = _section(p, s), _section(p, s * taper)
        rings = np.stack([np.c_[prof_bottom + foot, np.full(len(prof_bottom), z_bottom)], np.c_[prof_top + xy, np.full(len(prof_top), z_top)]])
        parts.add(f"leg_{i}", "leg", P.loft(rings))
        axes.append((bottom, top))

    def at(k: int, z: float) -> np.ndarray:
        b, t = axes[k]
        return b + (t - b) * (z - b[2]) / (t[2] - b[2])

    def size_at(z: float) -> float:
        return s * (taper + (1 - taper) * (z - z_bottom) / (z_top - z_bottom))

    kind = p["stretcher_type"]
    if kind != "none" and p["base_type"] != "runner":
        h = p["stretcher_height"]
        ss = p["stretcher_size"] * size_at(h)
        prof = _section(p, ss) if p["leg_section"] == "round" else P.rect_profile(ss * 0.8, ss)
        if kind == "ring":
            pairs = [(0, 1), (1, 2), (2, 0)]
        elif kind == "box":
            pairs = [(0, 1), (1, 2), (2, 3), (3, 0)]
        else:  # h: two sides + a middle bar
            pairs = [(0, 3), (1, 2)]
        k = 0
        for a, b in pairs:
            parts.add(f"stretcher_{k}", "bar_stretcher", P.bar(at(a, h), at(b, h), prof, up=[0, 0, 1]))
            k += 1
        if kind == "h":
            m0 = (at(0, h) + at(3, h)) / 2
            m1 = (at(1, h) + at(2, h)) / 2
            parts.add(f"stretcher_{k}", "bar_stretcher", P.bar(m0, m1, prof, up=[0, 0, 1]))
    if p["base_type"] == "runner":
        rh = p["runner_height"]
        for k, (a, b) in enumerate([(0, 3), (1, 2)]):
            fa, fb = axes[a][0], axes[b][0]
            length = abs(fb[1] - fa[1]) + 2 * s
            parts.add(f"runner_{k}", "runner", P.box([fa[0], (fa[1] + fb[1]) / 2, rh / 2], [s, length, rh]))


def _star_base(parts: _Parts, p: dict, z_under: float, embed: float):
    rw, ww = p["wheel_radius"], p["wheel_width"]
    lh, lw = p["star_leg_height"], p["star_leg_width"]
    z_tip = 2 * rw + p["stem_gap"] + lh / 2
    z_hub = z_tip + p["star_leg_drop"]
    R = p["star_radius"]
    top = z_under + embed
    if p["has_control"]:
        cx, cy, cz = p["control_size"]
        parts.add("control", "mechanical_control", P.box([0, 0, z_under - cz / 2 + embed], [cx, cy, cz]))
        top = z_under - cz + 2 * embed
    rc = p["column_radius"]
    parts.add("column", "central_support", P.cylinder([0, 0, z_hub - lh / 2], [0, 0, top], rc, ROUND_SEGMENTS * 2))
    n = p["star_legs"]
    for i in range(n):
        a = p["star_phase"] - np.pi / 2 + 2 * np.pi * i / n
        d = np.array([np.cos(a), np.sin(a), 0.0])
        tip = d * R + [0, 0, z_tip]
        parts.add(
            f"leg_{i}",
            "star_leg",
            P.bar([0, 0, z_hub], tip, P.rect_profile(lw, lh), P.rect_profile(lw * 0.7, lh * 0.8), up=[0, 0, 1]),
        )
        wc = d * (R - 0.01) + [0, 0, rw]
        parts.add(f"caster_stem_{i}", "caster_stem", P.cylinder(wc, tip, min(0.011, lw * 0.3), ROUND_SEGMENTS))
        yaw = a + p["wheel_yaw"]
        axle = np.array([np.cos(yaw), np.sin(yaw), 0.0]) * ww / 2
        parts.add(f"wheel_{i}", "wheel", P.cylinder(wc - axle, wc + axle, rw, ROUND_SEGMENTS * 2))


def _pedestal_base(parts: _Parts, p: dict, z_under: float, embed: float):
    r, th = p["pedestal_radius"], p["pedestal_thickness"]
    parts.add("pedestal", "pedestal", P.cylinder([0, 0, 0], [0, 0, th], r, 32, r * (0.95 if p["pedestal_top_ratio"] > 0.9 else p["pedestal_top_ratio"])))
    rc = p["column_radius"]
    parts.add("column", "pedestal_support", P.cylinder([0, 0, th * 0.5], [0, 0, z_under + embed], rc * p["column_flare"], 24, rc))


def _back(parts: _Parts, p: dict, embed: float) -> tuple[float, float]:
    """Add back (and headrest) parts; returns (y of back centre plane, pivot z)."""
    W, D, top = p["seat_width"], p["seat_depth"], p["seat_height"]
    tb, hb = p["back_thickness"], p["back_height"]
    y = D / 2 - tb / 2 - p["back_inset"]
    if p["seat_style"] != "box":  # keep the back's bottom corners on the rounded seat
        y = min(y, D / 2 - tb / 2 - max(p["seat_bevel"], 0.012) - p["cushion_inset"] - 0.004)
    Wb = min(W * p["back_width_ratio"], 2 * (seat_half_width(p, y + tb / 2) - 0.004))
    start = len(parts.items)
    z0 = top - embed
    style = p["back_style"]
    pw = p["post_width"]

    def panel(name: str, key: str, zlo: float, zhi: float, width: float, thick: float, yc: float = y):
        r = p["back_top_radius"]
        h = zhi - zlo
        if r > 0:
            prof = P.rounded_rect_profile(width, h, r, 4, top_only=True)
        else:
            prof = P.rect_profile(width, h)
        zc = (zlo + zhi) / 2
        parts.add(name, key, P.bar([0, yc + thick / 2, zc], [0, yc - thick / 2, zc], prof, up=[0, 0, 1]))

    z_top = top + hb
    if style == "panel":
        panel("back", "back_surface", z0, z_top, Wb, tb)
    elif style in ("slats", "ladder"):
        xs = Wb / 2 - pw / 2
        parts.add("back_frame_0", "back_frame", P.box([-xs, y, (z0 + z_top) / 2], [pw, tb, z_top - z0]))
        parts.add("back_frame_1", "back_frame", P.box([xs, y, (z0 + z_top) / 2], [pw, tb, z_top - z0]))
        inner = Wb - 2 * pw
        if style == "slats":
            rh = p["rail_height"]
            parts.add("back_frame_2", "back_frame", P.box([0, y, z_top - rh / 2], [inner + 2 * embed, tb, rh]))
            z_lo = top - embed
            if p["bottom_rail"]:
                zr = top + 0.3 * rh + rh / 2
                parts.add("back_frame_3", "back_frame", P.box([0, y, zr], [inner + 2 * embed, tb, rh * 0.8]))
                z_lo = zr
            n = p["n_slats"]
            sw = min(p["slat_width"], 0.8 * inner / n)
            for i in range(n):
                x = -inner / 2 + inner * (i + 0.5) / n
                parts.add(f"back_slat_{i}", "back_support", P.box([x, y, (z_lo + z_top - rh) / 2], [sw, tb * 0.6, z_top - rh - z_lo + 2 * embed]))
        else:
            n = p["n_bars"]
            bh = p["bar_height"]
            lo = top + 0.35 * hb
            for i in range(n):
                zc = z_top - bh / 2 - (z_top - bh / 2 - lo) * i / max(n - 1, 1)
                if n == 1:
                    zc = z_top - bh / 2
                parts.add(f"back_bar_{i}", "back_support", P.box([0, y, zc], [inner + 2 * embed, tb * 0.7, bh]))
    elif style == "floating":
        gap = min(p["back_gap"], 0.45 * hb)
        zp = top + gap
        panel("back", "back_surface", zp, z_top, Wb, tb)
        cw = p["connector_width"]
        xs = [0.0] if p["n_connectors"] == 1 else [-(Wb / 2 - cw), Wb / 2 - cw]
        for i, x in enumerate(xs):
            parts.add(f"back_connector_{i}", "back_connector", P.box([x, y + tb * 0.2, (z0 + zp + 3 * embed) / 2], [cw, tb * 0.6, zp + 3 * embed - z0]))
    else:  # cushion on a frame panel
        ft = max(0.6 * tb, 0.015)
        panel("back_frame", "back_frame", z0, z_top, Wb, ft)
        ct = p["back_cushion_thickness"]
        h = z_top - top - 0.02
        v, f = P.rounded_slab(Wb * 0.92, h, ct, 0.05, 0.015, [0, 0, 0])
        v = P.transform(v, P.rotation_x(np.pi / 2))  # slab thickness now along Y, height along Z
        v = v + [0, y - ft / 2 - ct / 2 + 0.004, top + 0.01 + h / 2]
        parts.add("back", "back_surface", (v, f))

    if p["headrest"]:
        gap = p["headrest_gap"]
        hw = Wb * p["headrest_width_ratio"]
        hh = p["headrest_height"]
        zc = z_top + gap + hh / 2
        v, f = P.rounded_slab(hw, hh, max(tb, 0.04), 0.04, 0.012, [0, 0, 0])
        v = P.transform(v, P.rotation_x(np.pi / 2)) + [0, y, zc]
        parts.add("headrest", "headrest", (v, f))
        cx = hw / 4
        for i, x in enumerate((-cx, cx)):
            parts.add(f"head_connector_{i}", "head_connector", P.cylinder([x, y, z_top - 0.02], [x, y, z_top + gap + 0.02], 0.008, ROUND_SEGMENTS))
    # tilt backwards about the back's bottom edge (top moves towards +Y)
    parts.transform_from(start, P.rotation_x(-p["back_tilt"], pivot=(0.0, y, top)))
    return y, top


def _arms(parts: _Parts, p: dict, z_under: float, y_back: float, embed: float):
    style = p["arm_style"]
    if style == "none":
        return
    W, D, top = p["seat_width"], p["seat_depth"], p["seat_height"]
    tilt = np.tan(p["back_tilt"])
    za = top + p["arm_height"]

    def y_back_at(z: float) -> float:
        return y_back + (z - top) * tilt

    y_front = -D / 2 - p["arm_front_overhang"]
    if style == "bars":
        aw, ah = p["arm_width"], p["arm_bar_height"]
        sv = p["arm_support_size"]
        x = W / 2 - sv / 2 + p["arm_offset"] * sv / 2
        yb = y_back_at(za)
        ys = [y_front + 0.04]
        if p["arm_supports"] == 2:
            ys.append(y_front + 0.6 * (yb - y_front))
        lean = p["arm_support_lean"]
        for yv in ys:  # each support overlaps the seat's side (rounded corners included)
            x = min(x, seat_half_width(p, yv + lean, "bottom") + sv / 2 - 0.004)
        k = 0
        for side, sx in enumerate((-1.0, 1.0)):
            parts.add(
                f"arm_bar_{side}",
                "arm_horizontal_bar",
                P.bar([sx * x, y_front, za - ah / 2], [sx * x, yb, za - ah / 2], P.rect_profile(aw, ah), up=[0, 0, 1]),
            )
            prof = P.circle_profile(sv / 2, ROUND_SEGMENTS) if p["arm_support_round"] else P.rect_profile(sv, sv)
            for yv in ys:
                bottom = [sx * x, yv + lean, z_under]
                tp = [sx * x, yv, za - embed]
                parts.add(f"arm_support_{k}", "arm_near_vertical_bar", P.bar(bottom, tp, prof))
                k += 1
    else:
        th = p["arm_side_thickness"]
        x = W / 2 + th / 2 - 0.005
        zlo = z_under - p["arm_side_drop"]
        yb = y_back_at(top) + 0.01
        depth = yb - y_front
        prof = P.rounded_rect_profile(depth, za - zlo, p["arm_side_radius"], 3)
        yc, zc = (y_front + yb) / 2, (za + zlo) / 2
        for side, sx in enumerate((-1.0, 1.0)):
            parts.add(f"arm_side_{side}", "arm_sofa_style", P.bar([sx * x - th / 2, yc, zc], [sx * x + th / 2, yc, zc], prof, up=[0, 0, 1]))


def build_chair(shape_id: str, params: dict, normalized: bool = True) -> Shape:
    """Build the chair described by ``params`` (from :func:`sample_chair_params`); no randomness.

    Returns a Shape (category ``chair``, source ``procedural``) with
    ``meta = {"generator": "chair", "params": params, "normalization": ...}``. With
    ``normalized=False`` vertices stay in the building frame (metres, floor z = 0, front -Y).
    """
    p = params
    parts = _Parts()
    embed = 0.006
    z_under = _seat(parts, p)
    base = p["base_type"]
    if base == "star":
        _star_base(parts, p, z_under, embed)
    elif base == "pedestal":
        _pedestal_base(parts, p, z_under, embed)
    else:
        _regular_base(parts, p, z_under, embed)
    y_back, _ = _back(parts, p, embed)
    _arms(parts, p, z_under, y_back, embed)
    shape = Shape(
        shape_id,
        "chair",
        tuple(Part(n, lab, v, f, path) for n, lab, path, v, f in parts.items),
        source="procedural",
        meta={"generator": "chair", "params": p},
    )
    return normalize(shape, up="z") if normalized else shape


def generate_chair(shape_id: str, rng: np.random.Generator) -> Shape:
    """A random part-annotated chair, normalized (Z up, bbox centre at 0, diagonal 1, front -Y).

    shape_id : str, the Shape id. rng : numpy Generator, the only source of randomness
    (same seed -> identical arrays).
    """
    return build_chair(shape_id, sample_chair_params(rng))
