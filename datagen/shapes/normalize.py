"""The one normalization rule every shape source applies.

1. Rotate the source's axes into ours: Z up (PartNet and most OBJ/GLB files are Y up).
2. Translate so that the centre of the axis-aligned bounding box of *all* parts is at
   the origin.
3. Scale uniformly so that the bounding-box diagonal is 1 (metre).

So ``p_norm = scale * (R @ p_src - center)``; the record (``rotation``, ``center``,
``scale``) is stored in ``parts.json`` and lets anyone map back to source units.
"""

from __future__ import annotations

import numpy as np

from datagen.shapes.model import Shape

TARGET_DIAGONAL = 1.0

# Source up-axis -> rotation into Z-up (right-handed, proper rotations).
UP_ROTATIONS = {
    "z": np.eye(3),
    # Y up -> Z up: rotate +90 degrees about X: (x, y, z) -> (x, -z, y)
    "y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
    # X up -> Z up: rotate -90 degrees about Y: (x, y, z) -> (-z, y, x)
    "x": np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
}


def normalize(shape: Shape, up: str = "z", rotation: np.ndarray | None = None) -> Shape:
    """Return ``shape`` normalized by the rule above; ``meta['normalization']`` records it.

    up : "x" | "y" | "z", the source's up axis (ignored when ``rotation`` is given).
    rotation : optional (3, 3) float64, an explicit source-to-ours rotation.
    """
    if rotation is None:
        if up not in UP_ROTATIONS:
            raise ValueError(f"up axis must be one of {sorted(UP_ROTATIONS)}, got {up!r}")
        rotation = UP_ROTATIONS[up]
    R = np.asarray(rotation, dtype=np.float64)
    rotated = [p.vertices @ R.T for p in shape.parts]
    allv = np.concatenate([v for v in rotated if len(v)]) if rotated else np.zeros((0, 3))
    if len(allv) == 0:
        raise ValueError(f"shape {shape.id}: no vertices to normalize")
    lo, hi = allv.min(0), allv.max(0)
    center = (lo + hi) / 2
    diag = float(np.linalg.norm(hi - lo))
    if diag <= 0:
        raise ValueError(f"shape {shape.id}: degenerate (zero-size) bounding box")
    scale = TARGET_DIAGONAL / diag
    parts = [p.with_geometry((v - center) * scale, p.faces) for p, v in zip(shape.parts, rotated)]
    meta = dict(shape.meta)
    meta["normalization"] = {
        "rule": "p = scale * (R @ p_src - center); bbox centre at origin, bbox diagonal 1, Z up",
        "rotation": R.tolist(),
        "center": center.tolist(),
        "scale": scale,
    }
    return shape.replace(parts=tuple(parts), meta=meta)


def is_normalized(shape: Shape, tol: float = 1e-6) -> bool:
    lo, hi = shape.bounds
    return bool(np.allclose((lo + hi) / 2, 0, atol=tol) and abs(np.linalg.norm(hi - lo) - TARGET_DIAGONAL) < tol)
