"""Procedural mugs, cups and bottles with PartNet-style labels and semantic paths.

Building frame: Z up, metres, floor at ``z = 0``, the vessel's axis on the Z axis,
handles on the +X side. Sampler ``sample_<category>`` draws every random choice;
``build_<category>`` is pure geometry (see ``assembly``).

- mug: ``body`` (a hollow solid of revolution: cylinder / tapered / barrel / flared
  wall, optional recessed foot), ``handle`` (a tube swept along a round, squarish or
  ear-shaped loop, round / flat / rectangular section), optional ``containing_things``
  (the drink). Paths ``mug/<label>``.
- cup (``style``): ``teacup`` (bowl ``body``, small ``handle``, ``saucer``), ``goblet``
  (``body`` bowl, ``stem``, ``foot``), ``takeaway`` (tapered ``body``, ``lid``,
  ``sleeve``). Paths ``cup/<label>``.
- bottle (``style`` wine / water / square / jug): ``body`` (round, ribbed or
  rounded-square), ``neck``, optional ``mouth`` lip ring, optional ``lid`` (screw cap or
  cork), optional ``label`` band; a jug has a ``handle``. Paths ``bottle/normal_bottle/<label>``
  (``bottle/jug/<label>`` for jugs).
"""

from __future__ import annotations

import numpy as np

import datagen.shapes.procedural.primitives as P
from datagen.shapes.procedural.assembly import PartList, chance, pick, u

SEG = 40
EMBED = 0.002  # metres parts sink into each other


def _radius_fn(style: str, R: float, k: float):
    """Outer radius (metres) of a vessel wall as a function of ``t = z / height`` in [0, 1]:
    ``style`` cylinder / tapered / barrel / flared (``k``: how much) / bowl / goblet_round /
    goblet_cone / goblet_tulip, ``R`` the nominal radius (metres)."""
    if style == "tapered":
        return lambda t: R * (1 - k * (1 - t))
    if style == "barrel":
        return lambda t: R * (1 + 0.5 * k * np.sin(np.pi * t))
    if style == "flared":
        return lambda t: R * (1 + k * t**2)
    if style == "bowl":
        return lambda t: R * (0.45 + 0.55 * np.sin(0.5 * np.pi * t) ** 0.7)
    if style == "goblet_round":
        return lambda t: R * (0.3 + 0.7 * np.sin(0.5 * np.pi * min(1.0, 1.25 * t)) ** 0.8)
    if style == "goblet_cone":
        return lambda t: R * (0.25 + 0.75 * t)
    if style == "goblet_tulip":
        return lambda t: R * (0.3 + 0.85 * np.sin(np.pi * 0.6 * t) ** 0.7) * (1 - 0.12 * t)
    return lambda t: R + 0.0 * t


def _vessel(rfun, H: float, wall: float, floor: float, foot: float = 0.0, n: int = 12) -> tuple:
    """Hollow solid of revolution open at the top: outer radius ``rfun(z / H)``, wall
    ``wall`` and floor ``floor`` metres thick; ``foot`` > 0 recesses the bottom by that
    much inside a foot ring."""
    ts = np.linspace(0.0, 1.0, n)
    r0, b = rfun(0.0), min(0.2 * wall + 0.001, 0.3 * floor)
    bottom = [(0.0, foot), (0.7 * r0, foot), (0.75 * r0, 0.0)] if foot > 0 else [(0.0, 0.0)]
    outer = bottom + [(r0 - b, 0.0), (r0, b)] + [(rfun(t), t * H) for t in ts[1:]]
    fil = min(2 * wall, 0.3 * (H - floor))
    zs = np.linspace(H, floor + fil, n)
    inner = [(rfun(z / H) - wall, z) for z in zs]
    inner += [(rfun((floor + 0.3 * fil) / H) - wall - 0.7 * fil, floor + 0.3 * fil), (rfun(floor / H) - wall - fil, floor), (0.0, floor)]
    return P.revolve(outer + inner, SEG)


def _handle_path(rfun, H: float, wall: float, z_top: float, z_bot: float, reach: float, n_exp: float, flare: float) -> np.ndarray:
    """(k, 3) loop in the XZ plane (+X side) from the wall's mid-plane at ``z_top`` out and
    down to it at ``z_bot``: a superellipse of exponent ``n_exp`` (2 round, ~3.5 square)
    ``reach`` metres out from the wall, bulging by ``flare`` towards the top."""
    th = np.linspace(0.5 * np.pi, -0.5 * np.pi, 25)
    c, s = np.cos(th), np.sin(th)
    zc, hz = 0.5 * (z_top + z_bot), 0.5 * (z_top - z_bot)
    z = zc + hz * np.sign(s) * np.abs(s) ** (2 / n_exp)
    x = np.array([rfun(zz / H) for zz in z]) + reach * (1 + flare * s) * np.abs(c) ** (2 / n_exp)
    ends = [[rfun(z_top / H) - 0.5 * wall, 0.0, z_top]], [[rfun(z_bot / H) - 0.5 * wall, 0.0, z_bot]]
    return np.concatenate([ends[0], np.c_[x, np.zeros_like(x), z][1:-1], ends[1]])


def _handle(p: dict, rfun, H: float, wall: float, z_off: float = 0.0) -> tuple:
    n_exp, flare = {"round": (2.0, 0.0), "square": (3.5, 0.0), "ear": (2.4, 0.35)}[p["handle_style"]]
    z_top, z_bot = p["handle_top"] * H, p["handle_bottom"] * H
    reach = p["handle_reach"]
    path = _handle_path(rfun, H, wall, z_top, z_bot, reach, n_exp, flare) + [0, 0, z_off]
    hr = min(p["handle_thickness"] / 2, 0.3 * reach, 0.25 * (z_top - z_bot), 0.6 * P.min_bend_radius(path[1:-1]))
    sec = p["handle_section"]
    if sec == "round":
        prof = P.circle_profile(hr, 12)
    elif sec == "flat":
        prof = P.circle_profile(1.0, 14) * [0.6 * hr, 1.5 * hr]
    else:
        prof = P.rounded_rect_profile(1.2 * hr, 2.2 * hr, 0.3 * hr, 2)
    return P.sweep(path, prof, up=[0, 1, 0])


def _sample_handle(rng, p: dict, scale: float = 1.0):
    p["handle_style"] = pick(rng, ("round", "square", "ear"))
    p["handle_section"] = pick(rng, ("round", "flat", "rect"))
    p["handle_top"] = u(rng, 0.72, 0.88)
    p["handle_bottom"] = u(rng, 0.15, 0.35)
    p["handle_reach"] = scale * u(rng, 0.018, 0.035)
    p["handle_thickness"] = scale * u(rng, 0.006, 0.012)


# --- mug --------------------------------------------------------------------------------
def sample_mug(rng: np.random.Generator) -> dict:
    """Every random choice of a mug (metres), JSON-serializable."""
    p: dict = {"body_style": pick(rng, ("cylinder", "tapered", "barrel", "flared"))}
    p["radius"] = u(rng, 0.035, 0.05)
    p["height"] = p["radius"] * u(rng, 1.7, 2.7)
    p["shape_k"] = u(rng, 0.1, 0.25)
    p["wall"] = u(rng, 0.003, 0.006)
    p["floor"] = u(rng, 0.005, 0.01)
    p["foot"] = u(rng, 0.002, 0.004) if chance(rng, 0.4) else 0.0
    _sample_handle(rng, p)
    p["contents"] = chance(rng, 0.35)
    p["fill"] = u(rng, 0.5, 0.85)
    return p


def _contents(rfun, H: float, wall: float, z0: float, z1: float) -> tuple:
    zs = np.linspace(z0, z1, 4)
    return P.vertical_stack([P.circle_profile(rfun(z / H) - wall - 0.0008, SEG) for z in zs], list(zs))


def build_mug(p: dict) -> PartList:
    """The mug of ``p`` (from :func:`sample_mug`) in its building frame."""
    parts = PartList("mug", {"body": "mug/body", "handle": "mug/handle", "contents": "mug/containing_things"})
    H, wall = p["height"], p["wall"]
    rfun = _radius_fn(p["body_style"], p["radius"], p["shape_k"])
    parts.add("body", _vessel(rfun, H, wall, p["floor"], p["foot"]), name="body")
    parts.add("handle", _handle(p, rfun, H, wall), name="handle")
    if p["contents"]:
        z0 = p["floor"] + min(2 * wall, 0.3 * (H - p["floor"]))
        parts.add("contents", _contents(rfun, H, wall, z0, max(p["fill"] * H, z0 + 0.005)), name="contents")
    return parts


# --- cup ----------------------------------------------------------------------------------
def sample_cup(rng: np.random.Generator) -> dict:
    """Every random choice of a cup (metres), JSON-serializable."""
    p: dict = {"style": pick(rng, ("teacup", "goblet", "takeaway"))}
    p["radius"] = u(rng, 0.035, 0.05)
    p["wall"] = u(rng, 0.0025, 0.004)
    if p["style"] == "teacup":
        p["height"] = p["radius"] * u(rng, 1.0, 1.4)
        _sample_handle(rng, p, 0.7)
        p["saucer"] = chance(rng, 0.75)
        p["saucer_radius"] = p["radius"] * u(rng, 1.6, 2.1)
    elif p["style"] == "goblet":
        p["height"] = p["radius"] * u(rng, 1.2, 2.2)
        p["bowl_shape"] = pick(rng, ("round", "cone", "tulip"))
        p["stem_height"] = p["radius"] * u(rng, 1.0, 2.5)
        p["stem_radius"] = u(rng, 0.004, 0.008)
        p["knob"] = chance(rng, 0.5)
        p["foot_radius"] = p["radius"] * u(rng, 0.7, 1.0)
    else:
        p["height"] = p["radius"] * u(rng, 2.2, 3.2)
        p["taper"] = u(rng, 0.2, 0.35)
        p["lid_height"] = u(rng, 0.008, 0.018)
        p["sleeve"] = chance(rng, 0.7)
        p["sleeve_span"] = [u(rng, 0.2, 0.35), u(rng, 0.6, 0.75)]
    return p


def build_cup(p: dict) -> PartList:
    """The cup of ``p`` (from :func:`sample_cup`) in its building frame."""
    keys = ("body", "handle", "saucer", "stem", "foot", "lid", "sleeve")
    parts = PartList("cup", {k: f"cup/{k}" for k in keys})
    R, H, wall = p["radius"], p["height"], p["wall"]
    style = p["style"]
    if style == "teacup":
        z0 = 0.0
        if p["saucer"]:
            Rs, hs = p["saucer_radius"], 0.012
            prof = [(0.0, 0.002), (0.5 * Rs, 0.002), (0.52 * Rs, 0.0), (0.6 * Rs, 0.0), (Rs, 0.8 * hs), (Rs, hs), (0.97 * Rs, hs), (0.62 * Rs, 0.45 * hs), (0.0, 0.45 * hs)]
            parts.add("saucer", P.revolve(prof, SEG * 2), name="saucer")
            z0 = 0.45 * hs - EMBED
        rfun = _radius_fn("bowl", R, 0.0)
        v, f = _vessel(rfun, H, wall, 0.005, 0.002)
        parts.add("body", (v + [0, 0, z0], f), name="body")
        parts.add("handle", _handle(p, rfun, H, wall, z0), name="handle")
    elif style == "goblet":
        hf, hstem, rs = 0.006, p["stem_height"], p["stem_radius"]
        Rf = p["foot_radius"]
        parts.add("foot", P.revolve([(0.0, 0.0), (Rf - 0.002, 0.0), (Rf, 0.002), (Rf * 0.9, hf), (rs * 2.5, hf + 0.004), (0.0, hf + 0.004)], SEG * 2), name="foot")
        prof = [(0.0, hf), (rs * 1.6, hf), (rs, hf + 0.15 * hstem)]
        if p["knob"]:
            prof += [(rs, hf + 0.4 * hstem), (rs * 2.0, hf + 0.5 * hstem), (rs, hf + 0.6 * hstem)]
        prof += [(rs, hf + 0.9 * hstem), (rs * 1.8, hf + hstem + EMBED), (0.0, hf + hstem + EMBED)]
        parts.add("stem", P.revolve(prof, 24), name="stem")
        v, f = _vessel(_radius_fn("goblet_" + p["bowl_shape"], R, 0.0), H, wall, 0.006)
        parts.add("body", (v + [0, 0, hf + hstem], f), name="body")
    else:
        rfun = _radius_fn("tapered", R, p["taper"])
        parts.add("body", _vessel(rfun, H, wall, 0.004, 0.003), name="body")
        lh, Rt = p["lid_height"], rfun(1.0)
        prof = [(0.0, H - 0.006), (Rt - wall - 0.0005, H - 0.006), (Rt - wall - 0.0005, H - 0.002), (Rt + 0.003, H - 0.002), (Rt + 0.003, H + 0.004),
                (Rt * 0.9, H + 0.004), (Rt * 0.85, H + lh), (0.0, H + lh)]
        parts.add("lid", P.revolve(prof, SEG * 2), name="lid")
        if p["sleeve"]:
            z0, z1 = (s * H for s in p["sleeve_span"])
            prof = [(rfun(z0 / H) - 0.001, z0), (rfun(z0 / H) + 0.0025, z0), (rfun(z1 / H) + 0.0025, z1), (rfun(z1 / H) - 0.001, z1)]
            parts.add("sleeve", P.lathe(np.array(prof), SEG * 2), name="sleeve")
    return parts


# --- bottle -------------------------------------------------------------------------------
def sample_bottle(rng: np.random.Generator) -> dict:
    """Every random choice of a bottle (metres), JSON-serializable."""
    style = pick(rng, ("wine", "water", "square", "jug"), p=[0.3, 0.3, 0.2, 0.2])
    p: dict = {"style": style}
    p["radius"] = u(rng, 0.06, 0.085) if style == "jug" else u(rng, 0.03, 0.045)
    p["body_height"] = p["radius"] * (u(rng, 1.4, 2.2) if style == "jug" else u(rng, 3.0, 5.0))
    p["shoulder_height"] = p["radius"] * (u(rng, 1.0, 2.0) if style == "wine" else u(rng, 0.4, 0.9))
    p["neck_radius"] = p["radius"] * (u(rng, 0.35, 0.5) if style == "jug" else u(rng, 0.25, 0.38))
    p["neck_length"] = p["radius"] * (u(rng, 1.5, 3.0) if style == "wine" else u(rng, 0.4, 1.0))
    p["ribs"] = int(rng.integers(0, 5)) if style == "water" else 0
    p["square_corner"] = u(rng, 0.15, 0.45)
    p["mouth"] = chance(rng, 0.6)
    p["lid"] = pick(rng, ("none", "cap", "dome", "cork", "sports"), p=[0.15, 0.35, 0.2, 0.15, 0.15])
    p["cap_height"] = p["neck_radius"] * u(rng, 1.0, 2.0)
    p["label"] = style in ("wine", "water") and chance(rng, 0.55)
    p["label_span"] = [u(rng, 0.25, 0.4), u(rng, 0.6, 0.8)]
    p["label_style"] = pick(rng, ("band", "panel"))
    p["waist"] = u(rng, 0.08, 0.2) if style in ("wine", "water") and chance(rng, 0.35) else 0.0
    p["neck_style"] = pick(rng, ("straight", "tapered", "bulged", "ringed"))
    return p


def build_bottle(p: dict) -> PartList:
    """The bottle of ``p`` (from :func:`sample_bottle`) in its building frame."""
    kind = "jug" if p["style"] == "jug" else "normal_bottle"
    keys = ("body", "neck", "mouth", "lid", "handle", "label")
    parts = PartList("bottle", {k: f"bottle/{kind}/{k}" for k in keys})
    R, Hb, Hs, rn = p["radius"], p["body_height"], p["shoulder_height"], p["neck_radius"]
    z_neck = Hb + Hs
    a = np.linspace(0.0, 0.5 * np.pi, 8)[1:]
    shoulder_r = rn + (R - rn) * np.cos(a)
    shoulder_z = Hb + Hs * np.sin(a)
    if p["style"] == "square":
        side, c = 2 * R, p["square_corner"] * R

        def ring(s: float, r_corner: float) -> np.ndarray:
            return P.rounded_rect_profile(s, s, r_corner, 4)

        profs = [ring(side - 0.004, c), ring(side, c), ring(side, c)]
        zs = [0.0, 0.002, Hb]
        for rr, zz in zip(shoulder_r, shoulder_z):
            s = 2 * rr
            profs.append(ring(s, c + (rr - c) * (R - rr) / (R - rn)))
            zs.append(zz)
        parts.add("body", P.vertical_stack(profs, zs), name="body")
    else:
        ribs = p["ribs"]
        zz = np.linspace(0.004, Hb, max(4 * ribs + 2, 9))
        rr = R - 0.0025 * np.sin(np.pi * 2 * ribs * (zz - 0.004) / Hb) ** 2 if ribs else np.full(len(zz), R)
        rr = rr * (1 - p["waist"] * np.sin(np.pi * (zz - 0.004) / Hb) ** 2)  # cola-bottle waist
        prof = [(0.0, 0.003), (R - 0.004, 0.0)] + list(zip(rr, zz)) + list(zip(shoulder_r, shoulder_z)) + [(0.0, z_neck)]
        parts.add("body", P.revolve(prof, SEG), name="body")
    top = z_neck + p["neck_length"]
    ns = p["neck_style"]
    t = np.linspace(0.0, 1.0, 9)
    rs = {"straight": rn + 0 * t, "tapered": rn * (1 - 0.3 * t), "bulged": rn * (1 + 0.4 * np.sin(np.pi * t))}.get(ns)
    if rs is None:  # ringed: two beads
        rs = rn * (1 + 0.3 * ((np.abs(t - 0.375) < 0.07) | (np.abs(t - 0.625) < 0.07)))
    parts.add("neck", P.revolve([(0.0, z_neck - 0.003)] + list(zip(rs, z_neck - 0.003 + t * (top - z_neck + 0.003))) + [(0.0, top)], 24), name="neck")
    rt = rs[-1]
    if p["mouth"]:
        parts.add("mouth", P.tube(top - 0.006, top, rt * 1.2, rt * 0.8, 24), name="mouth")
    h, lid = p["cap_height"], p["lid"]
    if lid in ("cap", "dome"):
        a = np.linspace(0.0, 0.5 * np.pi, 6)
        dome = [(1.3 * rt * np.cos(x), top + 0.3 * h + 0.6 * h * np.sin(x)) for x in a] if lid == "dome" else [(1.3 * rt, top + 0.3 * h - 0.001), (1.2 * rt, top + 0.3 * h)]
        parts.add("lid", P.revolve([(0.0, top - 0.7 * h), (1.3 * rt, top - 0.7 * h)] + dome[:-1] + [(0.0, dome[-1][1])], 24), name="lid")
    elif lid == "cork":
        parts.add("lid", P.cylinder([0, 0, top - 0.5 * h], [0, 0, top + 0.5 * h], rt * 0.75, 16, rt * 0.85), name="lid")
    elif lid == "sports":  # wide collar, narrow spout, flat top
        prof = [(0.0, top - 0.6 * h), (1.35 * rt, top - 0.6 * h), (1.35 * rt, top + 0.2 * h), (0.6 * rt, top + 0.35 * h), (0.6 * rt, top + 1.1 * h), (0.0, top + 1.1 * h)]
        parts.add("lid", P.revolve(prof, 24), name="lid")
    if p["label"]:
        z0, z1 = (s * Hb for s in p["label_span"])
        zl = np.linspace(z0, z1, 7)
        rl = R * (1 - p["waist"] * np.sin(np.pi * (zl - 0.004) / Hb) ** 2)  # follows the body
        band = P.lathe(np.concatenate([np.c_[rl + 0.001, zl], np.c_[rl - 0.003, zl][::-1]]), SEG)
        if p["label_style"] == "panel":  # only the front (-Y) half
            band = P.difference(band, [P.box([0, 1.5 * R, (z0 + z1) / 2], [3 * R, 3 * R, 2 * (z1 - z0)])])
        parts.add("label", band, name="label")
    if p["style"] == "jug":  # cubic Bezier from inside the neck, out and down into the body
        z_top, z_bot, reach = z_neck + 0.3 * p["neck_length"], 0.6 * Hb, 0.5 * R
        ctrl = np.array([[rn - 0.003, z_top], [R + reach, z_top], [R + reach, z_bot], [R - 0.003, z_bot]])
        t = np.linspace(0.0, 1.0, 24)[:, None]
        xz = (1 - t) ** 3 * ctrl[0] + 3 * (1 - t) ** 2 * t * ctrl[1] + 3 * (1 - t) * t**2 * ctrl[2] + t**3 * ctrl[3]
        path = np.c_[xz[:, 0], np.zeros(len(xz)), xz[:, 1]]
        parts.add("handle", P.sweep(path, P.circle_profile(1.0, 12) * [0.008, 0.012], up=[0, 1, 0]), name="handle")
    return parts
