"""Procedural toy locomotives with part labels and semantic paths.

Building frame: Z up, metres (real sizes: 9 to 25 m long), length along Y with the front
towards -Y, wheels on the floor ``z = 0`` (rail flanges reach just below it).
``sample_train`` draws every random choice; ``build_train`` is pure geometry.

``style`` steam / diesel / bullet. Paths ``train/train_body/<label>``: ``chassis`` (plain,
with buffers, or with side skirts), then ``boiler`` (plain, with side tanks or a saddle
tank), ``chimney``, ``steam_dome`` (round or bell), ``cowcatcher`` (steam); ``hood``
(flat or stepped, diesel) or ``body`` (sharp or blunt nose, bullet); ``cab`` (window
holes: square, tall or round) and its ``roof`` (flat or arched), optional ``headlight``
and ``pantograph``; ``train/wheel_base/wheel`` (flanged disc or spoked, 6 to 8 a side pair).
"""

from __future__ import annotations

import numpy as np

import datagen.shapes.procedural.primitives as P
from datagen.shapes.procedural.assembly import PartList, chance, pick, u
from datagen.shapes.procedural.vehicles import Y, wheel, xz_ring

TRAIN_PATHS = {k: f"train/train_body/{k}" for k in ("chassis", "boiler", "chimney", "steam_dome", "cowcatcher", "hood", "body", "cab", "roof", "headlight", "pantograph")}
TRAIN_PATHS["wheel"] = "train/wheel_base/wheel"


def sample_train(rng: np.random.Generator) -> dict:
    """Every random choice of a locomotive (metres), JSON-serializable."""
    style = pick(rng, ("steam", "diesel", "bullet"), p=[0.45, 0.3, 0.25])
    p: dict = {"style": style, "width": u(rng, 2.6, 3.0), "chassis_height": u(rng, 0.25, 0.4), "wheel_width": u(rng, 0.15, 0.2)}
    if style == "steam":
        p.update(length=u(rng, 9.0, 12.0), wheel_radius=u(rng, 0.65, 0.85), n_axles=int(rng.choice([3, 4])))
        p.update(boiler_radius=u(rng, 0.7, 0.9), cab_length=u(rng, 2.2, 3.0), cab_height=u(rng, 2.2, 2.8))
        p.update(chimney_height=u(rng, 0.7, 1.2), chimney_radius=u(rng, 0.22, 0.32), n_domes=int(rng.integers(1, 3)))
        p["cowcatcher"] = chance(rng, 0.7)
    elif style == "diesel":
        p.update(length=u(rng, 13.0, 17.0), wheel_radius=u(rng, 0.45, 0.52), hood_width=u(rng, 0.7, 0.85))
        p.update(hood_height=u(rng, 1.9, 2.5), cab_length=u(rng, 2.4, 3.2), cab_height=u(rng, 2.6, 3.1), double_cab=chance(rng, 0.4))
    else:
        p.update(length=u(rng, 20.0, 25.0), wheel_radius=u(rng, 0.43, 0.48), body_height=u(rng, 3.0, 3.6), nose_length=u(rng, 4.0, 7.0))
        p["pantograph"] = chance(rng, 0.7)
    p["headlight"] = chance(rng, 0.7)
    p["wheel_style"] = pick(rng, ("disc", "spoked"))
    p["chassis_style"] = pick(rng, ("plain", "buffers", "skirt"))
    p["roof_style"] = pick(rng, ("flat", "arched"))
    p["window_style"] = pick(rng, ("square", "tall", "round"))
    p["dome_style"] = pick(rng, ("round", "bell"))
    p["boiler_style"] = pick(rng, ("plain", "side_tanks", "saddle_tank"))
    p["hood_style"] = pick(rng, ("flat", "stepped"))
    p["nose_style"] = pick(rng, ("sharp", "blunt"))
    return p


def _cab(p: dict, y0: float, y1: float, W: float, z0: float, h: float) -> tuple:
    """Cab box from ``y0`` to ``y1`` (metres) with side and end window holes cut through."""
    lc = y1 - y0
    yc = (y0 + y1) / 2
    style = p["window_style"]
    if style == "round":
        zw = z0 + 0.65 * h
        holes = [P.cylinder([-W, yc, zw], [W, yc, zw], 0.15 * min(h, lc), 16)]
        holes += [P.cylinder([sx * 0.24 * W, y0 - lc, zw], [sx * 0.24 * W, y1 + lc, zw], 0.12 * h, 16) for sx in (-1, 1)]
    else:
        zw, wh = (z0 + 0.68 * h, 0.28 * h) if style == "square" else (z0 + 0.6 * h, 0.45 * h)
        ws = 0.45 * lc if style == "square" else 0.25 * lc
        holes = [P.box([0, yc, zw], [2 * W, ws, wh])]
        holes += [P.box([sx * 0.24 * W, yc, zw], [0.26 * W, 2 * lc, 0.9 * wh]) for sx in (-1, 1)]
    return P.difference(P.box([0, yc, z0 + h / 2], [0.94 * W, lc, h]), holes)


def _roof(p: dict, y0: float, y1: float, W: float, z: float) -> tuple:
    """Roof over ``y0 .. y1`` resting at height ``z`` (metres): a flat slab or an arch."""
    if p["roof_style"] == "flat":
        return P.rounded_slab(1.02 * W, y1 - y0 + 0.2, 0.12, 0.05, 0.03, [0, (y0 + y1) / 2, z + 0.03])
    a = np.linspace(0.0, np.pi, 9)
    outer = np.c_[0.52 * W * np.cos(a), 0.05 + 0.28 * np.sin(a)]
    prof = np.concatenate([outer, [[-0.45 * W, -0.04], [0.45 * W, -0.04]]])  # convex (x, z) section
    return P.loft(np.stack([xz_ring(prof, y, z) for y in (y0 - 0.1, y1 + 0.1)]))


def _chassis(p: dict, L: float, W: float, y0: float, z0: float, z1: float) -> tuple:
    """Chassis from ``y0`` to ``L / 2`` between heights ``z0`` and ``z1`` (metres)."""
    box = P.box([0, (y0 + L / 2) / 2, (z0 + z1) / 2], [0.96 * W, L / 2 - y0, z1 - z0])
    style = p["chassis_style"]
    if style == "plain":
        return box
    if style == "buffers":  # two buffers at each end
        zb = (z0 + z1) / 2
        pieces = [box]
        for ye, s in ((y0, -1), (L / 2, 1)):
            pieces += [P.cylinder([sx * 0.32 * W, ye - s * 0.05, zb], [sx * 0.32 * W, ye + s * 0.4, zb], 0.14, 16) for sx in (-1, 1)]
        return P.union(pieces)
    skirt_bottom = z0 - 0.45 * p["wheel_radius"]  # valances hide the tops of the wheels
    skirts = [P.box([sx * 0.47 * W, (y0 + L / 2) / 2, (skirt_bottom + z1) / 2], [0.06 * W, L / 2 - y0 - 0.4, z1 - skirt_bottom]) for sx in (-1, 1)]
    return P.union([box] + skirts)


def build_train(p: dict) -> PartList:
    """The locomotive of ``p`` (from :func:`sample_train`) in its building frame."""
    parts = PartList("train", TRAIN_PATHS)
    L, W, wr, ww = p["length"], p["width"], p["wheel_radius"], p["wheel_width"]
    style = p["style"]
    zc0 = 0.55 * wr if style == "steam" else 0.9 * wr
    z_top = zc0 + p["chassis_height"]
    y_chassis = -L / 2 if style != "bullet" else -L / 2 + p["nose_length"] * 0.6
    parts.add("chassis", _chassis(p, L, W, y_chassis, zc0, z_top), name="chassis")
    if style == "steam":
        n = p["n_axles"]
        ys = [0.35 * L - 1.2 - (n - 1 - k) * 2.15 * wr for k in range(n)]
    else:
        bog = 0.33 * L if style != "bullet" else 0.3 * L
        ys = [c + d * 1.25 * wr for c in (-bog, bog) for d in (-1, 1)]
    for y in ys:
        for sx in (-1, 1):
            parts.add("wheel", wheel(np.array([sx * (W / 2 - ww / 2 - 0.12), y, wr]), wr, ww, p["wheel_style"], 0.06))
    if style == "steam":
        rb, lc = p["boiler_radius"], p["cab_length"]
        yf, yb = -L / 2 + 0.3, L / 2 - lc
        Lb, zb = yb - yf + 0.2, z_top + 0.85 * rb
        prof = [(0.0, 0.0), (0.6 * rb, 0.02 * Lb), (1.05 * rb, 0.06 * Lb), (1.05 * rb, 0.22 * Lb), (rb, 0.23 * Lb), (rb, Lb), (0.0, Lb)]
        boiler = P.revolve_along(prof, [0, yf, zb], Y, 32)
        if p["boiler_style"] == "side_tanks":  # tank engine: water tanks along both sides
            lt = 0.55 * Lb
            tanks = [P.rounded_slab(0.28 * W, lt, 1.4 * rb, 0.05, 0.04, [sx * 0.36 * W, yb - lt / 2 + 0.1, z_top + 0.7 * rb - 0.02]) for sx in (-1, 1)]
            boiler = P.union([boiler] + tanks)
        elif p["boiler_style"] == "saddle_tank":  # a tank draped over the boiler
            lt = 0.5 * Lb
            a = np.linspace(0.0, np.pi, 9)
            sec = np.concatenate([np.c_[1.3 * rb * np.cos(a), 1.25 * rb * np.sin(a)], [[-1.3 * rb, -0.4 * rb], [1.3 * rb, -0.4 * rb]]])
            boiler = P.union([boiler, P.loft(np.stack([xz_ring(sec, y, zb) for y in (yb - lt, yb + 0.1)]))])
        parts.add("boiler", boiler, name="boiler")
        rc, top = p["chimney_radius"], zb + rb + p["chimney_height"]
        prof = [(0.0, zb), (rc, zb), (0.85 * rc, zb + rb + 0.3 * p["chimney_height"]), (1.3 * rc, top - 0.12), (1.3 * rc, top), (0.0, top)]
        v, f = P.revolve(prof, 24)
        parts.add("chimney", (v + [0, yf + 0.12 * Lb, 0], f), name="chimney")
        for k in range(p["n_domes"]):
            c = [0, yf + (0.5 + 0.25 * k) * Lb, zb + 0.85 * rb]
            if p["dome_style"] == "round":
                parts.add("steam_dome", P.ellipsoid(c, [0.42 * rb, 0.5 * rb, 0.45 * rb], 20, 10))
            else:  # bell-shaped dome with a flat cap
                bell = [(0.0, -0.2 * rb), (0.48 * rb, -0.2 * rb), (0.4 * rb, 0.1 * rb), (0.3 * rb, 0.35 * rb), (0.33 * rb, 0.5 * rb), (0.0, 0.52 * rb)]
                v, f = P.revolve(bell, 24)
                parts.add("steam_dome", (v + c, f))
        h = p["cab_height"]
        parts.add("cab", _cab(p, yb, L / 2 - 0.15, W, z_top - 0.05, h), name="cab")
        parts.add("roof", _roof(p, yb, L / 2 - 0.15, W, z_top + h - 0.05), name="roof")
        if p["cowcatcher"]:
            tri = [(-L / 2 - 0.8, 0.15), (-L / 2 + 0.05, 0.15), (-L / 2 + 0.05, z_top - 0.05)]
            rings = [np.array([[sx * 0.42 * W, y, z] for y, z in tri]) for sx in (-1, 1)]
            parts.add("cowcatcher", P.loft(np.stack(rings)), name="cowcatcher")
        head = [(0, yf - 0.1, zb + 0.6 * rb), (0, yf + 0.2, zb + 0.6 * rb)]
    elif style == "diesel":
        lc, h = p["cab_length"], p["cab_height"]
        cabs = [(-L / 2 + 0.3, -L / 2 + 0.3 + lc)] + ([(L / 2 - 0.3 - lc, L / 2 - 0.3)] if p["double_cab"] else [])
        hood0, hood1 = cabs[0][1] - 0.05, (cabs[1][0] + 0.05 if p["double_cab"] else L / 2 - 0.4)
        hh = p["hood_height"]
        hood = P.rounded_slab(p["hood_width"] * W, hood1 - hood0, hh, 0.15, 0.08, [0, (hood0 + hood1) / 2, z_top + hh / 2 - 0.05])
        if p["hood_style"] == "stepped":  # a raised section (radiator / dynamic brake) on the rear half
            lr = 0.4 * (hood1 - hood0)
            hood = P.union([hood, P.rounded_slab(p["hood_width"] * W, lr, hh + 0.5, 0.15, 0.08, [0, hood1 - lr / 2, z_top + (hh + 0.5) / 2 - 0.05])])
        parts.add("hood", hood, name="hood")
        for y0, y1 in cabs:
            parts.add("cab", _cab(p, y0, y1, W, z_top - 0.05, h))
            parts.add("roof", _roof(p, y0, y1, W, z_top + h - 0.05))
        head = [(0, -L / 2 + 0.2, z_top + 0.35 * h), (0, -L / 2 + 0.5, z_top + 0.35 * h)]
    else:
        hb, ln = p["body_height"], p["nose_length"]
        ex = (0.5, 0.6) if p["nose_style"] == "sharp" else (0.2, 0.25)  # width, height exponents
        stations = [(-L / 2 + s * ln, W * max(s ** ex[0], 0.12), hb * max(s ** ex[1], 0.15)) for s in np.linspace(0.0, 1.0, 7)]
        stations += [(L / 2 - 0.15, W, hb), (L / 2, W - 0.2, hb - 0.2)]
        rings = [xz_ring(P.rounded_rect_profile(w_, h_, 0.5, 4), y, z_top - 0.05 + h_ / 2) for y, w_, h_ in stations]
        parts.add("body", P.loft(np.stack(rings)), name="body")
        if p["pantograph"]:
            yp, zr = 0.15 * L, z_top - 0.05 + hb
            pieces = [P.box([0, yp, zr + 0.05], [0.8, 0.8, 0.15]), P.box([0, yp, zr + 1.0], [1.6, 0.12, 0.12])]
            for sy in (-1, 1):
                pieces += [P.cylinder([0, yp, zr + 0.1], [0, yp + sy * 0.9, zr + 0.9], 0.04, 8), P.cylinder([0, yp + sy * 0.9, zr + 0.9], [0, yp, zr + 1.0], 0.04, 8)]
            parts.add("pantograph", P.union(pieces), name="pantograph")
        y_h, z_h = -L / 2 + 0.25 * ln, z_top + 0.25 * hb
        head = None
        if p["headlight"]:
            for sx in (-1, 1):
                parts.add("headlight", P.ellipsoid([sx * 0.15 * W, y_h, z_h], [0.25, 0.15, 0.12], 16, 8))
    if p["headlight"] and style != "bullet":
        parts.add("headlight", P.cylinder(head[0], head[1], 0.2, 16), name="headlight")
    return parts
