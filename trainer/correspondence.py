"""Ground-truth view-view patch correspondences from depth and cameras, with an occlusion test.

A patch of view a is the feature cell (i, j) of an (h, w) grid (stride s = H / h pixels); its 3D
point is the back-projected depth at the patch's centre pixel (the same points as the dataset's
``NNNN_points.npy``). It corresponds to the patch of view b that contains its projection, if the
point is in front of camera b, inside the image, and visible there: view b's depth at that pixel
agrees with the point's depth in camera b (relative tolerance). Occluded points are dropped (-1).
Conventions: OpenCV cameras, planar z-depth in metres, 0 = background (see datagen.spec).
"""

from __future__ import annotations

import numpy as np

from datagen.dataset.writer import patch_points
from datagen.spec import Camera


def grid_points(depth: np.ndarray, camera: Camera, grid: int) -> np.ndarray:
    """depth : (H, W) float32 metres; camera : that view's Camera; grid : h (= w) patches per side.
    Returns (h, h, 3) float32 world points at patch centres (NaN = background). H must be a multiple of h."""
    H, W = depth.shape
    if H % grid or W % grid or H // grid != W // grid:
        raise ValueError(f"depth {H}x{W} is not an integer multiple of a {grid}x{grid} patch grid")
    return patch_points(depth, camera, H // grid)


def correspondences(points_a: np.ndarray, camera_b: Camera, depth_b: np.ndarray, grid_b: tuple[int, int], rel_tol: float = 0.02) -> np.ndarray:
    """Patch correspondences from view a to view b.

    points_a : (..., 3) float world points of view a's patches (NaN = none).
    camera_b : Camera of view b (its width/height match depth_b); depth_b : (H, W) float planar z, 0 = none.
    grid_b : (h, w) patch grid of view b. rel_tol : |z_b - depth_b| <= rel_tol * z_b counts as visible.
    Returns (...) int64: row-major patch index i * w + j in view b, or -1 (no surface, outside, occluded).
    """
    p = np.asarray(points_a, dtype=np.float64)
    lead = p.shape[:-1]
    p = p.reshape(-1, 3)
    H, W = depth_b.shape
    h, w = grid_b
    out = np.full(len(p), -1, dtype=np.int64)
    ok = np.isfinite(p).all(1)
    if not ok.any():
        return out.reshape(lead)
    uv, z = camera_b.project(np.where(ok[:, None], p, 0.0))
    ok &= z > 1e-6
    with np.errstate(invalid="ignore"):
        ok &= np.isfinite(uv).all(1) & (uv[:, 0] >= 0) & (uv[:, 0] < W) & (uv[:, 1] >= 0) & (uv[:, 1] < H)
    col = np.clip(np.floor(np.where(ok, uv[:, 0], 0)).astype(np.int64), 0, W - 1)
    row = np.clip(np.floor(np.where(ok, uv[:, 1], 0)).astype(np.int64), 0, H - 1)
    d = depth_b[row, col].astype(np.float64)
    ok &= (d > 0) & (np.abs(z - d) <= rel_tol * np.abs(z))
    pi = np.minimum(row * h // H, h - 1)
    pj = np.minimum(col * w // W, w - 1)
    out[ok] = (pi * w + pj)[ok]
    return out.reshape(lead)


def ring_correspondences(points: np.ndarray, cameras: list[Camera], depths: np.ndarray, rel_tol: float = 0.02) -> np.ndarray:
    """Correspondences of each view to the next one in the list (v -> (v + 1) % V).

    points : (V, h, w, 3) world patch points; cameras : V Cameras; depths : (V, H, W).
    Returns (V, h*w) int64 patch indices into view (v + 1) % V, -1 = none. All -1 when V < 2.
    """
    V, h, w = points.shape[:3]
    out = np.full((V, h * w), -1, dtype=np.int64)
    if V < 2:
        return out
    for a in range(V):
        b = (a + 1) % V
        out[a] = correspondences(points[a].reshape(-1, 3), cameras[b], depths[b], (h, w), rel_tol)
    return out
