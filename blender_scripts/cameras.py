"""OpenCV pinhole cameras (``datagen.spec.Camera``) -> Blender camera settings.

OpenCV camera axes: x right, y down, z forward. Blender camera axes: x right, y up,
looking down -z. So ``matrix_world = camera_to_world_opencv @ diag(1, -1, -1, 1)``.

Intrinsics, with ``sensor_fit = 'HORIZONTAL'`` (all sizes relative to the image width W):
``lens = fx * sensor_width / W``; the principal point ``(cx, cy)`` (pixels, top-left corner
origin, v down) is reached with ``shift_x = (W / 2 - cx) / W`` and
``shift_y = (cy - H / 2) / W`` (Blender shifts are in units of the fitted sensor side and
shift_y points up). Square pixels only: ``fx == fy`` and zero skew.
"""

from __future__ import annotations

import bpy
import mathutils
import numpy as np

from datagen.spec import Camera

SENSOR_WIDTH_MM = 36.0
_FLIP_YZ = np.diag([1.0, -1.0, -1.0, 1.0])


def blender_matrix_world(cam: Camera) -> np.ndarray:
    """(4, 4) float64 Blender camera ``matrix_world`` for an OpenCV ``world_to_camera``."""
    return np.linalg.inv(cam.world_to_camera) @ _FLIP_YZ


def intrinsics(cam: Camera, sensor_width: float = SENSOR_WIDTH_MM) -> dict:
    """Blender camera data values (lens mm, shift_x, shift_y) for ``cam.K``.

    Raises ``ValueError`` for non-square pixels (fx != fy) or a skewed K.
    """
    K = cam.K
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if abs(fx - fy) > 1e-6 * max(abs(fx), 1.0):
        raise ValueError(f"camera needs square pixels (fx == fy), got fx={fx} fy={fy}")
    if abs(K[0, 1]) > 1e-9 or K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or K[2, 2] != 1:
        raise ValueError(f"camera K must be [[fx,0,cx],[0,fy,cy],[0,0,1]], got {K.tolist()}")
    if fx <= 0:
        raise ValueError(f"camera fx must be positive, got {fx}")
    W, H = cam.width, cam.height
    return {
        "lens": float(fx * sensor_width / W),
        "sensor_width": float(sensor_width),
        "shift_x": float((W / 2.0 - cx) / W),
        "shift_y": float((cy - H / 2.0) / W),
    }


def make_camera(name: str = "camera") -> "bpy.types.Object":
    """A camera object linked to the current scene and set as its active camera."""
    scene = bpy.context.scene
    data = bpy.data.cameras.new(name)
    data.sensor_fit = "HORIZONTAL"
    data.clip_start = 0.01
    data.clip_end = 1.0e4
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    scene.camera = obj
    return obj


def apply_camera(obj: "bpy.types.Object", cam: Camera) -> None:
    """Set ``obj`` (a Blender camera) and the scene resolution to match ``cam`` exactly."""
    scene = bpy.context.scene
    vals = intrinsics(cam)
    data = obj.data
    data.type = "PERSP"
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = vals["sensor_width"]
    data.lens = vals["lens"]
    data.shift_x = vals["shift_x"]
    data.shift_y = vals["shift_y"]
    obj.matrix_world = mathutils.Matrix(blender_matrix_world(cam).tolist())  # Matrix takes rows
    r = scene.render
    r.resolution_x = cam.width
    r.resolution_y = cam.height
    r.resolution_percentage = 100
    r.pixel_aspect_x = 1.0
    r.pixel_aspect_y = 1.0
