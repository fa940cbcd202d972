"""Reference views in the BrokenChairs-180K layout: the per-shape point set, per-view visibility,
``pxy``, ``xyz`` and cameras, built from a format-v1 reference (depth + cameras + part meshes).

    export_shape(ds, "chair_000003", "chair-000003", out)    # -> out/shapes/shape_chair-000003/

Per view ``v`` of the shape, in ``shapes/shape_<sid>/mv_images/``:
  <stem>.png   256 x 256, gray in RGB (R = G = B), white background (ours resized with Lanczos if needed)
  <stem>.npy   np.save of a dict: pxy (P, 2) int64 (row, col) of the P shape points in the 256-px view;
               is_visible (P,) bool; xyz (32, 32, 3) float64 release world, -1 = background
  <stem>.json  {"K": 3x3 of the 256-px view, "RT": 4x4 release world -> OpenGL camera, "RT_": its inverse}
with ``<stem> = <sid>_<distance>_<azimuth>_<elevation>`` (release frame, whole degrees).

The P points (default 2000) are one set per shape, area-weighted on the part meshes stored with the
reference (``<ds>/shapes/<id>/``), seeded by the shape id and P, so a rerun gives the same points.
A point is visible in a view when our depth, interpolated at its projection (1/z bilinear between
pixel centres), agrees with the point's camera z within 0.5 % (1 cm at 2 m; at silhouettes the
pixel holding it, within 0.5 % plus the local depth spread), and its pxy is inside [0, 256).
Against exact ray casting on the synthetic box chairs at 64 px: about 3 % false visible, and
5-15 % false hidden (mostly points on faces seen edge-on).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.dataset import format as F
from datagen.dataset.reader import Dataset
from datagen.errors import InputError
import datagen.export.looking3d_layout as L
from datagen.io import atomic_dir
from datagen.seeding import rng_for
from datagen.shapes.library import read_shape
from datagen.shapes.model import Shape
from datagen.spec import Camera

PNG_LEVEL = 3  # zlib level of exported PNGs (speed vs size)
VIS_REL_TOL = 0.005  # visibility: depth agreement, relative to the camera z (1 cm at 2 m)


def surface_points(vertices_faces, n: int, rng: np.random.Generator) -> np.ndarray:
    """Area-weighted uniform points on triangle meshes.

    vertices_faces : [(vertices (v, 3) float metres, faces (f, 3) int)], one per part, our world.
    Returns (n, 3) float64 points, our world (Z-up), metres.
    """
    tris = np.concatenate([np.asarray(v, np.float64)[np.asarray(f, np.int64)] for v, f in vertices_faces])
    area = 0.5 * np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
    if not area.sum() > 0:
        raise ValueError("meshes have no area")
    idx = rng.choice(len(tris), size=n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    a, b, c = 1 - s, s * (1 - r2), s * r2
    t = tris[idx]
    return a[:, None] * t[:, 0] + b[:, None] * t[:, 1] + c[:, None] * t[:, 2]


def points_of(shape: Shape, n: int = L.N_POINTS) -> np.ndarray:
    """The P = n points of ``shape`` (seeded by its id and n): (n, 3) float64, our world, metres."""
    return surface_points([(p.vertices, p.faces) for p in shape.parts], n, rng_for("looking3d-points", shape.id, n))


def shape_points(shape_dir: Path, n: int = L.N_POINTS) -> np.ndarray:
    """``points_of`` the shape stored in ``shape_dir`` (a shape library folder)."""
    return points_of(read_shape(shape_dir), n)


def scaled_camera(cam: Camera, size: int = L.VIEW_SIZE) -> Camera:
    """The same camera for an image resized to size x size (K scaled; pixel corners stay corners)."""
    S = np.diag([size / cam.width, size / cam.height, 1.0])
    return Camera(S @ cam.K, cam.world_to_camera, size, size)


def visibility(points: np.ndarray, depth: np.ndarray, cam: Camera, rel_tol: float = VIS_REL_TOL) -> np.ndarray:
    """points : (P, 3) our world; depth : (H, W) planar z (0 = none); cam : that view's Camera.

    Returns (P,) bool: the point is the first surface seen. Where the 4 pixel centres around its
    projection all see a surface, the depth there is interpolated (bilinear in 1/z, exact on planes)
    and must agree with the point's camera z within ``rel_tol * z``; at silhouettes the pixel holding
    the projection must see a surface within ``rel_tol * z`` plus the depth spread of its neighbours.
    """
    H, W = depth.shape
    uv, z = cam.project(points)
    ok = np.isfinite(uv).all(1) & (z > 1e-6)
    u, v = np.where(ok, uv[:, 0], -1.0), np.where(ok, uv[:, 1], -1.0)
    ok &= (u >= 0) & (u < W) & (v >= 0) & (v < H)
    x, y = u - 0.5, v - 0.5  # pixel-centre grid
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    corners = [(0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)]
    D = np.stack([depth[np.clip(y0 + dy, 0, H - 1), np.clip(x0 + dx, 0, W - 1)] for dy, dx, _ in corners]).astype(np.float64)
    wts = np.stack([w for _, _, w in corners])
    fg = D > 0
    tol = rel_tol * z
    inner = fg.all(0)
    interp = 1.0 / (wts / np.where(fg, D, 1.0)).sum(0)
    own = depth[np.clip(np.floor(v).astype(np.int64), 0, H - 1), np.clip(np.floor(u).astype(np.int64), 0, W - 1)]
    spread = np.where(fg, D, -np.inf).max(0) - np.where(fg, D, np.inf).min(0)
    spread = np.where(fg.any(0), spread, 0.0)
    edge = ~inner & (own > 0) & (np.abs(own - z) <= tol + spread)
    return ok & ((inner & (np.abs(interp - z) <= tol)) | edge)


def view_pxy(points: np.ndarray, cam256: Camera) -> np.ndarray:
    """(P, 3) our world -> (P, 2) int64 (row, col) = rounded pixel position in the 256-px view."""
    uv, _ = cam256.project(points)
    uv = np.nan_to_num(uv, nan=-1.0, posinf=-1.0, neginf=-1.0)
    return np.stack([np.round(uv[:, 1]), np.round(uv[:, 0])], axis=1).astype(np.int64)


def view_xyz(depth: np.ndarray, cam: Camera) -> np.ndarray:
    """(32, 32, 3) float64 release-world points: cell (r, c) = the surface seen at pixel (8r, 8c) of the
    256-px view (our depth at that pixel, back-projected through that exact position); -1 = background."""
    H, W = depth.shape
    g = np.arange(L.GRID) * L.STRIDE
    u = np.broadcast_to(g[None, :] * (W / L.VIEW_SIZE), (L.GRID, L.GRID))  # continuous, our frame
    v = np.broadcast_to(g[:, None] * (H / L.VIEW_SIZE), (L.GRID, L.GRID))
    d = depth[np.clip(np.floor(v).astype(int), 0, H - 1), np.clip(np.floor(u).astype(int), 0, W - 1)].astype(np.float64)
    rays = np.stack([u, v, np.ones_like(u)], -1) @ L.intrinsics_inverse(cam.K).T
    camp = rays * d[..., None]
    world = (camp - cam.world_to_camera[:3, 3]) @ cam.world_to_camera[:3, :3]
    out = L.to_release(world)
    out[d <= 0] = -1.0
    return out


def camera_angles(cam: Camera, meta_cam: dict) -> tuple[float, float, float]:
    """(radius m, azimuth rad, elevation rad), ours: from meta.camera where given, else from the position."""
    pos = L.camera_position(cam.world_to_camera)
    r = float(np.linalg.norm(pos))
    radius = float(meta_cam.get("radius", r))
    az = float(meta_cam["azimuth"]) if "azimuth" in meta_cam else math.atan2(pos[1], pos[0])
    el = float(meta_cam["elevation"]) if "elevation" in meta_cam else math.asin(max(-1.0, min(1.0, pos[2] / r)))
    return radius, az, el


def export_shape(ds: Dataset, shape_id: str, export_id: str, out: Path, n_points: int = L.N_POINTS) -> Path:
    """Write ``out/shapes/shape_<export_id>/`` (atomically: it exists only when complete) from the
    reference of ``shape_id`` in ``ds``. InputError for fewer than 2 views, views without depth, or views
    whose pairs share too few visible points for the official loader (``L.covisible_miss``)."""
    ref = ds.reference(shape_id, cache=False)
    if len(ref.images) < 2:
        raise InputError(ref.path, f"{len(ref.images)} reference view(s); the official loader needs at least 2")
    if ref.depths is None:
        raise InputError(ref.path, "reference views without depth: cannot compute point visibility")
    shape = read_shape(ds.root / F.SHAPES_DIR / shape_id)
    pts = points_of(shape, n_points)
    final = Path(out) / "shapes" / f"shape_{export_id}"
    with atomic_dir(final) as tmp:
        mv = tmp / "mv_images"
        mv.mkdir()
        stems: set[str] = set()
        visible = []
        for i, cam in enumerate(ref.cameras):
            depth = ref.depths[i]
            c256 = scaled_camera(cam)
            radius, az, el = camera_angles(cam, {})
            az_deg, el_deg = L.release_angles(az, el)
            stem = L.view_stem(export_id, radius, L.whole_degrees(az_deg), int(round(el_deg)))
            stem = stem if stem not in stems else f"{stem}_{i}"
            stems.add(stem)
            pxy = view_pxy(pts, c256)
            vis = visibility(pts, depth, cam) & (pxy >= 0).all(1) & (pxy < L.VIEW_SIZE).all(1)
            visible.append(vis)
            np.save(mv / f"{stem}.npy", {"pxy": pxy, "is_visible": vis, "xyz": view_xyz(depth, cam)}, allow_pickle=True)
            gray = Image.fromarray(np.asarray(ref.images[i], np.uint8))
            if gray.size != (L.VIEW_SIZE, L.VIEW_SIZE):
                gray = gray.resize((L.VIEW_SIZE, L.VIEW_SIZE), Image.LANCZOS)
            gray.convert("RGB").save(mv / f"{stem}.png", compress_level=PNG_LEVEL)
            rt = L.release_rt(cam.world_to_camera)
            (mv / f"{stem}.json").write_text(json.dumps(
                {"K": c256.K.tolist(), "RT": rt.tolist(), "RT_": L.rigid_inverse(rt).tolist()}, sort_keys=True))
        bad, miss = L.covisible_miss(visible)
        if miss > L.MAX_MISS:
            raise InputError(ref.path, f"{100 * bad:.0f} % of its view pairs share < {L.MIN_COVISIBLE} visible points: "
                                       f"the official loader returns None for its samples (chance {miss:.2g} per load)")
        model_id = shape.meta.get("model_id")
        if model_id:
            (tmp / "model_id.txt").write_text(f"{model_id}\n")
    return final
