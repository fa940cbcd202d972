"""Render passes -> output arrays and files (numpy + Pillow only; no bpy).

Blender writes each view as one multilayer EXR (32-bit float) holding ``Combined``
(linear Rec.709 RGBA, premultiplied, transparent film), ``Depth`` (planar camera z,
1e10 where nothing was hit) and ``Object Index``. From it we make, without Blender's
compositor or colour management (so results are exact and deterministic):

- rgb : (H, W, 3) uint8 sRGB composited over exact white; (H, W, 4) straight-alpha RGBA
  for a transparent background; (H, W) uint8 luminance for grayscale ((H, W, 2) LA if
  also transparent). The transfer curve is sRGB ("Standard" view transform), no dither.
  A plain floor on a white background is exposed white (``floor_gain``): the camera's exposure
  and white balance are set on the lit floor, as in photos of objects on a white sweep.
- depth : (H, W) float32 metres, 0 where no surface.
- index : (H, W) uint16 pass indices, 0 = background or ground.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from datagen.io import atomic_save_npy, atomic_write_bytes

BACKGROUND_DEPTH = 1.0e9  # Blender writes 1e10 where a ray hits nothing
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec.709, linear
FLOOR_WHITE_PERCENTILE = 50.0  # the lit floor: most floor pixels are outside every shadow; the median is unbiased by noise
MIN_FLOOR_SHARE = 0.01  # below this share of the image, the floor sets no exposure


def channel(chans: dict, pass_name: str, comp: str) -> np.ndarray:
    """The channel ``<layer>.<pass_name>.<comp>`` of a multilayer EXR read by ``exr.read_exr``."""
    suffix = f".{pass_name}.{comp}"
    for k, v in chans.items():
        if k.endswith(suffix) or k == f"{pass_name}.{comp}":
            return v.astype(np.float32, copy=False)
    raise KeyError(f"render has no channel {pass_name}.{comp} (has {sorted(chans)})")


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear [0, 1] float -> uint8 sRGB (IEC 61966-2-1 curve), clipped, rounded."""
    x = np.clip(linear, 0.0, 1.0)
    s = np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)
    return np.round(s * 255.0).astype(np.uint8)


def floor_gain(rgb: np.ndarray, alpha: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(3,) float32 per-channel gain that takes the lit floor to white (1, 1, 1).

    rgb : (H, W, 3) linear premultiplied; alpha : (H, W); index : (H, W) pass indices (0 = floor or
    background). Floor pixels are the opaque ones of index 0; the lit floor is the
    ``FLOOR_WHITE_PERCENTILE`` th percentile of each channel over them (a Lambertian floor is equally
    bright wherever it is lit, and shadows and occlusion cover less than half of it in these views;
    a higher percentile would follow the render noise up). Ones when the floor covers less than
    ``MIN_FLOOR_SHARE`` of the image or a channel of it is black.
    """
    floor = (index == 0) & (alpha > 0.999)
    if floor.sum() < MIN_FLOOR_SHARE * floor.size:
        return np.ones(3, np.float32)
    lit = np.percentile(rgb[floor], FLOOR_WHITE_PERCENTILE, axis=0)
    return np.where(lit > 1e-6, 1.0 / np.maximum(lit, 1e-6), 1.0).astype(np.float32)


def color_image(chans: dict, background: str, grayscale: bool, expose_floor: bool = False) -> np.ndarray:
    """uint8 image from the premultiplied linear ``Combined`` pass (see module docstring).
    expose_floor : scale the linear image by ``floor_gain`` (needs the ``Object Index`` pass), so the
    lit floor is white and its shadows stay: the look of the Looking 3D release."""
    rgb = np.stack([channel(chans, "Combined", c) for c in "RGB"], -1)
    a = channel(chans, "Combined", "A")
    if expose_floor:
        rgb = rgb * floor_gain(rgb, a, index_map(chans))
    if background == "world":  # the film is opaque: the environment is in the pixels already
        return srgb_encode(rgb @ LUMA) if grayscale else srgb_encode(rgb)
    if background == "white":
        lin = rgb + (1.0 - np.clip(a, 0.0, 1.0))[..., None]  # "over" a white (1, 1, 1) backdrop
        return srgb_encode(lin @ LUMA) if grayscale else srgb_encode(lin)
    with np.errstate(divide="ignore", invalid="ignore"):
        straight = np.where(a[..., None] > 1e-6, rgb / a[..., None], 0.0)
    alpha = np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    if grayscale:
        return np.stack([srgb_encode(straight @ LUMA), alpha], -1)
    return np.concatenate([srgb_encode(straight), alpha[..., None]], -1)


def depth_map(chans: dict) -> np.ndarray:
    """(H, W) float32 planar z in metres, 0 where no surface."""
    z = channel(chans, "Depth", "Z")
    return np.where((z > 0) & (z < BACKGROUND_DEPTH), z, 0.0).astype(np.float32)


def index_map(chans: dict) -> np.ndarray:
    """(H, W) uint16 from the exact ``Object Index`` pass."""
    return np.round(channel(chans, "Object Index", "X")).astype(np.uint16)


def encode_index_color(index: int) -> tuple[float, float, float, float]:
    """Object colour that carries ``index`` through a flat, unlit Workbench render."""
    return ((index & 0xFF) / 255.0, ((index >> 8) & 0xFF) / 255.0, 0.0, 1.0)


def index_from_color(chans: dict) -> np.ndarray:
    """(H, W) uint16 decoded from a flat Workbench render of ``encode_index_color`` colours."""
    r = np.round(channel(chans, "Combined", "R") * 255.0).astype(np.int64)
    g = np.round(channel(chans, "Combined", "G") * 255.0).astype(np.int64)
    a = channel(chans, "Combined", "A")
    idx = np.where(a > 0.5, r + 256 * g, 0)
    return np.clip(idx, 0, 65535).astype(np.uint16)


def png_bytes(img: np.ndarray) -> bytes:
    """PNG of uint8 (H, W) L, (H, W, 2) LA, (H, W, 3) RGB, (H, W, 4) RGBA or uint16 (H, W)."""
    if img.dtype not in (np.uint8, np.uint16) or (img.dtype == np.uint16 and img.ndim != 2):
        raise ValueError(f"cannot write {img.dtype} {img.shape} as PNG")
    pil = Image.fromarray(np.ascontiguousarray(img))  # mode from dtype and channels
    buf = io.BytesIO()
    pil.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def write_view(out_dir: str | os.PathLike, name: str, rgb=None, depth=None, index=None) -> dict:
    """Atomically write ``<name>.png``, ``<name>_depth.npy``, ``<name>_index.png`` (those given).

    Returns ``{"rgb": path, "depth": path, "index": path}`` (str) for the files written.
    """
    out = Path(out_dir)
    files = {}
    if rgb is not None:
        files["rgb"] = str(atomic_write_bytes(out / f"{name}.png", png_bytes(rgb)))
    if depth is not None:
        files["depth"] = str(atomic_save_npy(out / f"{name}_depth.npy", depth.astype(np.float32)))
    if index is not None:
        files["index"] = str(atomic_write_bytes(out / f"{name}_index.png", png_bytes(index)))
    return files
