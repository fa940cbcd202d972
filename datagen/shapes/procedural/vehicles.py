"""Procedural toy vehicles (cars, airplanes) with part labels and semantic paths; the
wheel and section helpers are shared with ``trains``.

Building frame: Z up, metres (real-vehicle sizes; the result is normalized anyway), the
vehicle's length along Y with its front towards -Y, width along X, wheels (or landing
gear, or the fuselage) on the floor ``z = 0``. Sampler ``sample_<category>`` draws every
random choice; ``build_<category>`` is pure geometry (see ``assembly``).

- car (``style`` sedan / hatchback / suv / pickup / sports / van): ``car/car_body/body``
  (lofted, sloping hood, boxy to pill-shaped section, optional flared wheel arches),
  ``cabin`` (raked greenhouse, boxy or bubble roof), optional ``cargo_bed`` (pickup),
  ``spoiler``, ``headlight`` x2 (round or rectangular), ``bumper`` x2 (bar or wrap-round);
  ``car/wheel_base/wheel`` x4 (``WHEEL_STYLES``).
- airplane (``style`` airliner / propeller / fighter / glider):
  ``airplane/airplane_body/fuselage``, ``airplane/airplane_wing/wing`` x2 (NACA-like
  airfoil, swept, tapered, dihedral), ``airplane/airplane_tail/horizontal_stabilizer`` x2,
  ``vertical_stabilizer`` (x2 on twin-fin fighters), ``airplane/airplane_engine/engine``
  (nacelle + pylon, x2 or x4) or ``propeller``, optional ``airplane/landing_gear/landing_gear`` x3.
"""

from __future__ import annotations

import numpy as np

import datagen.shapes.procedural.primitives as P
from datagen.shapes.procedural.assembly import PartList, chance, pick, u

X = np.array([1.0, 0.0, 0.0])
Y = np.array([0.0, 1.0, 0.0])


WHEEL_STYLES = ("disc", "dish", "balloon", "spoked")


def wheel(center, radius: float, width: float, style: str = "disc", flange: float = 0.0) -> tuple:
    """Wheel turning about X at ``center`` (3,), ``radius`` and ``width`` metres. ``style``:
    ``disc`` (shallow hub recess), ``dish`` (deep dished rim, centre cap), ``balloon``
    (round tyre), ``spoked`` (disc with five holes through). ``flange`` > 0 adds a rail
    flange of that height on the side facing the vehicle's centre (disc / spoked only)."""
    r, w = radius, width
    c = min(0.12 * r, 0.2 * w)
    if style == "dish":
        half = [(0.0, -0.4 * w), (0.18 * r, -0.4 * w), (0.22 * r, -0.06 * w), (0.75 * r, -0.06 * w), (0.82 * r, -w / 2), (r - c, -w / 2), (r, -w / 2 + c)]
    elif style == "balloon":
        a = np.linspace(-0.5 * np.pi, 0.0, 5)
        half = [(0.0, -0.3 * w), (0.55 * r, -0.3 * w)] + [(r - w / 2 + w / 2 * np.cos(t), w / 2 * np.sin(t)) for t in a]
    else:
        rec = min(0.15 * w, 0.04)
        half = [(0.0, -w / 2 + rec), (0.6 * r, -w / 2 + rec), (0.6 * r + 0.4 * rec, -w / 2), (r - c, -w / 2), (r, -w / 2 + c)]
    prof = half + [(x, -z) for x, z in half[::-1] if z < 0]
    if flange > 0:  # replace the inner tread corner by a flange
        prof = [q for q in prof if not (q[1] < 0 and q[0] > 0.7 * r)]
        k = next(i for i, q in enumerate(prof) if q[1] >= 0 and q[0] > 0.7 * r)
        prof[k:k] = [(r + flange, -w / 2), (r + flange, -w / 2 + 0.2 * w), (r, -w / 2 + 0.3 * w)]
    axis = -X if center[0] <= 0 else X  # local -Z (the flange side) towards the vehicle's centre
    v, f = P.revolve_along(prof, center, axis, 24)
    if style == "spoked":
        holes = []
        for a in np.linspace(0.0, 2 * np.pi, 5, endpoint=False):
            off = 0.4 * r * np.array([0.0, np.cos(a), np.sin(a)])
            holes.append(P.cylinder(np.asarray(center) + off - w * X, np.asarray(center) + off + w * X, 0.14 * r, 12))
        v, f = P.difference((v, f), holes)
    return v, f


def xz_ring(profile_xz: np.ndarray, y: float, z: float) -> np.ndarray:
    """(m, 3): a 2D (x, z) profile placed in the plane ``y`` with its centre at height ``z``."""
    return np.c_[profile_xz[:, 0], np.full(len(profile_xz), y), profile_xz[:, 1] + z]


# --- car --------------------------------------------------------------------------------
_CAR = {  # style: length, body height, clearance, cabin height, cabin length (share), cabin offset (share, + = rear), rakes (m)
    "sedan": ((4.2, 4.9), (0.55, 0.65), (0.15, 0.2), (0.42, 0.5), (0.44, 0.52), (0.03, 0.09), (0.4, 0.6), (0.3, 0.45)),
    "hatchback": ((3.6, 4.2), (0.55, 0.65), (0.15, 0.2), (0.45, 0.52), (0.5, 0.58), (0.1, 0.15), (0.4, 0.55), (0.05, 0.15)),
    "suv": ((4.3, 4.9), (0.7, 0.8), (0.22, 0.3), (0.5, 0.6), (0.58, 0.66), (0.08, 0.13), (0.3, 0.45), (0.05, 0.12)),
    "pickup": ((4.8, 5.4), (0.7, 0.8), (0.25, 0.32), (0.5, 0.6), (0.26, 0.32), (-0.1, -0.04), (0.25, 0.35), (0.02, 0.06)),
    "sports": ((4.2, 4.6), (0.42, 0.5), (0.1, 0.14), (0.3, 0.36), (0.34, 0.42), (0.02, 0.1), (0.55, 0.75), (0.45, 0.65)),
    "van": ((4.5, 5.1), (0.7, 0.85), (0.16, 0.22), (0.8, 1.0), (0.74, 0.8), (0.05, 0.09), (0.35, 0.55), (0.0, 0.04)),
}
CAR_PATHS = {k: f"car/car_body/{k}" for k in ("body", "cabin", "cargo_bed", "spoiler", "headlight", "bumper")}
CAR_PATHS["wheel"] = "car/wheel_base/wheel"


def sample_car(rng: np.random.Generator) -> dict:
    """Every random choice of a car (metres), JSON-serializable."""
    style = pick(rng, tuple(_CAR))
    L, hb, cl, ch, cs, co, rf, rr = (u(rng, *r) for r in _CAR[style])
    p = {"style": style, "length": L, "width": u(rng, 1.65, 1.9), "body_height": hb, "clearance": cl}
    p.update(cabin_height=ch, cabin_length=cs, cabin_offset=co, front_rake=rf, rear_rake=rr)
    p["cabin_top_width"] = u(rng, 0.62, 0.9)
    p["hood_drop"] = u(rng, 0.0, 0.02) if style == "van" else u(rng, 0.1, 0.42)
    p["tail_drop"] = 0.0 if style in ("van", "pickup") else u(rng, 0.0, 0.3)
    big = style in ("suv", "pickup")
    p["wheel_radius"] = u(rng, 0.36, 0.42) if big else u(rng, 0.29, 0.34)
    p["wheel_width"] = u(rng, 0.2, 0.28)
    p["wheelbase"] = u(rng, 0.58, 0.66)
    p["spoiler"] = chance(rng, {"sports": 0.7, "sedan": 0.15, "hatchback": 0.25}.get(style, 0.0))
    p["headlights"] = chance(rng, 0.7)
    p["bumpers"] = chance(rng, 0.6)
    p["body_round"] = u(rng, 0.06, 0.3)
    p["arches"] = chance(rng, 0.45)
    p["cabin_style"] = pick(rng, ("boxy", "bubble"))
    p["cabin_round"] = u(rng, 0.05, 0.4)
    p["wheel_style"] = pick(rng, WHEEL_STYLES)
    p["bumper_style"] = pick(rng, ("bar", "wrap"))
    p["headlight_style"] = pick(rng, ("round", "rect"))
    return p


def build_car(p: dict) -> PartList:
    """The car of ``p`` (from :func:`sample_car`) in its building frame."""
    parts = PartList("car", CAR_PATHS)
    L, W, h, cl = p["length"], p["width"], p["body_height"], p["clearance"]
    e = 0.08
    hf, hr = h * (1 - p["hood_drop"]), h * (1 - p["tail_drop"])
    flat0, flat1 = (-L / 2 + e, L / 2 - e) if p["style"] == "van" else (-L / 2 + 0.22 * L, L / 2 - 0.2 * L)
    stations = [(-L / 2, W - 2 * e, hf - 2 * e, e), (-L / 2 + e, W, hf, 0.0), (flat0, W, h, 0.0), (flat1, W, h, 0.0), (L / 2 - e, W, hr, 0.0), (L / 2, W - 2 * e, hr - 2 * e, e)]
    if p["style"] == "van":
        stations = [stations[0], stations[1], stations[4], stations[5]]
    rings = [xz_ring(P.rounded_rect_profile(w, hh, p["body_round"], 3), y, cl + lift + hh / 2) for y, w, hh, lift in stations]
    top_y, top_z = [st[0] for st in stations[1:-1]], [cl + st[2] for st in stations[1:-1]]
    body = P.loft(np.stack(rings))
    r, ww = p["wheel_radius"], p["wheel_width"]
    axles = [sy * p["wheelbase"] * L / 2 for sy in (-1, 1)]
    if p["arches"]:  # flared wheel arches: half discs proud of the body sides
        flares = [P.difference(P.cylinder([-W / 2 - 0.04, y, r], [W / 2 + 0.04, y, r], 1.25 * r, 24), [P.box([0, y, cl], [2 * W, 3 * r, 2 * (cl + 0.3 * r)])]) for y in axles]
        body = P.union([body] + flares)
    parts.add("body", body, name="body")
    z_belt = cl + h
    Lc = p["cabin_length"] * L
    y0 = max(flat0, p["cabin_offset"] * L - Lc / 2)
    y1 = min(flat1, p["cabin_offset"] * L + Lc / 2)
    Wc, Wt, ch = 0.92 * W, p["cabin_top_width"] * W, p["cabin_height"]
    rf, rr = min(p["front_rake"], 0.35 * (y1 - y0)), min(p["rear_rake"], 0.35 * (y1 - y0))

    def cab_ring(z: float, k: float, width: float, inset: float = 0.0) -> np.ndarray:
        a, b = y0 + k * rf + inset, y1 - k * rr - inset
        prof = P.rounded_rect_profile(width, b - a, p["cabin_round"], 3)
        return np.c_[prof[:, 0], prof[:, 1] + (a + b) / 2, np.full(len(prof), z)]

    if p["cabin_style"] == "bubble":  # domed roof: rings pulled in towards the top
        ks = [0.0, 0.5, 0.75, 0.9, 1.0]
        top = min(y1 - y0 - rf - rr, Wt)  # the smaller side of the roof
        ins = [0.0, 0.0, 0.05 * top, 0.14 * top, 0.3 * top]
        cab = [cab_ring(z_belt - 0.02 + k * ch, k, Wc + (Wt - Wc) * k - 2 * i, i) for k, i in zip(ks, ins)]
    else:
        cab = [cab_ring(z_belt - 0.02, 0.0, Wc), cab_ring(z_belt + 0.85 * ch, 0.85, Wc + (Wt - Wc) * 0.85), cab_ring(z_belt + ch, 1.0, Wt - 0.06)]
    parts.add("cabin", P.loft(np.stack(cab)), name="cabin")
    if p["style"] == "pickup":
        t, hw, yb0, yb1 = 0.06, 0.3, y1 + 0.05, L / 2 - e
        walls = [P.box([sx * (W / 2 - t / 2 - 0.02), (yb0 + yb1) / 2, z_belt + hw / 2 - 0.02], [t, yb1 - yb0, hw]) for sx in (-1, 1)]
        walls.append(P.box([0, yb1 - t / 2, z_belt + hw / 2 - 0.02], [W - 0.04, t, hw]))
        parts.add("cargo_bed", P.union(walls), name="cargo_bed")
    if p["spoiler"]:
        ys = L / 2 - 0.25
        z0 = float(np.interp(ys, top_y, top_z)) - 0.04  # posts sink into the sloping deck
        pieces = [P.box([0, ys, z_belt + 0.2], [0.85 * W, 0.28, 0.04])]
        pieces += [P.box([sx * 0.3 * W, ys, (z0 + z_belt + 0.21) / 2], [0.05, 0.12, z_belt + 0.21 - z0]) for sx in (-1, 1)]
        parts.add("spoiler", P.union(pieces), name="spoiler")
    if p["headlights"]:
        for sx in (-1, 1):
            c = [sx * 0.32 * W, -L / 2 + e, cl + 0.65 * hf]
            if p["headlight_style"] == "round":
                parts.add("headlight", P.ellipsoid(c, [0.13, 0.06, 0.06], 16, 8))
            else:
                parts.add("headlight", P.rounded_slab(0.34, 0.1, 0.09, 0.03, 0.01, c))
    if p["bumpers"]:
        for sy in (-1, 1):
            yb = sy * (L / 2 - 0.03)
            bar = P.rounded_slab(W * 0.98, 0.14, 0.14, 0.06, 0.03, [0, yb, cl + 0.1])
            if p["bumper_style"] == "wrap":  # wraps round the corners along the sides
                sides = [P.box([sx * 0.49 * W - sx * 0.05, yb - sy * 0.3, cl + 0.1], [0.12, 0.62, 0.12]) for sx in (-1, 1)]
                bar = P.union([bar] + sides)
            parts.add("bumper", bar)
    for y in axles:
        for sx in (-1, 1):
            parts.add("wheel", wheel(np.array([sx * (W / 2 - ww / 2 + 0.03), y, r]), r, ww, p["wheel_style"]))
    return parts


# --- airplane -----------------------------------------------------------------------------
AIRPLANE_PATHS = {
    "fuselage": "airplane/airplane_body/fuselage",
    "wing": "airplane/airplane_wing/wing",
    "htail": "airplane/airplane_tail/horizontal_stabilizer",
    "vtail": "airplane/airplane_tail/vertical_stabilizer",
    "engine": "airplane/airplane_engine/engine",
    "propeller": "airplane/airplane_engine/propeller",
    "gear": "airplane/landing_gear/landing_gear",
}
_PLANE = {  # style: fuselage radius (share of length), half span (share), root chord (share), taper, sweep deg, dihedral deg, wing y (share)
    "airliner": ((0.045, 0.06), (0.42, 0.52), (0.14, 0.19), (0.25, 0.4), (25, 35), (4, 7), (0.36, 0.42)),
    "propeller": ((0.06, 0.075), (0.5, 0.62), (0.13, 0.17), (0.55, 0.85), (0, 5), (1, 5), (0.3, 0.36)),
    "fighter": ((0.045, 0.06), (0.24, 0.32), (0.38, 0.46), (0.05, 0.15), (40, 55), (-3, 0), (0.42, 0.48)),
    "glider": ((0.035, 0.045), (0.9, 1.2), (0.08, 0.1), (0.4, 0.6), (0, 4), (2, 5), (0.3, 0.34)),
}


def sample_airplane(rng: np.random.Generator) -> dict:
    """Every random choice of an airplane (lengths as shares of the fuselage length, angles
    in radians), JSON-serializable."""
    style = pick(rng, tuple(_PLANE), p=[0.35, 0.3, 0.2, 0.15])
    rf, span, cr, taper, sweep, dih, wy = (u(rng, *r) for r in _PLANE[style])
    p = {"style": style, "length": 1.0, "fuselage_radius": rf, "span": span, "root_chord": cr, "taper": taper}
    p.update(sweep=np.radians(sweep), dihedral=np.radians(dih), wing_y=wy, thickness=u(rng, 0.09, 0.14))
    p["wing_z"] = {"airliner": -0.55, "fighter": 0.0}.get(style) if style in ("airliner", "fighter") else float(rng.choice([-0.55, 0.7]))
    p["nose_length"] = u(rng, 0.08, 0.14) if style != "fighter" else u(rng, 0.18, 0.25)
    p["tail_length"] = u(rng, 0.25, 0.35)
    p["tail_up"] = u(rng, 0.3, 0.6)
    p["htail_span"] = span * (u(rng, 0.3, 0.4) if style != "fighter" else u(rng, 0.45, 0.55))
    p["vtail_height"] = rf * u(rng, 2.0, 3.0)
    p["twin_fins"] = style == "fighter" and chance(rng, 0.5)
    p["n_engines"] = int(rng.choice([2, 4], p=[0.75, 0.25])) if style == "airliner" else 0
    p["n_blades"] = int(rng.integers(2, 5))
    p["landing_gear"] = chance(rng, {"airliner": 0.5, "propeller": 0.85}.get(style, 0.0))
    return p


def _airfoil(chord: float, tc: float, n: int = 9) -> np.ndarray:
    """(2n-2, 2) float64: symmetric NACA-00xx outline, x along the chord from the leading edge."""
    xc = 0.5 * (1 - np.cos(np.linspace(0.0, np.pi, n)))
    yt = 5 * tc * (0.2969 * np.sqrt(xc) - 0.126 * xc - 0.3516 * xc**2 + 0.2843 * xc**3 - 0.1036 * xc**4)
    yt = np.maximum(yt, 0.002 * tc)  # keep a sliver at the trailing edge
    up = np.c_[xc, yt]
    lo = np.c_[xc[::-1], -yt[::-1]][1:-1]
    return np.concatenate([up, lo]) * chord


def _lifting_surface(root, span_dir, span: float, chord: float, taper: float, sweep: float, dihedral: float, tc: float, normal=(0.0, 0.0, 1.0)) -> tuple:
    """Wing-like loft from ``root`` (3,: leading edge at the root) along ``span_dir`` (3,)
    for ``span`` metres; chord along +Y, thickness along ``normal``; ``sweep`` and
    ``dihedral`` radians."""
    root, sd, nz = np.asarray(root, float), np.asarray(span_dir, float), np.asarray(normal, float)
    rings = []
    for eta in (0.0, 1.0):
        c = chord * (1 + (taper - 1) * eta)
        le = root + sd * span * eta + Y * span * eta * np.tan(sweep) + nz * span * eta * np.tan(dihedral)
        foil = _airfoil(c, tc)
        rings.append(le + foil[:, :1] * Y + foil[:, 1:] * nz)
    return P.loft(np.stack(rings))


def build_airplane(p: dict) -> PartList:
    """The airplane of ``p`` (from :func:`sample_airplane`) in its building frame."""
    parts = PartList("airplane", AIRPLANE_PATHS)
    L, rf = p["length"], p["fuselage_radius"] * p["length"]
    tn, tt, up = p["nose_length"], p["tail_length"], p["tail_up"] * rf
    pointy = p["style"] == "fighter"
    ts = np.r_[tn * (1 - np.cos(np.linspace(0.15, 0.5 * np.pi, 7))), np.linspace(1 - tt, 1.0, 6)]
    rad, zc = [], []
    for t in ts:
        if t <= tn:
            s = t / tn
            rad.append(rf * (s**0.9 if pointy else np.sqrt(1 - (1 - s) ** 2)))
            zc.append(0.0 if pointy else -0.25 * rf * (1 - s))
        else:
            s = (t - (1 - tt)) / tt
            rad.append(rf * (1 - 0.8 * s**1.3))
            zc.append(up * s**1.5)
    circ = P.circle_profile(1.0, 24) * [1.0, 1.08]
    rings = [xz_ring(circ * r, -L / 2 + t * L, z) for t, r, z in zip(ts, rad, zc)]
    parts.add("fuselage", P.loft(np.stack(rings)), name="fuselage")
    z_tail, r_tail = zc[-2], rad[-2]
    span, cr = p["span"] * L, p["root_chord"] * L
    yw, zw = -L / 2 + p["wing_y"] * L, p["wing_z"] * rf
    for sx in (-1, 1):
        parts.add("wing", _lifting_surface([0, yw, zw], sx * X, span, cr, p["taper"], p["sweep"], p["dihedral"], p["thickness"]))
    hs, ch = p["htail_span"] * L, 0.45 * cr if not pointy else 0.3 * cr
    yh = L / 2 - ch - 0.02 * L
    z_h = zc[-3] + (0.0 if p["style"] != "propeller" else 0.2 * rf)
    for sx in (-1, 1):
        parts.add("htail", _lifting_surface([0, yh, z_h], sx * X, hs, ch, 0.55, p["sweep"], 0.0, 0.1))
    hv, cv = p["vtail_height"] * L, 0.5 * cr if not pointy else 0.32 * cr
    yv = L / 2 - cv - 0.01 * L
    fins = [(-0.45 * rf, np.radians(-15)), (0.45 * rf, np.radians(15))] if p["twin_fins"] else [(0.0, 0.0)]
    for x, cant in fins:
        d = np.array([np.sin(cant), 0.0, np.cos(cant)])
        root = [x, yv, z_tail + 0.3 * r_tail if not p["twin_fins"] else zc[-3] + 0.5 * rf]
        parts.add("vtail", _lifting_surface(root, d, hv, cv, 0.55, max(p["sweep"], np.radians(30)), 0.0, 0.1, normal=np.cross(Y, d)))
    if p["n_engines"]:
        re, le = 0.35 * rf, 1.5 * rf
        fracs = [0.33] if p["n_engines"] == 2 else [0.28, 0.58]
        for f in fracs:
            for sx in (-1, 1):
                x = sx * f * span
                y_le = yw + f * span * np.tan(p["sweep"])
                z_w = zw + f * span * np.tan(p["dihedral"])
                c = np.array([x, y_le - 0.45 * le, z_w - 1.3 * re])
                prof = [(0.0, 0.0), (0.8 * re, 0.0), (re, 0.12 * le), (re, 0.65 * le), (0.65 * re, le), (0.0, le)]
                nac = P.revolve_along(prof, c, Y, 24)
                pylon = P.box([x, c[1] + 0.6 * le, (c[2] + z_w) / 2 + 0.3 * re], [0.25 * re, 0.7 * le, z_w - c[2]])
                parts.add("engine", P.union([nac, pylon]))
    if p["style"] == "propeller":
        y_tip = -L / 2 - 0.5 * rf
        spinner = P.revolve_along([(0.0, 0.0), (0.25 * rf, 0.1 * rf), (0.4 * rf, 0.45 * rf), (0.4 * rf, 0.8 * rf), (0.0, 0.8 * rf)], [0, y_tip, -0.2 * rf], Y, 20)
        pieces = [spinner]
        for k in range(p["n_blades"]):
            a = 2 * np.pi * k / p["n_blades"] + 0.3
            d = np.array([np.cos(a), 0.0, np.sin(a)])
            base = np.array([0.0, y_tip + 0.55 * rf, -0.2 * rf])
            pieces.append(P.bar(base + 0.2 * rf * d, base + 1.7 * rf * d, P.rect_profile(0.05 * rf, 0.35 * rf), P.rect_profile(0.04 * rf, 0.2 * rf), up=np.cross(d, Y)))
        parts.add("propeller", P.union(pieces), name="propeller")
    if p["landing_gear"]:
        wr = 0.35 * rf
        z_ground = -rf * 1.08 - 0.9 * rf
        for x, y in ((0.0, -L / 2 + 0.15 * L), (-0.7 * rf, yw + 0.6 * cr), (0.7 * rf, yw + 0.6 * cr)):
            wc = np.array([x, y, z_ground + wr])
            strut = P.cylinder([x, y, -0.3 * rf], wc + [0, 0, 0.5 * wr], 0.08 * rf, 12)
            parts.add("gear", P.union([strut, P.cylinder(wc - 0.2 * rf * X, wc + 0.2 * rf * X, wr, 20)]))
    return parts
