"""Object instances: 3D boxes, their IoU and matching, instances from a density volume, RoI pooling.

A box is ``(..., 7)`` ``[cx, cy, cz, dx, dy, dz, yaw]``: centre (world metres), extents along the
box's own axes (metres; the box's x axis is world x rotated by ``yaw`` radians about world Z),
so ``dz`` is the world height. Objects in the scenes only yaw about Z.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from trainer.oddoneout.geometry import GridSpec, sample_volume, voxel_centers


def box_from_bbox3d(center, size, rotation) -> np.ndarray:
    """scene.json ``bbox3d`` (center (3,), size (3,) along the box axes, rotation (3, 3) world-from-box)
    -> (7,) float64 box. A rotation that is not a yaw about Z becomes the world AABB of the box (yaw 0)."""
    c = np.asarray(center, np.float64).reshape(3)
    s = np.asarray(size, np.float64).reshape(3)
    R = np.asarray(rotation, np.float64).reshape(3, 3)
    if abs(R[2, 2] - 1) < 1e-4:
        return np.array([*c, *s, math.atan2(R[1, 0], R[0, 0])])
    corners = (np.array([[i, j, k] for i in (-.5, .5) for j in (-.5, .5) for k in (-.5, .5)]) * s) @ R.T
    return np.array([*c, *(corners.max(0) - corners.min(0)), 0.0])


def box_corners_xy(box) -> np.ndarray:
    """(7,) box -> (4, 2) bird's-eye corners, counter-clockwise, world metres."""
    cx, cy, _, dx, dy, _, yaw = np.asarray(box, np.float64)
    local = np.array([[-dx, -dy], [dx, -dy], [dx, dy], [-dx, dy]]) / 2
    c, s = math.cos(yaw), math.sin(yaw)
    return local @ np.array([[c, s], [-s, c]]) + [cx, cy]


def _clip(poly: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Keep the part of convex polygon ``poly`` (n, 2) left of the directed edge a -> b."""
    if len(poly) == 0:
        return poly
    side = (b[0] - a[0]) * (poly[:, 1] - a[1]) - (b[1] - a[1]) * (poly[:, 0] - a[0])
    out = []
    for i in range(len(poly)):
        p, q, sp, sq = poly[i], poly[(i + 1) % len(poly)], side[i], side[(i + 1) % len(poly)]
        if sp >= 0:
            out.append(p)
        if (sp >= 0) != (sq >= 0):
            out.append(p + (q - p) * (sp / (sp - sq)))
    return np.array(out).reshape(-1, 2)


def _area(poly: np.ndarray) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def iou_3d(a, b) -> np.ndarray:
    """Exact IoU of yaw-oriented boxes: bird's-eye polygon intersection x height overlap.

    a : (n, 7), b : (m, 7) boxes -> (n, m) float64 in [0, 1].
    """
    a = np.asarray(a, np.float64).reshape(-1, 7)
    b = np.asarray(b, np.float64).reshape(-1, 7)
    out = np.zeros((len(a), len(b)))
    ca = [box_corners_xy(x) for x in a]
    cb = [box_corners_xy(x) for x in b]
    vol_a = a[:, 3:6].prod(1)
    vol_b = b[:, 3:6].prod(1)
    for i in range(len(a)):
        for j in range(len(b)):
            h = min(a[i, 2] + a[i, 5] / 2, b[j, 2] + b[j, 5] / 2) - max(a[i, 2] - a[i, 5] / 2, b[j, 2] - b[j, 5] / 2)
            if h <= 0:
                continue
            poly = ca[i]
            for k in range(4):
                poly = _clip(poly, cb[j][k], cb[j][(k + 1) % 4])
            inter = _area(poly) * h
            union = vol_a[i] + vol_b[j] - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def match_boxes(pred, gt, threshold: float = 0.25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy one-to-one matching by decreasing 3D IoU, pairs with IoU >= threshold.

    pred : (n, 7); gt : (m, 7). Returns pred_to_gt (n,) int64 (-1 = unmatched), gt_to_pred (m,) int64
    (-1 = missed) and the IoU matrix (n, m).
    """
    ious = iou_3d(pred, gt)
    p2g = np.full(ious.shape[0], -1, np.int64)
    g2p = np.full(ious.shape[1], -1, np.int64)
    if ious.size:
        for flat in np.argsort(-ious, axis=None, kind="stable"):
            i, j = divmod(int(flat), ious.shape[1])
            if ious[i, j] < threshold:
                break
            if p2g[i] < 0 and g2p[j] < 0:
                p2g[i], g2p[j] = j, i
    return p2g, g2p, ious


def points_box(points: np.ndarray, voxel_size: float, oriented: bool = True, angles: int = 18) -> np.ndarray:
    """The tightest box around voxel centres (k, 3) (each voxel is a cube of ``voxel_size``) -> (7,).

    oriented : try ``angles`` yaws in [0, pi/2) and keep the smallest bird's-eye area; else axis-aligned.
    """
    p = np.asarray(points, np.float64)
    half = voxel_size / 2
    z0, z1 = p[:, 2].min() - half, p[:, 2].max() + half
    yaws = np.arange(angles) * (math.pi / 2 / angles) if oriented else np.zeros(1)
    c, s = np.cos(yaws), np.sin(yaws)
    u = p[:, None, 0] * c + p[:, None, 1] * s  # (k, A) coordinate along the box's x axis
    v = -p[:, None, 0] * s + p[:, None, 1] * c
    du = u.max(0) - u.min(0) + voxel_size
    dv = v.max(0) - v.min(0) + voxel_size
    best = int(np.argmin(du * dv + 1e-9 * np.arange(len(yaws))))  # ties: the smallest yaw
    uc = (u[:, best].max() + u[:, best].min()) / 2
    vc = (v[:, best].max() + v[:, best].min()) / 2
    cx, cy = uc * c[best] - vc * s[best], uc * s[best] + vc * c[best]
    return np.array([cx, cy, (z0 + z1) / 2, du[best], dv[best], z1 - z0, yaws[best]])


def cluster_instances(sigma, grid: GridSpec, threshold: float = 0.5, eps_voxels: float = 1.75, min_samples: int = 1,
                      min_voxels: int = 4, oriented: bool = True) -> np.ndarray:
    """Instances of one scene from its density volume (DBSCAN on occupied voxel centres).

    sigma : (nz, ny, nx) density, 1/metre (numpy or tensor). A voxel is occupied when its own opacity
    ``1 - exp(-sigma * voxel_size)`` exceeds ``threshold``. Clusters (DBSCAN, ``eps_voxels`` voxel
    sizes, 1.75 joins the 26 neighbours) with fewer than ``min_voxels`` voxels are dropped.
    Returns (k, 7) float32 boxes, largest cluster first.
    """
    from sklearn.cluster import DBSCAN

    s = sigma.detach().float().cpu().numpy() if torch.is_tensor(sigma) else np.asarray(sigma, np.float32)
    occ = (1 - np.exp(-np.clip(s, 0, None) * grid.voxel_size)) > threshold
    if occ.sum() == 0:
        return np.zeros((0, 7), np.float32)
    centers = voxel_centers(grid).numpy()[occ]  # (k, 3)
    labels = DBSCAN(eps=eps_voxels * grid.voxel_size, min_samples=min_samples).fit_predict(centers)
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    boxes = [points_box(centers[labels == i], grid.voxel_size, oriented) for i, n in sorted(zip(ids, counts), key=lambda t: -t[1])
             if n >= min_voxels]
    return np.array(boxes, np.float32).reshape(-1, 7)


def roi_points(boxes: torch.Tensor, size: int = 8, margin: float = 0.0) -> torch.Tensor:
    """World points of an s x s x s lattice inside each box (cell centres).

    boxes : (B, M, 7); margin : grow the box by this fraction. Returns (B, M, s^3, 3), cells in
    (z, y, x) row-major order of the box's own axes.
    """
    g = (torch.arange(size, device=boxes.device, dtype=torch.float32) + 0.5) / size - 0.5
    lz, ly, lx = torch.meshgrid(g, g, g, indexing="ij")
    local = torch.stack([lx, ly, lz], -1).view(1, 1, -1, 3) * boxes[..., None, 3:6].float() * (1 + margin)  # (B, M, s^3, 3)
    yaw = boxes[..., 6].float()
    c, s = torch.cos(yaw)[..., None], torch.sin(yaw)[..., None]
    x = local[..., 0] * c - local[..., 1] * s
    y = local[..., 0] * s + local[..., 1] * c
    return torch.stack([x, y, local[..., 2]], -1) + boxes[..., None, :3].float()


def roi_pool(vol: torch.Tensor, boxes: torch.Tensor, grid: GridSpec, size: int = 8, margin: float = 0.0) -> torch.Tensor:
    """Trilinear RoI pooling of oriented boxes. vol : (B, C, nz, ny, nx); boxes : (B, M, 7)
    -> (B, M, s^3, C) in vol's dtype (zero outside the grid)."""
    B, M = boxes.shape[:2]
    pts = roi_points(boxes, size, margin).reshape(B, -1, 3)
    return sample_volume(vol, pts, grid).view(B, M, size**3, vol.shape[1])
