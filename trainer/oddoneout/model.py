"""The Odd-One-Out model (CVPR 2025): multi-view images -> voxel volumes -> per-object anomaly logits.

Pipeline (defaults; B scenes, V input views of H x W, grid nx, ny, nz = 96, 96, 16):
  rgb (B, V, 3, H, W) in [0, 1] -> ImageNet normalization -> ResNet-18 + FPN -> (B, V, 128, H/8, W/8)
  back-projection with the known cameras into the voxel grid, mean over the views that see each
    voxel (+ seen fraction) -> (B, 129, nz, ny, nx)
  3D U-Net (64, 128, 256) -> decoder features (B, 64, nz, ny, nx)
  heads (1x1x1 conv): density sigma = density_scale * softplus (1/metre), colour (sigmoid, 3),
    feature volume (feat_dim = 384, distilled from DINOv2 ViT-S/14 through volume rendering)
  instances (boxes: ground truth or clustered from the density, see ``instances``) -> RoI pooling of
    [decoder ; feature] volumes to 8^3 -> cross-instance top-k attention (k = 100) -> logit per object.

``forward(rgb, K, w2c)`` is the dense, ``torch.compile``-able part (no data-dependent Python control
flow); rendering (``render``), comparison (``classify``) and clustering (``predict_instances``, numpy +
scikit-learn, outside any compiled region) are separate calls that ``trainer.oddoneout.task`` chains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainer.models.resnet_fpn import ResNet18FPN, load_backbone_weights
from trainer.oddoneout.attention import InstanceComparator
from trainer.oddoneout.geometry import GridSpec, backproject
from trainer.oddoneout.instances import cluster_instances, roi_pool
from trainer.oddoneout.render import render_pixels
from trainer.oddoneout.unet3d import UNet3D

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class OddOneOutConfig:
    # 2D encoder: ResNet-18 + FPN (stride 8), as CMT's
    width: int = 64
    enc_dim: int = 128
    norm: str = "bn"  # bn | gn
    pretrained: str | None = None  # local ResNet-18 weights (never downloaded)
    # voxel grid (world-fixed; see geometry.GridSpec): the release's 96 x 96 x 16 x 0.04 m, z in [-0.32, 0.32]
    grid_dims: tuple = (96, 96, 16)
    voxel_size: float = 0.04
    grid_z_min: float = -0.32
    bp_variance: bool = False  # also back-project the per-voxel feature variance over views
    bp_rgb: bool = False  # also back-project the full-resolution input colours (mean, and variance with bp_variance)
    # 3D encoder-decoder
    unet_channels: tuple = (64, 128, 256)
    # heads
    feat_dim: int = 384  # feature volume width (DINOv2 ViT-S/14: 384); 0 = no feature volume
    density_scale: float = 25.0  # sigma = scale * softplus(raw), 1/metre
    density_bias: float = -5.0  # initial raw density (almost empty volume)
    density_gain: float = 1.0  # raw = gain * conv(decoder): > 1 speeds the density up under Adam (tiny runs)
    # volume rendering
    n_samples: int = 128
    near: float = 0.0
    far: float = 3.84
    # instances and comparison
    roi_size: int = 8
    roi_margin: float = 0.0  # grow boxes by this fraction before pooling
    roi_source: str = "both"  # decoder | feature | both
    dim: int = 128
    heads: int = 4
    blocks: int = 2
    topk: int = 100
    mlp_ratio: int = 4
    self_attn: bool = True
    # clustering of the density (predicted instances)
    occupancy: float = 0.5  # voxel opacity 1 - exp(-sigma * voxel_size) above which a voxel is occupied
    cluster_eps: float = 1.75  # DBSCAN radius in voxels
    min_voxels: int = 8
    oriented: bool = True  # yaw-oriented boxes (else axis-aligned)

    def __post_init__(self):
        self.grid_dims = tuple(int(d) for d in self.grid_dims)
        self.unet_channels = tuple(int(c) for c in self.unet_channels)
        if self.roi_source not in ("decoder", "feature", "both"):
            raise ValueError(f"roi_source must be decoder, feature or both, got {self.roi_source!r}")
        if self.roi_source != "decoder" and self.feat_dim <= 0:
            raise ValueError(f"roi_source={self.roi_source!r} needs feat_dim > 0")


class OddOneOut(nn.Module):
    uses_views = True

    def __init__(self, **kwargs):
        super().__init__()
        cfg = OddOneOutConfig(**kwargs)
        self.cfg = cfg
        self.grid = GridSpec(cfg.grid_dims, cfg.voxel_size, cfg.grid_z_min)
        self.encoder = ResNet18FPN(cfg.width, cfg.enc_dim, 3, cfg.norm)
        if cfg.pretrained:
            load_backbone_weights(self.encoder, cfg.pretrained)
        in_ch = (cfg.enc_dim + (3 if cfg.bp_rgb else 0)) * (2 if cfg.bp_variance else 1) + 1
        self.unet = UNet3D(in_ch, cfg.unet_channels)
        c0 = self.unet.out_ch
        self.density = nn.Conv3d(c0, 1, 1)
        self.color = nn.Conv3d(c0, 3, 1)
        self.feature = nn.Conv3d(c0, cfg.feat_dim, 1) if cfg.feat_dim > 0 else None
        nn.init.zeros_(self.density.weight)
        nn.init.constant_(self.density.bias, cfg.density_bias / cfg.density_gain)
        roi_ch = {"decoder": c0, "feature": cfg.feat_dim, "both": c0 + cfg.feat_dim}[cfg.roi_source]
        self.comparator = InstanceComparator(roi_ch, cfg.roi_size**3, cfg.dim, cfg.heads, cfg.blocks, cfg.topk,
                                             cfg.mlp_ratio, cfg.self_attn)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def args(self) -> dict:
        """Constructor arguments (stored in checkpoints so a run can rebuild the model)."""
        d = asdict(self.cfg)
        d["grid_dims"], d["unet_channels"] = list(d["grid_dims"]), list(d["unet_channels"])
        return d

    def forward(self, rgb: torch.Tensor, K: torch.Tensor, w2c: torch.Tensor) -> dict:
        """Encode the input views into volumes.

        rgb : (B, V, 3, H, W) float in [0, 1] (H, W multiples of 32); K : (B, V, 3, 3) pixels of that
        image; w2c : (B, V, 4, 4) OpenCV world_to_camera. Returns volumes (B, C, nz, ny, nx):
        "sigma" (C=1) float32 density 1/metre, "color" (3) float32 in [0, 1], "feat" (feat_dim) or None,
        "decoder" (unet_channels[0]).
        """
        B, V, _, H, W = rgb.shape
        x = (rgb.flatten(0, 1) - self.mean.to(rgb.dtype)) / self.std.to(rgb.dtype)
        f = self.encoder(x)  # (B*V, C, H/8, W/8)
        f = f.view(B, V, *f.shape[1:])
        vol = backproject(f, K, w2c, (H, W), self.grid, variance=self.cfg.bp_variance)  # (B, C+1[+C], nz, ny, nx)
        if self.cfg.bp_rgb:
            c = backproject(x.view(B, V, 3, H, W), K, w2c, (H, W), self.grid, variance=self.cfg.bp_variance)
            vol = torch.cat([vol, c[:, :3], c[:, 4:]], 1)  # colour mean (and variance); drop the second seen fraction
        dec = self.unet(vol.to(f.dtype))  # (B, c0, nz, ny, nx)
        return {
            "sigma": self.cfg.density_scale * F.softplus(self.cfg.density_gain * self.density(dec).float()),
            "color": torch.sigmoid(self.color(dec).float()),
            "feat": self.feature(dec) if self.feature is not None else None,
            "decoder": dec,
        }

    def render(self, vols: dict, pix: torch.Tensor, K: torch.Tensor, w2c: torch.Tensor, stratified: bool = False,
               features: bool = True, chunk: int = 0) -> dict:
        """Volume-render pixels of (held-out) views: pix : (B, V, R, 2) pixels (x, y); K : (B, V, 3, 3);
        w2c : (B, V, 4, 4). Returns ``render.render_rays``'s dict (silhouette, depth, rgb, feat), float32."""
        feat = vols["feat"] if features else None
        return render_pixels(vols["sigma"], vols["color"], feat, pix, K, w2c, self.grid, self.cfg.n_samples,
                             self.cfg.near, self.cfg.far, stratified, chunk)

    def roi_volume(self, vols: dict) -> torch.Tensor:
        """The volume the instances are pooled from: (B, C_roi, nz, ny, nx)."""
        src = self.cfg.roi_source
        if src == "decoder":
            return vols["decoder"]
        if src == "feature":
            return vols["feat"]
        return torch.cat([vols["decoder"], vols["feat"].to(vols["decoder"].dtype)], 1)

    def classify(self, vols: dict, boxes: torch.Tensor, box_mask: torch.Tensor) -> torch.Tensor:
        """Anomaly logits of instances: boxes : (B, M, 7) [cx, cy, cz, dx, dy, dz, yaw] world metres /
        radians; box_mask : (B, M) bool (real boxes). Returns (B, M) float32 (padding slots: garbage)."""
        roi = roi_pool(self.roi_volume(vols), boxes, self.grid, self.cfg.roi_size, self.cfg.roi_margin)  # (B, M, s^3, C)
        return self.comparator(roi, box_mask)

    @torch.no_grad()
    def predict_instances(self, vols: dict) -> list[np.ndarray]:
        """Boxes clustered from each scene's density: a list of B arrays (k, 7) float32."""
        c = self.cfg
        return [cluster_instances(s[0], self.grid, c.occupancy, c.cluster_eps, 1, c.min_voxels, c.oriented)
                for s in vols["sigma"].detach().float().cpu()]
