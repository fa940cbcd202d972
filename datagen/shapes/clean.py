"""Clean a real-world part mesh so that it renders like the surface it describes.

PartNet (ShapeNet-derived) part meshes are often *double-sided* (every triangle stored
twice with opposite winding), carry patches whose winding is flipped, repeat vertices
(triangle soups) and hold degenerate faces. Rendered as they are, smooth shading averages
opposite normals into near-black patches and coincident opposite faces z-fight. Here,
pure numpy/scipy, vectorized, deterministic:

1. **weld** vertices closer than ``weld_tol`` x the part's bounding-box diagonal (each
   cluster keeps its lowest-index vertex and its coordinates);
2. drop **degenerate** faces: a repeated vertex, or a triangle thinner than the weld
   tolerance (its height over the longest edge is <= the tolerance: zero area);
3. drop exact **duplicate** faces and the second face of each **two-sided** pair (same
   three vertices, opposite winding); the first face in file order is kept;
4. drop **internal walls**: a two-sided patch whose every edge is shared with another
   face of the patch, or with single-sided faces only (3+ faces on the edge), lies between
   two solids that touch face to face (two boxes stacked in one part); without it the union
   is one closed solid;
5. make the winding **consistent** per connected component (faces connected through
   edges shared by exactly two faces; the minority orientation is flipped);
6. orient each **closed** component **outward** (positive signed volume). An open
   component has no inside to point away from (a seat sheet; an ABC hole patch, whose
   normals rightly point at its axis): it keeps its majority winding, one single-sided
   sheet, which Blender renders from both sides;
7. drop unreferenced vertices (vertex order otherwise kept, face order kept).

``clean_part`` is idempotent: cleaning its output changes nothing and reports zeros.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

DEFAULT_WELD_TOL = 1e-6  # x the part's bbox diagonal
CLEAN_VERSION = 1


@dataclass(frozen=True)
class CleanReport:
    """What ``clean_part`` changed and found (counts).

    vertices_in, faces_in, vertices_out, faces_out : sizes before and after.
    welded : vertices merged into another one. unreferenced : vertices dropped because no
    face uses them (after the other steps). degenerate : faces dropped (repeated vertex or
    zero area). duplicates : extra copies of a face with the same winding, dropped.
    two_sided : pairs of faces on the same vertices with opposite winding (one kept).
    internal_walls : faces dropped as walls between touching solids.
    flipped : kept faces whose winding was reversed (consistency + outward).
    components : connected components after cleaning; closed_components : watertight ones
    (every edge shared by exactly two faces of the component); open_components : the rest.
    non_manifold_edges : edges used by 3+ faces. inconsistent_edges : manifold edges whose
    two faces still disagree (a non-orientable surface, e.g. a Moebius strip); 0 normally.
    """

    vertices_in: int = 0
    faces_in: int = 0
    vertices_out: int = 0
    faces_out: int = 0
    welded: int = 0
    unreferenced: int = 0
    degenerate: int = 0
    duplicates: int = 0
    two_sided: int = 0
    internal_walls: int = 0
    flipped: int = 0
    components: int = 0
    closed_components: int = 0
    open_components: int = 0
    non_manifold_edges: int = 0
    inconsistent_edges: int = 0

    @property
    def changed(self) -> bool:
        """True when the geometry or the winding changed."""
        return bool(
            self.vertices_in != self.vertices_out or self.faces_in != self.faces_out or self.flipped
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CleanReport":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: int(v) for k, v in d.items() if k in names})


# --- small vectorized helpers ---------------------------------------------------------
def _row_groups(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of equal rows of a (m, k) array (lexsort; faster than ``np.unique(axis=0)``).

    Returns inverse (m,) int64 group id per row (groups in sorted-row order), first (g,)
    int64 lowest row index of each group, counts (g,) int64."""
    m = len(rows)
    if m == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    order = np.lexsort(rows.T[::-1])  # stable: equal rows keep increasing index
    srt = rows[order]
    new = np.concatenate([[True], np.any(srt[1:] != srt[:-1], axis=1)])
    inverse = np.empty(m, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, m))
    return inverse, order[starts].astype(np.int64), counts.astype(np.int64)


def _weld_map(v: np.ndarray, tol: float) -> np.ndarray:
    """(n,) int64: for each vertex the lowest index of its cluster (vertices within ``tol``,
    chained)."""
    n = len(v)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # exact duplicates first (cheap), then near ones among the distinct points
    inverse, rep_u, _ = _row_groups(v)  # rep_u: lowest original index of each distinct point
    if tol > 0 and len(rep_u) > 1:
        from scipy.spatial import cKDTree

        pairs = cKDTree(v[rep_u]).query_pairs(tol, output_type="ndarray")
        if len(pairs):
            lab = _components(len(rep_u), pairs[:, 0], pairs[:, 1])
            lowest = np.full(lab.max() + 1, n, dtype=np.int64)
            np.minimum.at(lowest, lab, rep_u)
            rep_u = lowest[lab]
    return rep_u[inverse]


def _edges(f: np.ndarray):
    """Edge incidences of triangles f (m, 3).

    Returns edge_id (3m,) int64 (undirected edges numbered 0..E-1), counts (E,), face
    (3m,) owning face, forward (3m,) bool (the face runs the edge from its lower to its
    higher vertex index). Incidence 3i+k is edge (f[i,k], f[i,(k+1)%3])."""
    a = f.reshape(-1)
    b = f[:, [1, 2, 0]].reshape(-1)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    n = int(f.max()) + 1 if f.size else 1
    key = lo * n + hi
    _, edge_id, counts = np.unique(key, return_inverse=True, return_counts=True)
    face = np.repeat(np.arange(len(f)), 3)
    return edge_id.reshape(-1), counts, face, a < b


def _pairs_of_manifold_edges(edge_id: np.ndarray, counts: np.ndarray):
    """For edges used exactly twice: the two incidence indices (p, q), each (e2,)."""
    order = np.argsort(edge_id, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    two = np.flatnonzero(counts == 2)
    return order[starts[two]], order[starts[two] + 1]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    return lab.astype(np.int64)


def _tree_parity(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, comp: np.ndarray) -> np.ndarray:
    """Per node, whether it must flip relative to the lowest node of its component so
    that, along a spanning forest of the graph (a, b), ``flip[a] ^ flip[b] == w``.

    A forest has no cycles, so the double cover of its edges always splits each
    component in two: node i is "same" as the component's root when (i, 0) and
    (root, 0) fall in one cover component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    if len(a) == 0:
        return np.zeros(n, dtype=bool)
    # unit weights: Kruskal over edges in a fixed order, so deterministic
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
    t = minimum_spanning_tree(g).tocoo()
    ta, tb = t.row.astype(np.int64), t.col.astype(np.int64)
    # the relative flip of a tree edge: look it up among the input edges
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key_in = lo * n + hi
    order = np.argsort(key_in, kind="stable")
    key_t = np.minimum(ta, tb) * n + np.maximum(ta, tb)
    wt = w[order[np.searchsorted(key_in[order], key_t)]]
    # double cover: node i -> (i, 0) = i and (i, 1) = n + i
    src = np.concatenate([ta, n + ta])
    dst = np.concatenate([np.where(wt, n + tb, tb), np.where(wt, tb, n + tb)])
    lab = _components(2 * n, src, dst)
    root = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(root, comp, np.arange(n))
    return lab[:n] != lab[root[comp]]


# --- the cleaner ------------------------------------------------------------------------
def clean_part(
    vertices: np.ndarray,
    faces: np.ndarray,
    weld_tol: float = DEFAULT_WELD_TOL,
    orient: bool = True,
) -> tuple[np.ndarray, np.ndarray, CleanReport]:
    """Clean one part mesh (see the module docstring for the steps).

    vertices : (n, 3) float64, any units (source or metres).
    faces : (k, 3) int64, 0-based indices into ``vertices``.
    weld_tol : float >= 0, weld distance as a fraction of the bbox diagonal of ``vertices``
        (1e-6 merges the copies ShapeNet/STL files repeat, not real detail).
    orient : make winding consistent and closed components outward (steps 5-6).
    Returns vertices (n', 3) float64 (a subset of the input rows, in input order),
    faces (k', 3) int64 (the surviving faces in input order, some reversed) and a
    ``CleanReport``. Raises ``ValueError`` for bad shapes or out-of-range indices.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"expected vertices (n, 3) and faces (k, 3), got {v.shape} and {f.shape}")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError(f"face index out of range [0, {len(v)})")
    if weld_tol < 0:
        raise ValueError(f"weld_tol must be >= 0, got {weld_tol}")
    counts: dict = {"vertices_in": len(v), "faces_in": len(f)}
    if len(f) == 0 or len(v) == 0:
        return v[:0].copy(), f[:0].copy(), CleanReport(**counts, unreferenced=len(v))

    # 1. weld
    diag = float(np.linalg.norm(v.max(0) - v.min(0)))
    tol = weld_tol * diag
    rep = _weld_map(v, tol)
    n_welded = len(np.unique(rep))
    counts["welded"] = len(v) - n_welded
    f = rep[f]

    # 2. degenerate: repeated vertex, or height over the longest edge <= tol
    t = v[f]
    e = np.stack([t[:, 1] - t[:, 0], t[:, 2] - t[:, 1], t[:, 0] - t[:, 2]], 1)
    longest = np.sqrt((e**2).sum(-1).max(1))
    cross = np.linalg.norm(np.cross(e[:, 0], -e[:, 2]), axis=1)
    repeated = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])
    thin = cross <= tol * longest if tol > 0 else cross <= 0
    bad = repeated | thin
    counts["degenerate"] = int(bad.sum())
    f = f[~bad]

    # 3. duplicates and two-sided pairs
    if len(f):
        s = np.sort(f, axis=1)
        group, first, gcount = _row_groups(s)
        k = np.argmin(f, axis=1)
        nxt = f[np.arange(len(f)), (k + 1) % 3]
        even = nxt == s[:, 1]  # winding parity relative to sorted order
        n_even = np.bincount(group, weights=even, minlength=len(gcount))
        both = (n_even > 0) & (n_even < gcount)
        counts["two_sided"] = int(both.sum())
        counts["duplicates"] = int((gcount - 1).sum() - both.sum())
        keep = np.zeros(len(f), dtype=bool)
        keep[first] = True
        two_sided_face = both[group] & keep
        f, two_sided_face = f[keep], two_sided_face[keep]
    else:
        two_sided_face = np.zeros(0, dtype=bool)

    # 4. internal walls between touching solids
    if two_sided_face.any():
        drop = _internal_walls(f, two_sided_face)
        counts["internal_walls"] = int(2 * drop.sum())  # both faces of each pair go
        f = f[~drop]

    # 5-6. orientation
    flipped = np.zeros(len(f), dtype=bool)
    topo = {"components": 0, "closed_components": 0, "open_components": 0, "non_manifold_edges": 0, "inconsistent_edges": 0}
    if len(f):
        f, flipped, topo = _orient(v, f, orient)
    counts["flipped"] = int(flipped.sum())
    counts.update(topo)

    # 7. compact
    used = np.unique(f)
    remap = np.full(len(v), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    out_v = v[used].copy()
    out_f = remap[f]
    counts["vertices_out"] = len(out_v)
    counts["faces_out"] = len(out_f)
    counts["unreferenced"] = n_welded - len(used)
    return out_v, out_f, CleanReport(**counts)


def _internal_walls(f: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(m,) bool: two-sided faces ``cand`` forming patches enclosed by non-manifold edges."""
    edge_id, ecount, face, _ = _edges(f)
    c = ecount[edge_id]
    cand_inc = cand[face]
    # edges shared by exactly two faces: who is the other face?
    p, q = _pairs_of_manifold_edges(edge_id, ecount)
    other = np.full(len(edge_id), -1, dtype=np.int64)
    other[p], other[q] = face[q], face[p]
    # a candidate incidence is "open" on a boundary edge, on a manifold edge to a
    # non-candidate, or on a non-manifold edge that another two-sided face also uses (walls
    # separate single-sided solids; double-sided solids that touch are not walls)
    cand_per_edge = np.bincount(edge_id, weights=cand_inc, minlength=len(ecount))[edge_id]
    open_inc = cand_inc & ((c == 1) | ((c == 2) & ~cand[np.maximum(other, 0)]) | ((c >= 3) & (cand_per_edge > 1)))
    # patches: candidates joined through manifold edges between candidates
    link = (c == 2) & cand_inc & (other >= 0) & cand[np.maximum(other, 0)]
    lab = _components(len(f), face[link], other[link])
    bad_patch = np.zeros(lab.max() + 1, dtype=bool)
    bad_patch[lab[face[open_inc]]] = True
    has_nm = np.zeros(lab.max() + 1, dtype=bool)
    has_nm[lab[face[cand_inc & (c >= 3)]]] = True
    return cand & ~bad_patch[lab] & has_nm[lab]


def _orient(v: np.ndarray, f: np.ndarray, orient: bool):
    """Consistent winding per component, closed components outward."""
    m = len(f)
    edge_id, ecount, face, fwd = _edges(f)
    p, q = _pairs_of_manifold_edges(edge_id, ecount)
    a, b = face[p], face[q]
    same_dir = fwd[p] == fwd[q]  # both faces run the edge the same way: inconsistent
    loop = a == b  # a face using one edge twice cannot happen after step 2; guard anyway
    a, b, same_dir = a[~loop], b[~loop], same_dir[~loop]
    comp = _components(m, a, b)
    ncomp = int(comp.max()) + 1
    flip = np.zeros(m, dtype=bool)
    if orient:
        rel = _tree_parity(m, a, b, same_dir, comp)
        # flip the minority of each component (ties: keep the lowest face's side)
        n_rel = np.bincount(comp, weights=rel, minlength=ncomp)
        n_all = np.bincount(comp, minlength=ncomp)
        flip = rel ^ (n_rel > n_all - n_rel)[comp]
    g = np.where(flip[:, None], f[:, [0, 2, 1]], f)

    # closed: every (component, edge) used exactly twice within the component
    ce = comp[face] * (int(edge_id.max()) + 1) + edge_id
    _, cinv, ccount = np.unique(ce, return_inverse=True, return_counts=True)
    ok = ccount[cinv.reshape(-1)] == 2
    closed = np.ones(ncomp, dtype=bool)
    closed[comp[face[~ok]]] = False

    if orient:
        # closed components outward: signed volume about the component's centroid
        tri = v[g]
        area2 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        w = np.maximum(np.bincount(comp, weights=area2, minlength=ncomp), 1e-300)
        cen = np.stack([np.bincount(comp, weights=area2 * tri[:, :, k].mean(1), minlength=ncomp) for k in range(3)], 1) / w[:, None]
        rel_t = tri - cen[comp][:, None, :]
        vol6 = np.einsum("ij,ij->i", rel_t[:, 0], np.cross(rel_t[:, 1], rel_t[:, 2]))
        vol = np.bincount(comp, weights=vol6, minlength=ncomp)
        inward = closed & (vol < 0)
        flip ^= inward[comp]
        g = np.where(flip[:, None], f[:, [0, 2, 1]], f)

    # inconsistent manifold edges left (non-orientable surfaces)
    fwd2 = fwd ^ flip[face]
    inconsistent = int(np.sum(fwd2[p] == fwd2[q]))
    topo = {
        "components": ncomp,
        "closed_components": int(closed.sum()),
        "open_components": int(ncomp - closed.sum()),
        "non_manifold_edges": int((ecount >= 3).sum()),
        "inconsistent_edges": inconsistent,
    }
    return g, flip, topo


def clean_record(reports: dict[str, CleanReport], weld_tol: float = DEFAULT_WELD_TOL) -> dict:
    """The ``meta['clean']`` record of a shape: parameters and one report per part name."""
    return {
        "version": CLEAN_VERSION,
        "weld_tol": weld_tol,
        "parts": {name: r.to_dict() for name, r in reports.items()},
    }


def clean_shape(shape, weld_tol: float = DEFAULT_WELD_TOL):
    """``clean_part`` on every part of a ``Shape``; returns a new Shape.

    ``meta['clean']`` records the parameters and one ``CleanReport`` dict per part (see
    ``clean_record``); a part left without faces (all degenerate) is dropped and listed in
    ``meta['clean']['dropped_parts']``. Raises ``ValueError`` when no part is left.
    """
    reports: dict[str, CleanReport] = {}
    parts, dropped = [], []
    for p in shape.parts:
        v, f, rep = clean_part(p.vertices, p.faces, weld_tol=weld_tol)
        reports[p.name] = rep
        if len(f) == 0:
            dropped.append(p.name)
            continue
        parts.append(p.with_geometry(v, f))
    if not parts:
        raise ValueError(f"shape {shape.id}: no faces left after cleaning (all degenerate)")
    record = clean_record(reports, weld_tol)
    if dropped:
        record["dropped_parts"] = dropped
    return shape.replace(parts=tuple(parts), meta={**shape.meta, "clean": record})
