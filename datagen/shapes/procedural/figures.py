"""Procedural figures: quadruped animals and toy robots, with part labels and semantic paths.

Building frame: Z up, metres, floor at ``z = 0``, the figure facing -Y (an animal's head,
a robot's eyes). Sampler ``sample_<category>`` draws every random
choice; ``build_<category>`` is pure geometry (see ``assembly``).

- animal (``species`` dog / cat / horse / pig / giraffe / elephant / bear):
  ``animal/animal_body/body`` (ellipsoid torso), ``neck``, ``animal/animal_head/head``,
  ``snout`` (muzzle, pig's disc, elephant's trunk), ``ear`` x2 (pointy cones, floppy,
  round or big flaps), ``animal/animal_leg/leg`` x4 (tapered, knees bent),
  ``animal/animal_tail/tail`` (swept tube: curled up, S-shaped, hanging, curly or a stub).
- robot (``base_style`` legs / wheels / tracks): ``robot/robot_body/torso`` (box, barrel
  or egg), optional ``chest_panel`` and ``neck``; ``robot/robot_head/head`` (box, dome or
  can), ``eye`` (two round eyes or one visor), ``antenna`` (0 to 2);
  ``robot/robot_arm/arm`` x2 and ``hand`` x2 (claw, ball or block);
  ``robot/robot_leg/leg`` x2 and ``foot`` x2, or ``robot/robot_base/base`` with
  ``wheel`` x2 / x4 or ``track`` x2.
"""

from __future__ import annotations

import numpy as np

import datagen.shapes.procedural.primitives as P
from datagen.shapes.procedural.assembly import PartList, chance, pick, u

# --- animal -----------------------------------------------------------------------------
ANIMAL_PATHS = {
    "body": "animal/animal_body/body",
    "neck": "animal/animal_body/neck",
    "head": "animal/animal_head/head",
    "snout": "animal/animal_head/snout",
    "ear": "animal/animal_head/ear",
    "leg": "animal/animal_leg/leg",
    "tail": "animal/animal_tail/tail",
}
#: species -> body length, body radius, leg length, leg radius, neck length, neck tilt (deg
#: from vertical), head radius, snout length, snout radius (shares of the head radius), tail length
_SPECIES = {
    "dog": ((0.6, 0.8), (0.13, 0.17), (0.3, 0.42), (0.035, 0.05), (0.12, 0.2), (30, 50), (0.09, 0.12), (0.9, 1.4), (0.4, 0.55), (0.2, 0.35)),
    "cat": ((0.42, 0.52), (0.09, 0.11), (0.2, 0.26), (0.022, 0.03), (0.05, 0.09), (20, 40), (0.07, 0.09), (0.25, 0.4), (0.45, 0.55), (0.3, 0.45)),
    "horse": ((1.1, 1.4), (0.24, 0.3), (0.8, 1.0), (0.05, 0.07), (0.5, 0.7), (35, 50), (0.12, 0.15), (1.8, 2.4), (0.5, 0.65), (0.45, 0.65)),
    "pig": ((0.8, 1.0), (0.25, 0.3), (0.15, 0.22), (0.06, 0.08), (0.02, 0.05), (60, 80), (0.16, 0.2), (0.35, 0.5), (0.45, 0.55), (0.1, 0.15)),
    "giraffe": ((1.2, 1.5), (0.28, 0.34), (1.3, 1.7), (0.06, 0.08), (1.4, 1.9), (15, 25), (0.13, 0.17), (1.2, 1.6), (0.45, 0.55), (0.5, 0.7)),
    "elephant": ((2.0, 2.5), (0.6, 0.72), (0.9, 1.1), (0.19, 0.24), (0.08, 0.15), (50, 70), (0.45, 0.55), (2.2, 2.8), (0.2, 0.26), (0.5, 0.7)),
    "bear": ((1.2, 1.6), (0.35, 0.45), (0.4, 0.55), (0.11, 0.14), (0.15, 0.25), (60, 75), (0.22, 0.28), (0.5, 0.7), (0.45, 0.55), (0.08, 0.12)),
}
_EARS = {"dog": ("pointy", "floppy"), "cat": ("pointy",), "horse": ("pointy",), "pig": ("floppy", "pointy"), "giraffe": ("pointy",), "elephant": ("big",), "bear": ("round",)}
_TAILS = {"dog": ("up", "hanging"), "cat": ("s_curve", "up"), "horse": ("hanging",), "pig": ("curly",), "giraffe": ("hanging",), "elephant": ("hanging",), "bear": ("stub",)}


def sample_animal(rng: np.random.Generator) -> dict:
    """Every random choice of a quadruped (metres, radians), JSON-serializable."""
    species = pick(rng, tuple(_SPECIES))
    keys = ("body_length", "body_radius", "leg_length", "leg_radius", "neck_length", "neck_tilt", "head_radius", "snout_length", "snout_radius", "tail_length")
    p = {"species": species, **{k: u(rng, *r) for k, r in zip(keys, _SPECIES[species])}}
    p["neck_tilt"] = float(np.radians(p["neck_tilt"]))
    p["body_width"] = u(rng, 0.8, 1.0)  # share of the body radius
    p["knee_bend"] = u(rng, 0.0, 0.35)  # share of the leg radius
    p["ear_style"] = pick(rng, _EARS[species])
    p["ear_size"] = u(rng, 0.35, 0.6)  # share of the head radius
    p["tail_style"] = pick(rng, _TAILS[species])
    p["tail_radius"] = u(rng, 0.3, 0.5)  # share of the leg radius
    p["head_yaw"] = u(rng, -0.25, 0.25)  # radians, head turned left / right
    return p


def _curve(style: str, start: np.ndarray, length: float) -> np.ndarray:
    """(k, 3) tail centre line from ``start`` backwards (+Y), ``length`` metres long (about)."""
    t = np.linspace(0.0, 1.0, 18)
    if style == "up":
        d = np.c_[np.zeros_like(t), 0.6 * t, 0.5 * t + 0.3 * t**2]
    elif style == "s_curve":
        d = np.c_[0.1 * np.sin(2 * np.pi * t), 0.55 * t, 0.15 * np.sin(np.pi * t) + 0.6 * t**2]
    elif style == "hanging":
        d = np.c_[np.zeros_like(t), 0.35 * np.sin(0.5 * np.pi * t), 0.1 * t - 0.9 * t**1.5]
    elif style == "curly":
        a = 2.2 * np.pi * t  # one coil; consecutive turns 0.55 lengths apart
        d = np.c_[0.25 * (1 - np.cos(a)), 0.5 * t + 0.25 * np.sin(a), 0.35 * t]
    else:  # stub
        t = np.linspace(0.0, 1.0, 4)
        d = np.c_[np.zeros_like(t), 0.6 * t, 0.3 * t]
    return start + d * length


def build_animal(p: dict) -> PartList:
    """The animal of ``p`` (from :func:`sample_animal`) in its building frame."""
    parts = PartList("animal", ANIMAL_PATHS)
    ry, rz = p["body_length"] / 2, p["body_radius"]
    rx = rz * p["body_width"]
    zb = p["leg_length"] + 0.5 * rz
    parts.add("body", P.ellipsoid([0, 0, zb], [rx, ry, rz], 28, 14), name="body")
    lr, bend = p["leg_radius"], p["knee_bend"] * p["leg_radius"]
    for sy in (-1, 1):
        for sx in (-1, 1):
            x, y = sx * 0.55 * rx, sy * 0.62 * ry
            zs = [0.0, 0.25 * zb, 0.5 * zb, zb]
            rs = [0.95 * lr, 0.85 * lr, 0.9 * lr, 1.25 * lr]
            ys = [y - 0.3 * lr, y, y + sy * bend, y]
            rings = [np.c_[P.circle_profile(r, 14) + [x, yy], np.full(14, z)] for r, yy, z in zip(rs, ys, zs)]
            parts.add("leg", P.loft(np.stack(rings)))
    tilt = p["neck_tilt"]
    d = np.array([0.0, -np.sin(tilt), np.cos(tilt)])
    a = np.array([0.0, -0.78 * ry, zb + 0.35 * rz])
    nl = p["neck_length"]
    nr = min(0.45 * rz, 1.2 * p["head_radius"])
    b = a + d * (nl + 0.5 * nr)
    path = a + np.linspace(-0.3 * nr, nl + 0.5 * nr, 6)[:, None] * d
    parts.add("neck", P.sweep(path, P.circle_profile(nr, 16), np.linspace(1.0, 0.65, 6)), name="neck")
    hr = p["head_radius"]
    yaw = p["head_yaw"]
    fwd = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    hc = b + 0.3 * hr * fwd + [0, 0, 0.2 * hr]
    elong = 1.5 if p["species"] in ("horse", "giraffe") else 1.1
    head_v, head_f = P.ellipsoid([0, 0, 0], [0.85 * hr, elong * hr, 0.9 * hr], 20, 10)
    rot = P.rotation_z(yaw)
    parts.add("head", (P.transform(head_v, rot) + hc, head_f), name="head")
    sl, sr = p["snout_length"] * hr, p["snout_radius"] * hr
    s0 = hc + fwd * 0.6 * elong * hr - [0, 0, 0.25 * hr]
    if p["species"] == "elephant":  # trunk: forward, then down and curling out
        t = np.linspace(0.0, 1.0, 12)
        path = s0 + np.outer(0.35 * np.sin(np.pi * 0.6 * t), fwd) * sl + np.outer(-0.9 * t**1.2, [0, 0, 1]) * sl
        parts.add("snout", P.sweep(path, P.circle_profile(sr, 14), np.linspace(1.0, 0.5, 12)), name="snout")
    else:
        dirn = fwd * np.cos(0.35) - np.array([0, 0, np.sin(0.35)])
        prof = P.circle_profile(sr, 16) * ([1.2, 0.8] if p["species"] == "pig" else [1.0, 0.85])
        path = s0 + np.linspace(-0.3 * sr, sl, 4)[:, None] * dirn
        parts.add("snout", P.sweep(path, prof, [1.0, 0.95, 0.9, 0.85] if p["species"] != "pig" else None), name="snout")
    es, style = p["ear_size"] * hr, p["ear_style"]
    side = np.cross(fwd, [0, 0, 1])  # points to the animal's right
    for sx in (-1, 1):
        if style == "pointy":
            base = hc + sx * 0.45 * hr * side + [0, 0, 0.7 * hr] - 0.1 * hr * fwd
            v, f = P.revolve([(0.0, -0.2 * es), (0.45 * es, -0.2 * es), (0.0, 1.3 * es)], 12)
            ax = sx * 0.35 * side + np.array([0, 0, 1.0])
            parts.add("ear", (P.transform(v, P.axis_matrix(ax, base)), f))
        elif style == "floppy":
            c = hc + sx * 0.85 * hr * side + [0, 0, 0.15 * hr] - 0.05 * hr * fwd
            v, f = P.ellipsoid([0, 0, 0], [0.18 * es, 0.55 * es, 1.0 * es], 12, 8)
            parts.add("ear", (P.transform(v, rot) + c, f))
        elif style == "round":
            c = hc + sx * 0.6 * hr * side + [0, 0, 0.72 * hr]
            v, f = P.ellipsoid([0, 0, 0], [0.6 * es, 0.25 * es, 0.55 * es], 12, 8)
            parts.add("ear", (P.transform(v, rot) + c, f))
        else:  # big elephant flaps
            c = hc + sx * 0.85 * hr * side + [0, 0, -0.05 * hr] + 0.3 * hr * fwd * -1
            v, f = P.ellipsoid([0, 0, 0], [0.12 * hr, 1.6 * es, 2.0 * es], 16, 8)
            parts.add("ear", (P.transform(v, rot) + c, f))
    start = np.array([0.0, 0.92 * ry, zb + 0.3 * rz])
    tr = max(p["tail_radius"] * lr, 0.008)
    if p["tail_style"] == "stub":
        parts.add("tail", P.ellipsoid(start, [2.5 * tr, 3.5 * tr, 2.5 * tr], 12, 8), name="tail")
    else:
        path = _curve(p["tail_style"], start - [0, 0.2 * tr, 0], p["tail_length"])
        tr = min(tr, 0.6 * P.min_bend_radius(path), 0.2 * p["tail_length"])
        parts.add("tail", P.sweep(path, P.circle_profile(tr, 10), np.linspace(1.0, 0.45, len(path))), name="tail")
    return parts


# --- robot -----------------------------------------------------------------------------------
ROBOT_PATHS = {
    "torso": "robot/robot_body/torso",
    "chest_panel": "robot/robot_body/chest_panel",
    "neck": "robot/robot_body/neck",
    "head": "robot/robot_head/head",
    "eye": "robot/robot_head/eye",
    "antenna": "robot/robot_head/antenna",
    "arm": "robot/robot_arm/arm",
    "hand": "robot/robot_arm/hand",
    "leg": "robot/robot_leg/leg",
    "foot": "robot/robot_leg/foot",
    "base": "robot/robot_base/base",
    "wheel": "robot/robot_base/wheel",
    "track": "robot/robot_base/track",
}


def sample_robot(rng: np.random.Generator) -> dict:
    """Every random choice of a toy robot (metres, radians), JSON-serializable."""
    p: dict = {"base_style": pick(rng, ("legs", "wheels", "tracks"), p=[0.5, 0.25, 0.25])}
    p["torso_style"] = pick(rng, ("box", "barrel", "egg"))
    p["torso_size"] = [u(rng, 0.32, 0.5), u(rng, 0.2, 0.3), u(rng, 0.38, 0.58)]
    p["head_style"] = pick(rng, ("box", "dome", "can"))
    p["head_size"] = [u(rng, 0.18, 0.32), u(rng, 0.16, 0.26), u(rng, 0.15, 0.26)]
    p["neck"] = chance(rng, 0.6)
    p["neck_height"] = u(rng, 0.03, 0.08)
    p["eye_style"] = pick(rng, ("round", "visor"), p=[0.7, 0.3])
    p["eye_size"] = u(rng, 0.18, 0.28)  # share of the head width
    p["n_antennas"] = int(rng.choice([0, 1, 2], p=[0.3, 0.45, 0.25]))
    p["antenna_height"] = u(rng, 0.06, 0.15)
    p["arm_style"] = pick(rng, ("tube", "blocky"))
    p["arm_length"] = u(rng, 0.3, 0.48)
    p["arm_radius"] = u(rng, 0.03, 0.055)
    p["arm_spread"] = u(rng, np.radians(8), np.radians(35))
    p["arm_forward"] = u(rng, np.radians(-10), np.radians(40))
    p["hand_style"] = pick(rng, ("claw", "ball", "block"))
    p["leg_height"] = u(rng, 0.28, 0.48)
    p["leg_width"] = u(rng, 0.08, 0.13)
    p["wheel_radius"] = u(rng, 0.09, 0.16)
    p["n_wheels"] = int(rng.choice([2, 4]))
    p["chest_panel"] = chance(rng, 0.5)
    return p


def _claw(center: np.ndarray, down: np.ndarray, r: float) -> tuple:
    """C-shaped gripper of radius ``1.6 r`` around ``center`` (3,) opening along ``down``
    (3,), with a wrist ball at its back; ``r`` metres is the arm radius."""
    d = down / np.linalg.norm(down)
    side = np.cross(d, [0.0, 1.0, 0.0])
    side = side / np.linalg.norm(side) if np.linalg.norm(side) > 1e-6 else np.array([1.0, 0.0, 0.0])
    a = np.linspace(0.35 * np.pi, 1.65 * np.pi, 14)
    R = 1.6 * r
    path = center + R * (np.outer(np.cos(a), d) + np.outer(np.sin(a), side))
    return P.union([P.sweep(path, P.circle_profile(0.38 * r, 10)), P.ellipsoid(center - R * d, [0.7 * r] * 3, 12, 8)])


def build_robot(p: dict) -> PartList:
    """The robot of ``p`` (from :func:`sample_robot`) in its building frame."""
    parts = PartList("robot", ROBOT_PATHS)
    tw, td, th = p["torso_size"]
    style = p["base_style"]
    e = 0.01
    if style == "legs":
        lh, lw = p["leg_height"], p["leg_width"]
        fh = 0.05
        for sx in (-1, 1):
            x = sx * 0.27 * tw
            parts.add("foot", P.rounded_slab(1.4 * lw, 1.9 * lw, fh, 0.02, 0.01, [x, -0.2 * lw, fh / 2]))
            parts.add("leg", P.box([x, 0, fh + lh / 2], [lw, 0.9 * lw, lh + 2 * e]))
        z0 = fh + lh
    elif style == "wheels":
        wr = p["wheel_radius"]
        bh = 0.6 * wr + 0.05
        z_base = wr * 0.7
        parts.add("base", P.rounded_slab(tw * 1.05, td * 1.4, bh, 0.04, 0.015, [0, 0, z_base + bh / 2]), name="base")
        ys = [0.0] if p["n_wheels"] == 2 else [-0.42 * td, 0.42 * td]
        for y in ys:
            for sx in (-1, 1):
                c = np.array([sx * (0.525 * tw + 0.03), y, wr])
                parts.add("wheel", P.cylinder(c - [0.035, 0, 0], c + [0.035, 0, 0], wr, 24))
        z0 = z_base + bh
    else:
        tr_h, tr_len, tr_w = 0.16, max(1.6 * td, 0.35), 0.1
        prof = P.rounded_rect_profile(tr_len, tr_h, 0.5 * tr_h - 1e-4, 6)  # (y, z) stadium
        for sx in (-1, 1):
            x = sx * (0.5 * tw + 0.5 * tr_w - 0.02)
            rings = [np.c_[np.full(len(prof), x + d * tr_w / 2), prof[:, 0], prof[:, 1] + tr_h / 2] for d in (-1, 1)]
            parts.add("track", P.loft(np.stack(rings)))
        parts.add("base", P.box([0, 0, 0.75 * tr_h], [tw, 0.9 * tr_len, 0.5 * tr_h]), name="base")
        z0 = tr_h
    z0 -= e
    ts = p["torso_style"]
    if ts == "box":
        torso = P.rounded_slab(tw, td, th, 0.04, 0.02, [0, 0, z0 + th / 2])
    elif ts == "barrel":
        ring = P.circle_profile(1.0, 32) * [tw / 2, td / 2]
        torso = P.vertical_stack([ring * 0.92, ring, ring, ring * 0.92], [z0, z0 + 0.03, z0 + th - 0.03, z0 + th])
    else:
        a = np.linspace(0.0, np.pi, 13)
        v, f = P.revolve(np.c_[0.5 * np.sin(a) * (1 - 0.15 * np.cos(a)), 0.5 - 0.5 * np.cos(a)], 32)
        torso = (v * [tw, td, th] + [0, 0, z0], f)
    parts.add("torso", torso, name="torso")
    if p["chest_panel"]:
        parts.add("chest_panel", P.rounded_slab(0.45 * tw, 0.03, 0.35 * th, 0.01, 0.005, [0, -0.5 * td + 0.004, z0 + 0.55 * th])
                  if ts == "box" else P.box([0, -0.5 * td * 0.95, z0 + 0.55 * th], [0.35 * tw, 0.05, 0.3 * th]), name="chest_panel")
    z1 = z0 + th - e
    if p["neck"]:
        parts.add("neck", P.cylinder([0, 0, z1 - 0.02], [0, 0, z1 + p["neck_height"] + e], 0.2 * min(tw, td), 16), name="neck")
        z1 += p["neck_height"]
    hw, hd, hh = p["head_size"]
    hs = p["head_style"]
    if hs == "box":
        head = P.rounded_slab(hw, hd, hh, 0.03, 0.015, [0, 0, z1 + hh / 2])
    elif hs == "can":
        ring = P.circle_profile(1.0, 32) * [hw / 2, hd / 2]
        head = P.vertical_stack([ring * 0.95, ring, ring, ring * 0.95], [z1, z1 + 0.01, z1 + hh - 0.01, z1 + hh])
    else:
        a = np.linspace(0.0, 0.5 * np.pi, 7)
        prof = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.45)] + [(0.5 * np.cos(t), 0.45 + 0.55 * np.sin(t)) for t in a[1:-1]] + [(0.0, 1.0)]
        v, f = P.revolve(prof, 32)
        head = (v * [hw, hd, hh] + [0, 0, z1], f)
    parts.add("head", head, name="head")
    ze, ye = z1 + 0.5 * hh, -0.5 * hd
    es = p["eye_size"] * hw
    if p["eye_style"] == "round":
        for sx in (-1, 1):
            x = sx * 0.24 * hw
            parts.add("eye", P.cylinder([x, ye + 0.03, ze], [x, ye - 0.015, ze], 0.5 * es, 16))
    else:
        parts.add("eye", P.rounded_slab(0.75 * hw, 0.05, 0.9 * es, 0.01, 0.004, [0, ye + 0.005, ze]), name="visor")
    n_ant = p["n_antennas"]
    for k in range(n_ant):
        x = 0.0 if n_ant == 1 else (k - 0.5) * 0.5 * hw
        top = z1 + hh + p["antenna_height"]
        parts.add("antenna", P.union([P.cylinder([x, 0, z1 + hh - 0.03], [x, 0, top], 0.006, 8), P.ellipsoid([x, 0, top], [0.018] * 3, 12, 8)]))
    ar, la = p["arm_radius"], p["arm_length"]
    for sx in (-1, 1):
        sh = np.array([sx * (0.5 * tw + 0.4 * ar), 0.0, z0 + th - 1.3 * ar])
        d = np.array([sx * np.sin(p["arm_spread"]), -np.sin(p["arm_forward"]), -1.0])
        d /= np.linalg.norm(d)
        end = sh + la * d
        if p["arm_style"] == "tube":
            arm = P.union([P.ellipsoid(sh, [1.3 * ar] * 3, 16, 8), P.cylinder(sh, end, ar, 16)])
        else:
            arm = P.union([P.box(sh, [2.2 * ar] * 3), P.bar(sh, end, P.rect_profile(1.7 * ar, 1.7 * ar), up=[0, 1, 0])])
        parts.add("arm", arm)
        hand_c = end + 0.6 * ar * d
        if p["hand_style"] == "claw":
            parts.add("hand", _claw(hand_c + 0.6 * ar * d, d, ar))
        elif p["hand_style"] == "ball":
            parts.add("hand", P.ellipsoid(hand_c + 0.4 * ar * d, [1.35 * ar] * 3, 16, 8))
        else:
            parts.add("hand", P.bar(end - 0.3 * ar * d, end + 2.2 * ar * d, P.rect_profile(2.4 * ar, 1.6 * ar), up=[0, 1, 0]))
    return parts
