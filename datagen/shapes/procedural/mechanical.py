"""Procedural mechanical parts (ABC-like CAD objects) with parts labelled by mechanical role.

Kinds (``KINDS``) and their part labels (paths are ``mechanical/<kind>/<label>``):

- ``flange``: ``flange_disc`` (disc with the central bore and bolt holes cut out),
  ``hub`` (tube on the disc, around the bore), ``bolt`` (hex head + shank, one per hole,
  optional), ``nut`` (hex nut under the disc, optional).
- ``bracket``: ``plate`` (an L or U plate with holes cut out), ``gusset`` (triangular
  ribs in the inside corners), ``bolt`` (optional, in the holes of the base plate).
- ``shaft``: ``shaft_step`` (chamfered cylinders of different radii, one per step, one
  of them may carry a keyway slot), ``key`` (the key in that slot), ``collar`` (rings
  clamped on steps).
- ``gear``: ``gear_body`` (web disc with the bore, keyway and optional lightening holes
  cut out), ``teeth`` (the toothed rim, trapezoidal teeth), ``hub`` (tube on one or both
  faces), ``key`` (optional, in the bore keyway).

A hole is not a part: it is cut out of the part it goes through (manifold3d), so the
bore of a gear is a feature of ``gear_body`` and ``hub``. Every part is one watertight
component. Frame while building: Z up, metres (parts of 5 to 30 cm); the result is
normalized (bbox centre at origin, diagonal 1). ``meta = {"generator": "mechanical",
"params": {"kind": ..., ...}}``.
"""

from __future__ import annotations

import numpy as np

from datagen.shapes.model import Part, Shape
from datagen.shapes.normalize import normalize
import datagen.shapes.procedural.primitives as P

KINDS = ("flange", "bracket", "shaft", "gear")
SEG = 32


def _u(rng, lo, hi) -> float:
    return float(rng.uniform(lo, hi))


def _manifold():
    import manifold3d

    return manifold3d


def _cut(solid: tuple, cutters: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    """``solid`` minus the union of ``cutters`` (all (vertices, faces) closed meshes)."""
    if not cutters:
        return solid
    m3d = _manifold()
    body = P.to_manifold(*solid)
    tools = m3d.Manifold.batch_boolean([P.to_manifold(*c) for c in cutters], m3d.OpType.Add)
    return P.from_manifold(body - tools)


def _union(meshes: list[tuple]) -> tuple[np.ndarray, np.ndarray]:
    m3d = _manifold()
    return P.from_manifold(m3d.Manifold.batch_boolean([P.to_manifold(*m) for m in meshes], m3d.OpType.Add))


def _bolt(axis_xy, z_tip: float, z_head: float, shank_r: float, head_h: float):
    """Hex-head bolt along Z at ``axis_xy``: round shank from ``z_tip`` up to ``z_head``,
    hex head (across flats 3.2 shank radii) from ``z_head`` to ``z_head + head_h``."""
    circ = P.circle_profile(shank_r, 12)
    hexp = P.hex12_profile(shank_r * 3.2)
    return P.vertical_stack([circ, circ, hexp, hexp], [z_tip, z_head, z_head, z_head + head_h], axis_xy)


# --- samplers (all randomness) ------------------------------------------------------------
def sample_mechanical_params(rng: np.random.Generator, kind: str | None = None) -> dict:
    """Draw a mechanical part's parameters (metres, radians), JSON-serializable."""
    if kind is None:
        kind = str(KINDS[int(rng.integers(len(KINDS)))])
    if kind not in KINDS:
        raise ValueError(f"unknown mechanical kind {kind!r}; choose one of {KINDS}")
    p: dict = {"kind": kind}
    if kind == "flange":
        R = _u(rng, 0.05, 0.12)
        p.update(
            radius=R,
            thickness=_u(rng, 0.008, 0.025),
            hub_radius=R * _u(rng, 0.35, 0.6),
            hub_height=_u(rng, 0.015, 0.06),
            bore_ratio=_u(rng, 0.35, 0.75),
            n_holes=int(rng.choice([3, 4, 6, 8])),
            hole_radius=R * _u(rng, 0.06, 0.1),
            bolts=bool(rng.random() < 0.6),
            nuts=bool(rng.random() < 0.5),
            phase=_u(rng, 0.0, np.pi),
            chamfer=bool(rng.random() < 0.5),
        )
    elif kind == "bracket":
        p.update(
            shape=str(rng.choice(["L", "U"])),
            base_length=_u(rng, 0.06, 0.16),
            height=_u(rng, 0.04, 0.14),
            width=_u(rng, 0.03, 0.10),
            thickness=_u(rng, 0.004, 0.012),
            holes_base=int(rng.integers(0, 3)),
            holes_up=int(rng.integers(0, 3)),
            hole_radius=_u(rng, 0.003, 0.007),
            n_gussets=int(rng.integers(0, 3)),
            gusset_size=_u(rng, 0.4, 0.8),
            bolts=bool(rng.random() < 0.4),
        )
    elif kind == "shaft":
        n = int(rng.integers(2, 6))
        p.update(
            radii=[_u(rng, 0.008, 0.03) for _ in range(n)],
            lengths=[_u(rng, 0.02, 0.09) for _ in range(n)],
            chamfer=_u(rng, 0.0005, 0.002),
            keyway_step=int(rng.integers(-1, n)),  # -1: none
            key=bool(rng.random() < 0.6),
            n_collars=int(rng.integers(0, 3)),
            collar_steps=[int(rng.integers(0, n)) for _ in range(2)],
            collar_pos=[_u(rng, 0.2, 0.8) for _ in range(2)],
            collar_width=_u(rng, 0.006, 0.015),
            collar_ratio=_u(rng, 1.3, 1.8),
        )
    else:  # gear
        n_teeth = int(rng.integers(12, 41))
        module = _u(rng, 0.0025, 0.006)
        p.update(
            n_teeth=n_teeth,
            module=module,
            face_width=_u(rng, 0.008, 0.03),
            bore_radius=_u(rng, 0.004, 0.012),
            hub_ratio=_u(rng, 1.8, 3.0),
            hub_height=_u(rng, 0.005, 0.025),
            hub_sides=int(rng.choice([0, 1, 2], p=[0.2, 0.5, 0.3])),
            web_ratio=_u(rng, 0.4, 1.0),
            n_lightening=int(rng.choice([0, 0, 4, 5, 6])),
            tip_fraction=_u(rng, 0.35, 0.6),
            keyway=bool(rng.random() < 0.6),
            key=bool(rng.random() < 0.5),
        )
    return p


# --- builders (no randomness) ----------------------------------------------------------
def _flange(p: dict) -> list[tuple]:
    R, t = p["radius"], p["thickness"]
    rh = p["hub_radius"]
    rb = rh * p["bore_ratio"]
    c = 0.15 * t if p["chamfer"] else 0.0
    disc_prof = np.array([(rb, 0.0), (R - c, 0.0), (R, c), (R, t - c), (R - c, t), (rb, t)])
    if c == 0:
        disc_prof = np.array([(rb, 0.0), (R, 0.0), (R, t), (rb, t)])
    disc = P.lathe(disc_prof, 48)
    pcd = 0.5 * (rh + R) + 0.5 * p["hole_radius"]
    pcd = min(pcd, R - 1.6 * p["hole_radius"])
    hr = p["hole_radius"]
    n = p["n_holes"]
    centres = [(pcd * np.cos(p["phase"] + 2 * np.pi * k / n), pcd * np.sin(p["phase"] + 2 * np.pi * k / n)) for k in range(n)]
    holes = [P.cylinder([x, y, -t], [x, y, 2 * t], hr, 16) for x, y in centres]
    parts = [("flange", "flange_disc", _cut(disc, holes))]
    hh = p["hub_height"]
    parts.append(("hub", "hub", P.lathe(np.array([(rb, t - 0.001), (rh, t - 0.001), (rh, t + hh), (rb, t + hh)]), 40)))
    if p["bolts"]:
        sr = hr * 0.85
        for k, (x, y) in enumerate(centres):
            z_tip = -0.6 * t if p["nuts"] else -0.3 * t
            parts.append((f"bolt_{k}", "bolt", _bolt((x, y), z_tip, t, sr, 0.7 * sr * 2)))
            if p["nuts"]:
                nut = P.vertical_stack([P.hex12_profile(sr * 3.2)] * 2, [-0.6 * t, -0.001], (x, y))
                nut = _cut(nut, [P.cylinder([x, y, -t], [x, y, t], sr * 0.98, 12)])
                parts.append((f"nut_{k}", "nut", nut))
    return parts


def _bracket(p: dict) -> list[tuple]:
    a, b, w, t = p["base_length"], p["height"], p["width"], p["thickness"]
    U = p["shape"] == "U"
    # base plate along +X from x=0, uprights at x=0 (and x=a for a U), width along Y
    pieces = [P.box([a / 2, 0, t / 2], [a, w, t]), P.box([t / 2, 0, b / 2], [t, w, b])]
    if U:
        pieces.append(P.box([a - t / 2, 0, b / 2], [t, w, b]))
    plate = _union(pieces)
    hr = min(p["hole_radius"], 0.3 * w, 0.25 * a)
    cut = []
    nb = p["holes_base"]
    x_lo, x_hi = (t + 2 * hr, a - t - 2 * hr) if U else (t + 2.5 * hr, a - 2 * hr)
    for k in range(nb):
        x = (x_lo + x_hi) / 2 if nb == 1 else x_lo + (x_hi - x_lo) * k / (nb - 1)
        cut.append(((x, 0.0), P.cylinder([x, 0, -t], [x, 0, 2 * t], hr, 16)))
    nu = p["holes_up"]
    for k in range(nu):
        z = (t + b) / 2 + (0 if nu == 1 else (k - 0.5) * 0.45 * (b - t))
        for xw in ([0.0, a] if U else [0.0]):
            cut.append((None, P.cylinder([xw - t, 0, z], [xw + 2 * t, 0, z], hr, 16)))
    plate = _cut(plate, [c for _, c in cut])
    parts = [("plate", "plate", plate)]
    ng = p["n_gussets"]
    gt = max(t, 0.004)
    g = p["gusset_size"] * min(a - t, b - t)
    ys = [0.0] if ng == 1 else [-(w / 2 - gt / 2), w / 2 - gt / 2]
    k = 0
    for corner in ([0, 1] if U else [0]):
        for y in ys[:ng]:
            sx = 1.0 if corner == 0 else -1.0
            x0 = t - 0.0005 if corner == 0 else a - t + 0.0005
            tri = np.array([[x0, t - 0.0005], [x0 + sx * g, t - 0.0005], [x0, t + g]])
            rings = np.stack([np.c_[tri[:, 0], np.full(3, y - gt / 2), tri[:, 1]], np.c_[tri[:, 0], np.full(3, y + gt / 2), tri[:, 1]]])
            parts.append((f"gusset_{k}", "gusset", P.loft(rings)))
            k += 1
    if p["bolts"]:
        for k, (xy, _) in enumerate([c for c in cut if c[0] is not None]):
            parts.append((f"bolt_{k}", "bolt", _bolt(xy, -0.8 * t - 2 * hr, t, hr * 0.85, 1.4 * hr)))
    return parts


def _shaft(p: dict) -> list[tuple]:
    radii, lengths, c = p["radii"], p["lengths"], p["chamfer"]
    steps, extras = [], []
    z = 0.0
    spans = []
    for i, (r, L) in enumerate(zip(radii, lengths)):
        cc = min(c, 0.2 * r, 0.2 * L)
        prof = [P.circle_profile(r - cc, SEG), P.circle_profile(r, SEG), P.circle_profile(r, SEG), P.circle_profile(r - cc, SEG)]
        z0 = z - (0.001 if i else 0.0)
        mesh = P.vertical_stack(prof, [z0, z0 + cc, z + L - cc, z + L])
        if i == p["keyway_step"] and L > 0.02:
            kw, kd = 0.5 * r, 0.35 * r
            kl = 0.7 * L
            slot = P.box([0, r - kd / 2 + 0.002, z + L / 2], [kw, kd + 0.004, kl])
            mesh = _cut(mesh, [slot])
            if p["key"]:
                extras.append(("key", "key", P.box([0, r - kd / 2 + kd * 0.25, z + L / 2], [kw * 0.98, kd * 1.5, kl * 0.96])))
        steps.append((f"step_{i}", "shaft_step", mesh))
        spans.append((z, z + L, r))
        z += L
    for k in range(p["n_collars"]):
        z0, z1, r = spans[p["collar_steps"][k] % len(spans)]
        cw = min(p["collar_width"], 0.8 * (z1 - z0))
        zc = z0 + (z1 - z0) * p["collar_pos"][k]
        zc = min(max(zc, z0 + cw / 2), z1 - cw / 2)
        extras.append((f"collar_{k}", "collar", P.tube(zc - cw / 2, zc + cw / 2, r * p["collar_ratio"], r * 0.995, SEG)))
    # lay the shaft along X
    rot = np.array([[0.0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1]])
    return [(n, lab, (P.transform(v, rot), f)) for n, lab, (v, f) in steps + extras]


def gear_outline(n_teeth: int, module: float, tip_fraction: float) -> np.ndarray:
    """(4 * n_teeth, 2) float64, CCW: trapezoidal spur-gear outline (root 1.25 m, tip 1 m
    from the pitch circle of radius ``module * n_teeth / 2``)."""
    rp = module * n_teeth / 2
    ra, rr = rp + module, rp - 1.25 * module
    pitch = 2 * np.pi / n_teeth
    base_half = 0.5 * pitch * 0.62
    tip_half = 0.5 * pitch * tip_fraction * 0.62
    pts = []
    for k in range(n_teeth):
        a = k * pitch
        for ang, r in ((a - base_half, rr), (a - tip_half, ra), (a + tip_half, ra), (a + base_half, rr)):
            pts.append((r * np.cos(ang), r * np.sin(ang)))
    return np.asarray(pts)


def _gear(p: dict) -> list[tuple]:
    N, m, fw = p["n_teeth"], p["module"], p["face_width"]
    rp = m * N / 2
    rr = rp - 1.25 * m
    rb = min(p["bore_radius"], 0.3 * rr)
    rh = min(rb * p["hub_ratio"], 0.75 * rr)
    outline = gear_outline(N, m, p["tip_fraction"])
    teeth = P.vertical_stack([outline, outline], [0.0, fw])
    teeth = _cut(teeth, [P.cylinder([0, 0, -fw], [0, 0, 2 * fw], rr - 0.8 * m, 64)])
    web_t = fw * p["web_ratio"]
    z0 = (fw - web_t) / 2
    body = P.lathe(np.array([(rb, z0), (rr - 0.5 * m, z0), (rr - 0.5 * m, z0 + web_t), (rb, z0 + web_t)]), 64)
    cuts = []
    kw = 0.5 * rb
    if p["keyway"]:
        cuts.append(P.box([rb, 0, fw / 2], [kw * 1.2, kw, 4 * fw]))
    nl = p["n_lightening"]
    r_in, r_out = rh + 0.1 * rr, rr - 1.0 * m - 0.1 * rr
    if nl and r_out - r_in > 0.2 * rr:
        rl = min(0.45 * (r_out - r_in), 0.9 * np.sin(np.pi / nl) * (r_in + r_out) / 2 - 0.002)
        rc = (r_in + r_out) / 2
        for k in range(nl):
            a = 2 * np.pi * k / nl + np.pi / nl
            cuts.append(P.cylinder([rc * np.cos(a), rc * np.sin(a), -fw], [rc * np.cos(a), rc * np.sin(a), 2 * fw], rl, 24))
    body = _cut(body, cuts)
    parts = [("body", "gear_body", body), ("teeth", "teeth", teeth)]
    hh = p["hub_height"]
    sides = p["hub_sides"]
    for k, (za, zb) in enumerate([(z0 + web_t - 0.0005, fw + hh), (-hh, z0 + 0.0005)][:sides]):
        hub = P.lathe(np.array([(rb, za), (rh, za), (rh, zb), (rb, zb)]), 40)
        if p["keyway"]:
            hub = _cut(hub, [P.box([rb, 0, fw / 2], [kw * 1.2, kw, 4 * fw + 4 * hh])])
        parts.append((f"hub_{k}", "hub", hub))
    if p["keyway"] and p["key"]:
        zlo = -hh if sides == 2 else 0.0
        zhi = fw + hh if sides >= 1 else fw
        parts.append(("key", "key", P.box([rb + 0.05 * kw, 0, (zlo + zhi) / 2], [kw * 1.1, kw * 0.96, zhi - zlo])))
    return parts


_BUILDERS = {"flange": _flange, "bracket": _bracket, "shaft": _shaft, "gear": _gear}


def build_mechanical(shape_id: str, params: dict, normalized: bool = True) -> Shape:
    """Build the part described by ``params`` (from :func:`sample_mechanical_params`); no randomness."""
    kind = params["kind"]
    parts = tuple(Part(n, lab, v, f, f"mechanical/{kind}/{lab}") for n, lab, (v, f) in _BUILDERS[kind](params))
    shape = Shape(shape_id, "mechanical", parts, source="procedural", meta={"generator": "mechanical", "params": params})
    return normalize(shape, up="z") if normalized else shape


def generate_mechanical(shape_id: str, rng: np.random.Generator, kind: str | None = None) -> Shape:
    """A random mechanical part of ``kind`` (one of ``KINDS``; None picks one with ``rng``),
    normalized (Z up, bbox centre at 0, diagonal 1)."""
    return build_mechanical(shape_id, sample_mechanical_params(rng, kind))
