"""Voxel grid, camera projection, back-projection of image features, pixel rays.

Frames and conventions (dataset format v1): world Z-up, metres, floor z = 0, scene centred on the
origin; cameras OpenCV (x right, y down, z forward), ``world_to_camera`` maps world to camera
coordinates; pixel (0, 0) is the top-left pixel's corner, so pixel centres are at +0.5.

The grid is fixed in the world: ``nx * ny * nz`` cubic voxels of ``voxel_size`` metres, centred on
the origin in x and y, z from ``z_min``. The default is the Odd-One-Out release's grid,
96 x 96 x 16 voxels of 0.04 m: x, y in [-1.92, 1.92], z in [-0.32, 0.32] (the lower half lies
below the floor and learns zero density; keeping it makes the grid and the released models agree).

Volumes are stored as ``(B, C, nz, ny, nx)`` (D, H, W in ``grid_sample`` terms), so that a world
point (x, y, z) maps to the ``grid_sample`` coordinate (x -> W, y -> H, z -> D), normalized with
``align_corners=False``: the outer faces of the outer voxels are -1 and +1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class GridSpec:
    """A world-fixed voxel grid. dims : (nx, ny, nz) voxels; voxel_size : metres; z_min : metres."""

    dims: tuple[int, int, int] = (96, 96, 16)
    voxel_size: float = 0.04
    z_min: float = -0.32

    def __post_init__(self):
        dims = tuple(int(d) for d in self.dims)
        if len(dims) != 3 or min(dims) < 1:
            raise ValueError(f"grid dims must be 3 positive ints (nx, ny, nz), got {self.dims}")
        if not self.voxel_size > 0:
            raise ValueError(f"voxel_size must be positive, got {self.voxel_size}")
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "voxel_size", float(self.voxel_size))
        object.__setattr__(self, "z_min", float(self.z_min))

    @property
    def lo(self) -> tuple[float, float, float]:
        """(3,) world metres of the grid's minimum corner."""
        nx, ny, _ = self.dims
        return (-nx * self.voxel_size / 2, -ny * self.voxel_size / 2, self.z_min)

    @property
    def hi(self) -> tuple[float, float, float]:
        """(3,) world metres of the grid's maximum corner."""
        lo = self.lo
        return tuple(lo[i] + self.dims[i] * self.voxel_size for i in range(3))

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        """(nz, ny, nx): the spatial shape of a volume tensor."""
        return (self.dims[2], self.dims[1], self.dims[0])


def voxel_centers(grid: GridSpec, device=None, dtype=torch.float32) -> torch.Tensor:
    """World coordinates of the voxel centres: (nz, ny, nx, 3) float, metres, (x, y, z) order."""
    axes = [grid.lo[i] + (torch.arange(grid.dims[i], device=device, dtype=dtype) + 0.5) * grid.voxel_size for i in range(3)]
    z, y, x = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return torch.stack([x, y, z], -1)


def world_to_unit(points: torch.Tensor, grid: GridSpec) -> torch.Tensor:
    """points : (..., 3) world metres -> (..., 3) ``grid_sample`` coordinates in [-1, 1] inside the grid."""
    lo = torch.tensor(grid.lo, device=points.device, dtype=points.dtype)
    size = torch.tensor([d * grid.voxel_size for d in grid.dims], device=points.device, dtype=points.dtype)
    return (points - lo) / size * 2 - 1


def sample_volume(vol: torch.Tensor, points: torch.Tensor, grid: GridSpec) -> torch.Tensor:
    """Trilinear lookup, zero outside the grid.

    vol : (B, C, nz, ny, nx); points : (B, P, 3) world metres -> (B, P, C) in vol's dtype.
    """
    B, P, _ = points.shape
    g = world_to_unit(points, grid).to(vol.dtype).view(B, P, 1, 1, 3)
    out = F.grid_sample(vol, g, mode="bilinear", padding_mode="zeros", align_corners=False)  # (B, C, P, 1, 1)
    return out.view(B, vol.shape[1], P).transpose(1, 2)


def project(points: torch.Tensor, K: torch.Tensor, w2c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pinhole projection of world points into every view.

    points : (B, N, 3) world metres; K : (B, V, 3, 3) pixels; w2c : (B, V, 4, 4) OpenCV.
    Returns uv : (B, V, N, 2) pixels (top-left corner origin), z : (B, V, N) planar camera depth, metres.
    """
    R, t = w2c[..., :3, :3], w2c[..., :3, 3]
    cam = torch.einsum("bvij,bnj->bvni", R, points) + t[:, :, None]  # (B, V, N, 3)
    z = cam[..., 2]
    uvw = torch.einsum("bvij,bvnj->bvni", K, cam)
    uv = uvw[..., :2] / z.clamp(min=1e-6)[..., None]
    return uv, z


def backproject(feats: torch.Tensor, K: torch.Tensor, w2c: torch.Tensor, image_hw: tuple[int, int], grid: GridSpec,
                variance: bool = False, min_depth: float = 1e-3) -> torch.Tensor:
    """Average image features over the views that see each voxel centre.

    feats : (B, V, C, h, w) feature maps covering images of ``image_hw`` = (H, W) pixels (any stride);
    K : (B, V, 3, 3) pixels of the (H, W) image; w2c : (B, V, 4, 4) OpenCV.
    A view sees a voxel when its centre is in front of the camera (z > min_depth) and projects inside
    the image. Returns (B, C + 1 [+ C], nz, ny, nx): the mean feature (0 where no view sees the voxel),
    the fraction of views that see it, and with ``variance`` the per-channel variance over those views.
    Loops over views (V is static) so the peak memory is one view's samples.
    """
    B, V, C = feats.shape[:3]
    H, W = image_hw
    centers = voxel_centers(grid, feats.device, torch.float32).view(1, -1, 3).expand(B, -1, -1)  # (B, N, 3)
    N = centers.shape[1]
    uv, z = project(centers, K.float(), w2c.float())  # (B, V, N, 2), (B, V, N)
    valid = (z > min_depth) & (uv[..., 0] >= 0) & (uv[..., 0] <= W) & (uv[..., 1] >= 0) & (uv[..., 1] <= H)
    norm = torch.stack([uv[..., 0] / W, uv[..., 1] / H], -1) * 2 - 1  # (B, V, N, 2) align_corners=False
    total = feats.new_zeros(B, C, N, dtype=torch.float32)
    total_sq = feats.new_zeros(B, C, N, dtype=torch.float32) if variance else None
    count = feats.new_zeros(B, 1, N, dtype=torch.float32)
    for v in range(V):
        f = F.grid_sample(feats[:, v], norm[:, v, None].to(feats.dtype), mode="bilinear", padding_mode="zeros",
                          align_corners=False)[:, :, 0].float()  # (B, C, N)
        m = valid[:, v, None].float()  # (B, 1, N)
        total = total + f * m
        count = count + m
        if total_sq is not None:
            total_sq = total_sq + f * f * m
    mean = total / count.clamp(min=1)
    parts = [mean, count / V]
    if total_sq is not None:
        parts.append((total_sq / count.clamp(min=1) - mean * mean).clamp(min=0))
    out = torch.cat(parts, 1)  # (B, C', N)
    return out.view(B, out.shape[1], *grid.shape_zyx)


def pixel_rays(pix: torch.Tensor, K: torch.Tensor, w2c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through pixel positions, parametrized by planar depth.

    pix : (B, V, R, 2) pixels (x = column, y = row; a pixel centre is integer + 0.5);
    K : (B, V, 3, 3); w2c : (B, V, 4, 4) OpenCV.
    Returns origins (B, V, R, 3) world metres (camera centres) and directions (B, V, R, 3) world,
    scaled so that the camera-z component is 1: ``origin + t * direction`` is at planar depth t.
    """
    Kinv = torch.linalg.inv(K.float())
    R, t = w2c[..., :3, :3].float(), w2c[..., :3, 3].float()
    ones = torch.ones_like(pix[..., :1])
    d_cam = torch.einsum("bvij,bvrj->bvri", Kinv, torch.cat([pix.float(), ones], -1))  # (B, V, R, 3), z = 1
    d_world = torch.einsum("bvji,bvrj->bvri", R, d_cam)  # R^T d
    origin = -torch.einsum("bvji,bvj->bvi", R, t)  # camera centre -R^T t, (B, V, 3)
    return origin[:, :, None].expand_as(d_world), d_world


def ray_box(origins: torch.Tensor, dirs: torch.Tensor, lo, hi, near: float, far: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Slab intersection of rays with an axis-aligned box, clipped to [near, far].

    origins, dirs : (..., 3) world; lo, hi : (3,) metres. Returns t0, t1 : (...) ray parameters
    (planar depth for ``pixel_rays``); t1 == t0 where the ray misses the box.
    """
    lo = torch.as_tensor(lo, device=origins.device, dtype=origins.dtype)
    hi = torch.as_tensor(hi, device=origins.device, dtype=origins.dtype)
    safe = torch.where(dirs.abs() < 1e-9, torch.full_like(dirs, 1e-9), dirs)
    inv = 1.0 / safe
    ta, tb = (lo - origins) * inv, (hi - origins) * inv
    t0 = torch.minimum(ta, tb).amax(-1).clamp(min=near)
    t1 = torch.maximum(ta, tb).amin(-1).clamp(max=far)
    return t0, torch.maximum(t1, t0)


def random_pixels(B: int, V: int, H: int, W: int, n: int, device=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """n random pixel centres per view (with replacement): (B, V, n, 2) float32 pixels (x, y)."""
    x = torch.randint(0, W, (B, V, n), device=device, generator=generator)
    y = torch.randint(0, H, (B, V, n), device=device, generator=generator)
    return torch.stack([x, y], -1).float() + 0.5


def all_pixels(H: int, W: int, device=None) -> torch.Tensor:
    """Every pixel centre in row-major order: (H*W, 2) float32 pixels (x, y)."""
    y, x = torch.meshgrid(torch.arange(H, device=device), torch.arange(W, device=device), indexing="ij")
    return torch.stack([x, y], -1).view(-1, 2).float() + 0.5


def lookup_map(img: torch.Tensor, pix: torch.Tensor, image_hw: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """Lookup of per-view maps at pixel positions.

    img : (B, V, C, h, w), a map covering an image of ``image_hw`` = (H, W) pixels (h, w may differ
    from H, W: a feature map is sampled in normalized coordinates, i.e. upsampled bilinearly);
    pix : (B, V, R, 2) pixels (x, y) of the (H, W) image. Returns (B, V, R, C) in img's dtype.
    """
    B, V, C, h, w = img.shape
    H, W = image_hw
    g = torch.stack([pix[..., 0] / W, pix[..., 1] / H], -1) * 2 - 1  # (B, V, R, 2)
    out = F.grid_sample(img.flatten(0, 1), g.flatten(0, 1)[:, None].to(img.dtype), mode=mode, padding_mode="border",
                        align_corners=False)  # (B*V, C, 1, R)
    return out[:, :, 0].transpose(1, 2).reshape(B, V, -1, C)
