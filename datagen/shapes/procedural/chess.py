"""Procedural chess pieces with part labels and semantic paths.

Building frame: Z up, metres (a base radius of 14 to 20 mm), the piece's axis on the Z
axis, base on the floor ``z = 0``, a knight's muzzle towards -Y. ``sample_chess_piece``
draws every random choice; ``build_chess_piece`` is pure geometry (see ``assembly``).

``piece`` pawn / rook / knight / bishop / queen / king: ``chess_piece/base`` (stepped or
rounded), ``body`` (turned stem), optional ``collar``, ``head`` (ball, crenellated turret,
extruded horse head, slotted mitre, coronet, crown), optional ``finial`` (ball, cross).
"""

from __future__ import annotations

import numpy as np

import datagen.shapes.procedural.primitives as P
from datagen.shapes.procedural.assembly import PartList, chance, pick, u

PIECES = ("pawn", "rook", "knight", "bishop", "queen", "king")
_PIECE_HEIGHT = {"pawn": (2.2, 2.7), "rook": (2.4, 2.9), "knight": (2.7, 3.2), "bishop": (3.1, 3.6), "queen": (3.7, 4.2), "king": (4.0, 4.6)}
#: knight's head outline, (x, z) in units of the base radius; muzzle towards -x
_HORSE = np.array([
    [-0.45, 0.0], [0.55, 0.0], [0.6, 0.45], [0.45, 0.95], [0.2, 1.3], [0.12, 1.55], [0.0, 1.35], [-0.12, 1.5],
    [-0.25, 1.25], [-0.6, 1.05], [-0.95, 0.72], [-1.0, 0.55], [-0.75, 0.45], [-0.45, 0.5], [-0.3, 0.35],
])


def sample_chess_piece(rng: np.random.Generator) -> dict:
    """Every random choice of a chess piece (metres), JSON-serializable."""
    piece = pick(rng, PIECES, p=[0.25, 0.15, 0.15, 0.15, 0.15, 0.15])
    R = u(rng, 0.014, 0.02)
    p = {"piece": piece, "base_radius": R, "height": R * u(rng, *_PIECE_HEIGHT[piece])}
    p["base_style"] = pick(rng, ("stepped", "rounded"))
    p["base_height"] = u(rng, 0.35, 0.55)  # share of R
    p["waist"] = u(rng, 0.28, 0.4)  # stem's narrowest radius, share of R
    p["collar"] = piece != "rook" or chance(rng, 0.5)
    p["n_points"] = int(rng.integers(5, 9))  # queen's coronet
    return p


def _revolved(points, segments: int = 40) -> tuple:
    return P.revolve([(0.0, points[0][1])] + list(points) + [(0.0, points[-1][1])], segments)


def build_chess_piece(p: dict) -> PartList:
    """The chess piece of ``p`` (from :func:`sample_chess_piece`) in its building frame."""
    keys = ("base", "body", "collar", "head", "finial")
    parts = PartList("chess_piece", {k: f"chess_piece/{k}" for k in keys})
    R, H, piece = p["base_radius"], p["height"], p["piece"]
    hb = p["base_height"] * R
    if p["base_style"] == "stepped":
        prof = [(R, 0.0), (R, 0.3 * hb), (0.88 * R, 0.35 * hb), (0.88 * R, 0.7 * hb), (0.75 * R, 0.75 * hb), (0.72 * R, hb)]
    else:
        a = np.linspace(0.0, np.pi, 9)
        prof = [(R, 0.0)] + [(0.78 * R + 0.22 * R * np.sin(t), 0.1 * hb + 0.5 * hb * (1 - np.cos(t))) for t in a] + [(0.7 * R, hb)]
    parts.add("base", _revolved(prof), name="base")
    head_h = {"pawn": 0.9, "rook": 0.75, "knight": 1.55, "bishop": 1.3, "queen": 1.0, "king": 1.0}[piece] * R
    fin_h = {"bishop": 0.3, "queen": 0.35, "king": 0.7}.get(piece, 0.0) * R
    z_top_body = H - head_h - fin_h
    w = p["waist"] * R
    r_top = {"rook": 0.6, "knight": 0.55}.get(piece, 0.42) * R
    t = np.linspace(0.0, 1.0, 9)
    rs = w + (0.62 * R - w) * (1 - t) ** 2.2 + (r_top - w) * t**3
    zs = hb - 0.05 * R + t * (z_top_body - hb + 0.1 * R)
    parts.add("body", _revolved(list(zip(rs, zs)), 32), name="body")
    z = z_top_body
    if p["collar"]:
        rc, tc = r_top + 0.18 * R, 0.14 * R
        parts.add("collar", _revolved([(rc - 0.05 * R, z - tc / 2), (rc, z), (rc - 0.05 * R, z + tc / 2)]), name="collar")
    if piece == "pawn":
        parts.add("head", P.ellipsoid([0, 0, z + 0.42 * head_h], [0.5 * head_h] * 3, 24, 12), name="head")
    elif piece == "rook":
        rr = r_top + 0.05 * R
        tower = _revolved([(rr, z - 0.05 * R), (rr * 1.08, z + head_h)], 40)
        cuts = [P.cylinder([0, 0, z + 0.55 * head_h], [0, 0, z + 2 * head_h], 0.62 * rr, 24)]
        cuts += [P.box([0, 0, z + head_h], [3 * rr, 0.28 * rr, 0.7 * head_h]), P.box([0, 0, z + head_h], [0.28 * rr, 3 * rr, 0.7 * head_h])]
        parts.add("head", P.difference(tower, cuts), name="head")
    elif piece == "knight":
        v, f = P.extrude_polygon(_HORSE * R, -0.28 * R, 0.28 * R)
        v = P.transform(v, P.rotation_z(np.pi / 2)) + [0, 0, z - 0.05 * R]  # muzzle towards -Y
        parts.add("head", (v, f), name="head")
    elif piece == "bishop":
        a = np.linspace(0.0, np.pi, 11)
        prof = [(0.5 * R * np.sin(t) * (1 - 0.25 * (1 - np.cos(t))), z + 0.5 * head_h * (1 - np.cos(t))) for t in a[1:-1]]
        mitre = _revolved(prof, 32)
        # the mitre's slanted slot, cut from the front (-Y) past the axis
        slot = P.bar([-R, -1.35 * R, z + 0.55 * head_h], [R, -1.35 * R, z + 0.85 * head_h], P.rect_profile(0.12 * R, 3 * R), up=[0, 1, 0])
        parts.add("head", P.difference(mitre, [slot]), name="head")
    else:
        flare = 0.68 if piece == "queen" else 0.55
        crown = _revolved([(r_top, z - 0.05 * R), (0.45 * R, z + 0.5 * head_h), (flare * R, z + head_h), (0.5 * R, z + 1.02 * head_h)], 40)
        if piece == "queen":
            n = p["n_points"]
            balls = [P.ellipsoid([flare * R * np.cos(2 * np.pi * k / n), flare * R * np.sin(2 * np.pi * k / n), z + 1.15 * head_h], [0.17 * R] * 3, 12, 8) for k in range(n)]
            crown = P.difference(crown, balls)
        parts.add("head", crown, name="head")
    zt = z + head_h
    if piece in ("bishop", "queen"):
        rf = 0.13 * R if piece == "bishop" else 0.17 * R
        parts.add("finial", P.ellipsoid([0, 0, zt + rf * 0.7], [rf] * 3, 16, 8), name="finial")
    elif piece == "king":
        s = 0.14 * R
        cross = P.union([P.box([0, 0, zt + 0.5 * fin_h - 0.02 * R], [s, s, fin_h + 0.04 * R]), P.box([0, 0, zt + 0.65 * fin_h], [3.2 * s, s, s])])
        parts.add("finial", cross, name="finial")
    return parts
