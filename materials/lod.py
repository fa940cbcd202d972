"""Resolution-aware level of detail for the procedural presets' bump (pure Python, no bpy).

A Bump node evaluates its height subtree three times per shading point, and a height pattern
finer than a few pixels adds sub-pixel variance that keeps Cycles' adaptive sampler going
while it averages out in the final pixel. A weak bump on such a pattern is invisible and costs
about a fifth of the path-tracing time of a chair with the material library; a strong one
still shifts the mean shade of its pixels (by 1-2 of 255) and is kept. The rule, measured on
``benchmarks/render_throughput.py --materials preset`` (benchmarks/RESULTS.md): drop the bump
of a preset whose height features are finer than ``lod_px`` pixels in the view that sees them
largest and whose strength is under ``WEAK_BUMP``.

``bump_period`` follows the height signals built in ``blender_scripts/materials.py`` (one
branch per substance): the spacing of the pattern that dominates each one, in metres of
object space (the presets are placed in object coordinates).
"""

from __future__ import annotations

import numpy as np

#: Bump strengths below this are dropped when their pattern is finer than ``lod_px`` pixels.
WEAK_BUMP = 0.25


def bump_period(params: dict) -> float:
    """Metres between the features of a procedural preset's bump height (``inf`` if unknown)."""
    sub, s, pattern = params.get("substance"), float(params.get("scale", 1.0)), params.get("pattern")
    if sub == "wood":  # grain noise across the fibres (rings are coarser)
        return 1.0 / float(params["grain_scale"])
    if sub == "fabric":  # one weave period per 1 / scale (canvas is 0.6x coarser)
        return 1.0 / (s * (0.6 if pattern == "canvas" else 1.0))
    if sub == "leather":  # grain cells
        return 1.0 / s
    if sub == "plastic":  # Voronoi bumps at 1.5 scale, else the noise at 2 scale
        return 1.0 / (1.5 * s if pattern == "textured" else 2.0 * s)
    if sub == "metal":
        if pattern == "brushed":  # streak noise (scale 2) squeezed across the brushing direction
            return 1.0 / (2.0 * float(params.get("streak_stretch", 1.0)))
        if pattern == "hammered":  # dents
            return 1.0 / s
        return 1.0 / (3.0 * s)  # polished / oxidized: fine noise
    return float("inf")


def pixel_size(cameras, points: np.ndarray) -> float:
    """Metres per pixel on the nearest of ``points`` ((n, 3) world) in the camera that sees them
    largest: min over cameras of (nearest depth in front) / focal length. ``inf`` if none is in
    front of any camera."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    best = float("inf")
    for cam in cameras:
        z = pts @ cam.world_to_camera[2, :3] + cam.world_to_camera[2, 3]
        z = z[z > 1e-6]
        if z.size:
            best = min(best, float(z.min()) / float(max(cam.K[0, 0], cam.K[1, 1])))
    return best


def keep_bump(params: dict, pixel_m: float | None, lod_px: float) -> bool:
    """Whether a preset keeps its Bump node when its object is seen at ``pixel_m`` metres per pixel."""
    if lod_px <= 0 or pixel_m is None or not np.isfinite(pixel_m):
        return True
    return float(params.get("bump", 0.0)) >= WEAK_BUMP or bump_period(params) >= lod_px * pixel_m


def bbox_corners(vertices: np.ndarray) -> np.ndarray:
    """(8, 3) corners of the axis-aligned box of ``vertices`` ((n, 3))."""
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    lo, hi = v.min(axis=0), v.max(axis=0)
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
