"""Differentiable volume rendering of the density, colour and feature volumes into camera rays.

For each ray (a pixel of a held-out view) ``n_samples`` points are taken between the ray's entry
into and exit from the voxel grid (clipped to [near, far], 0 .. 3.84 m by default, as the release),
at the centres of equal intervals (evaluation) or jittered inside them (training, stratified).
Values come from trilinear ``grid_sample`` lookups (zero outside the grid). With planar-depth ray
parameters t (``geometry.pixel_rays``) and spacing delta_i in metres along the ray:

    alpha_i = 1 - exp(-sigma_i delta_i),  T_i = prod_{j<i} (1 - alpha_j),  w_i = T_i alpha_i
    silhouette = sum w_i,  depth = sum w_i t_i (planar, metres; divide by silhouette for the
    surface depth),  rgb = sum w_i c_i,  feature = sum stop_grad(w_i) f_i

The feature rendering uses detached weights: the feature loss never moves the density. Everything
here runs in float32 with autocast disabled (accumulations along rays are precision-sensitive).
"""

from __future__ import annotations

import torch

from trainer.oddoneout.geometry import GridSpec, pixel_rays, ray_box, sample_volume


def render_rays(sigma: torch.Tensor, color: torch.Tensor | None, feat: torch.Tensor | None, origins: torch.Tensor,
                dirs: torch.Tensor, grid: GridSpec, n_samples: int = 128, near: float = 0.0, far: float = 3.84,
                stratified: bool = False, generator: torch.Generator | None = None) -> dict:
    """Render rays through the volumes.

    sigma : (B, 1, nz, ny, nx) density, 1/metre, >= 0 (already activated);
    color : (B, 3, nz, ny, nx) in [0, 1] or None; feat : (B, Cf, nz, ny, nx) or None;
    origins, dirs : (B, V, R, 3) world, from ``pixel_rays`` (t = planar depth).
    Returns {"silhouette": (B, V, R), "depth": (B, V, R) metres (weighted, not normalized),
    "rgb": (B, V, R, 3) or None, "feat": (B, V, R, Cf) or None, "weights": (B, V, R, S), "t": (B, V, R, S)},
    all float32.
    """
    with torch.autocast(origins.device.type, enabled=False):
        B, V, R, _ = origins.shape
        S = int(n_samples)
        o, d = origins.float(), dirs.float()
        t0, t1 = ray_box(o, d, grid.lo, grid.hi, near, far)  # (B, V, R)
        if stratified:
            u = torch.rand(B, V, R, S, device=o.device, generator=generator)
        else:
            u = torch.full((B, V, R, S), 0.5, device=o.device)
        u = (torch.arange(S, device=o.device, dtype=torch.float32) + u) / S
        span = t1 - t0
        t = t0[..., None] + span[..., None] * u  # (B, V, R, S)
        pts = o[..., None, :] + t[..., None] * d[..., None, :]  # (B, V, R, S, 3)
        pts = pts.view(B, V * R * S, 3)
        vol = sigma.float() if color is None else torch.cat([sigma.float(), color.float()], 1)
        vals = sample_volume(vol, pts, grid).view(B, V, R, S, -1)
        delta = (span / S * d.norm(dim=-1))[..., None]  # (B, V, R, 1) metres along the ray
        tau = vals[..., 0].clamp(min=0) * delta  # (B, V, R, S)
        cum = tau.cumsum(-1)
        w = torch.exp(-(cum - tau)) * (1 - torch.exp(-tau))  # T_i * alpha_i
        out = {
            "silhouette": w.sum(-1),
            "depth": (w * t).sum(-1),
            "rgb": (w[..., None] * vals[..., 1:4]).sum(-2) if color is not None else None,
            "feat": None,
            "weights": w,
            "t": t,
        }
        if feat is not None:
            f = sample_volume(feat.float(), pts, grid).view(B, V, R, S, -1)
            out["feat"] = (w.detach()[..., None] * f).sum(-2)
        return out


def render_pixels(sigma: torch.Tensor, color: torch.Tensor | None, feat: torch.Tensor | None, pix: torch.Tensor,
                  K: torch.Tensor, w2c: torch.Tensor, grid: GridSpec, n_samples: int = 128, near: float = 0.0,
                  far: float = 3.84, stratified: bool = False, chunk: int = 0) -> dict:
    """Render pixels of views: pix : (B, V, R, 2) pixels (x, y); K : (B, V, 3, 3); w2c : (B, V, 4, 4).

    chunk > 0 renders ``chunk`` rays per view at a time (evaluation of all pixels) and drops the
    per-sample "weights" and "t". Returns the dict of ``render_rays``.
    """
    o, d = pixel_rays(pix, K, w2c)
    if chunk <= 0 or pix.shape[2] <= chunk:
        return render_rays(sigma, color, feat, o, d, grid, n_samples, near, far, stratified)
    parts = [render_rays(sigma, color, feat, o[:, :, i:i + chunk], d[:, :, i:i + chunk], grid, n_samples, near, far, stratified)
             for i in range(0, pix.shape[2], chunk)]
    out = {}
    for k in ("silhouette", "depth", "rgb", "feat"):
        out[k] = None if parts[0][k] is None else torch.cat([p[k] for p in parts], 2)
    return out
