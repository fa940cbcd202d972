"""A small 3D U-Net (encoder-decoder over the voxel grid) with GroupNorm.

x : (B, in_ch, nz, ny, nx) -> (B, channels[0], nz, ny, nx). Each level halves the resolution with a
stride-2 convolution (odd sizes round up) and the decoder upsamples trilinearly to the skip's size,
so any grid size works.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _gn(ch: int) -> nn.GroupNorm:
    groups = 8 if ch % 8 == 0 else (4 if ch % 4 == 0 else 1)
    return nn.GroupNorm(groups, ch)


class ConvBlock3d(nn.Module):
    """Two 3x3x3 convolutions with GroupNorm and ReLU, with a residual connection."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, 1, 1, bias=False)
        self.norm1 = _gn(cout)
        self.conv2 = nn.Conv3d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = _gn(cout)
        self.skip = nn.Conv3d(cin, cout, 1, bias=False) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)), inplace=True)
        y = self.norm2(self.conv2(y))
        return F.relu(y + self.skip(x), inplace=True)


class UNet3D(nn.Module):
    """channels : per level, finest first, e.g. (64, 128, 256) for three levels."""

    def __init__(self, in_ch: int, channels: tuple[int, ...] = (64, 128, 256)):
        super().__init__()
        ch = [int(c) for c in channels]
        if not ch:
            raise ValueError("UNet3D needs at least one level")
        self.out_ch = ch[0]
        self.stem = ConvBlock3d(in_ch, ch[0])
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv3d(ch[i], ch[i + 1], 3, 2, 1, bias=False), _gn(ch[i + 1]), nn.ReLU(inplace=True),
                          ConvBlock3d(ch[i + 1], ch[i + 1]))
            for i in range(len(ch) - 1)
        )
        self.up = nn.ModuleList(ConvBlock3d(ch[i + 1] + ch[i], ch[i]) for i in range(len(ch) - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for i in range(len(self.up) - 1, -1, -1):
            s = skips.pop()
            y = F.interpolate(y, size=s.shape[-3:], mode="trilinear", align_corners=False)
            y = self.up[i](torch.cat([y, s], 1))
        return y
