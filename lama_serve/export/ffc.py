"""Fast Fourier Convolution blocks of big-lama (advimman/lama `ffc.py`), reduced to the
inference configuration (no LFU, no gating, no spatial transform) with the official
module names, so the state_dict keys match the released checkpoints."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lama_serve.export.spectral import MatmulDFT, TorchFFT

FeaturePair = tuple[Tensor, Tensor | int]  # (local, global); 0 stands for "no global part"


class FourierUnit(nn.Module):
    """1x1 conv + BN + ReLU in the frequency domain; re/im interleaved per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_layer = nn.Conv2d(channels * 2, channels * 2, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(channels * 2)
        self.relu = nn.ReLU(inplace=True)
        # A plain attribute, not a submodule: it owns no weights. Swapped at export time.
        self.spectral: TorchFFT | MatmulDFT = TorchFFT()

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        real, imag = self.spectral.rfft2(x)
        freq = torch.stack((real, imag), dim=2).reshape(b, 2 * c, h, -1)
        freq = self.relu(self.bn(self.conv_layer(freq))).reshape(b, c, 2, h, -1)
        return self.spectral.irfft2(freq[:, :, 0], freq[:, :, 1], (h, w))


class SpectralTransform(nn.Module):
    """The global branch: 1x1 reduce, Fourier unit, residual, 1x1 expand."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        hidden = out_channels // 2
        self.downsample = nn.Identity()  # stride 1 everywhere global branches exist
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, hidden, kernel_size=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
        )
        self.fu = FourierUnit(hidden)
        self.conv2 = nn.Conv2d(hidden, out_channels, kernel_size=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv1(self.downsample(x))
        return self.conv2(x + self.fu(x))


def _conv_or_none(cin: int, cout: int, kernel: int, stride: int, padding: int) -> nn.Module:
    if cin == 0 or cout == 0:
        return nn.Identity()
    return nn.Conv2d(cin, cout, kernel, stride, padding, bias=False, padding_mode="reflect")


class FFC(nn.Module):
    """Four paths between local and global channel groups; absent paths are Identity."""

    def __init__(
        self, cin: int, cout: int, kernel: int, ratio_gin: float, ratio_gout: float, stride: int = 1, padding: int = 0
    ) -> None:
        super().__init__()
        in_g, out_g = int(cin * ratio_gin), int(cout * ratio_gout)
        in_l, out_l = cin - in_g, cout - out_g
        self.ratio_gout = ratio_gout
        self.convl2l = _conv_or_none(in_l, out_l, kernel, stride, padding)
        self.convl2g = _conv_or_none(in_l, out_g, kernel, stride, padding)
        self.convg2l = _conv_or_none(in_g, out_l, kernel, stride, padding)
        self.convg2g = nn.Identity() if in_g == 0 or out_g == 0 else SpectralTransform(in_g, out_g)

    def forward(self, x: Tensor | FeaturePair) -> FeaturePair:
        x_l, x_g = x if isinstance(x, tuple) else (x, 0)
        out_l: Tensor | int = 0
        out_g: Tensor | int = 0
        if self.ratio_gout != 1:
            out_l = self.convl2l(x_l) + (self.convg2l(x_g) if torch.is_tensor(x_g) else 0)
        if self.ratio_gout != 0:
            out_g = self.convl2g(x_l) + (self.convg2g(x_g) if torch.is_tensor(x_g) else 0)
        return out_l, out_g


class FFC_BN_ACT(nn.Module):
    def __init__(
        self, cin: int, cout: int, kernel: int, ratio_gin: float, ratio_gout: float, stride: int = 1, padding: int = 0
    ) -> None:
        super().__init__()
        self.ffc = FFC(cin, cout, kernel, ratio_gin, ratio_gout, stride, padding)
        out_g = int(cout * ratio_gout)
        self.bn_l = nn.Identity() if ratio_gout == 1 else nn.BatchNorm2d(cout - out_g)
        self.bn_g = nn.Identity() if ratio_gout == 0 else nn.BatchNorm2d(out_g)
        self.act_l = nn.Identity() if ratio_gout == 1 else nn.ReLU(inplace=True)
        self.act_g = nn.Identity() if ratio_gout == 0 else nn.ReLU(inplace=True)

    def forward(self, x: Tensor | FeaturePair) -> FeaturePair:
        x_l, x_g = self.ffc(x)
        out_l = self.act_l(self.bn_l(x_l)) if torch.is_tensor(x_l) else x_l
        out_g = self.act_g(self.bn_g(x_g)) if torch.is_tensor(x_g) else x_g
        return out_l, out_g


class FFCResnetBlock(nn.Module):
    def __init__(self, dim: int, ratio: float) -> None:
        super().__init__()
        self.conv1 = FFC_BN_ACT(dim, dim, 3, ratio, ratio, padding=1)
        self.conv2 = FFC_BN_ACT(dim, dim, 3, ratio, ratio, padding=1)

    def forward(self, x: FeaturePair) -> FeaturePair:
        id_l, id_g = x
        x_l, x_g = self.conv2(self.conv1(x))
        return id_l + x_l, id_g + x_g


class ConcatTupleLayer(nn.Module):
    def forward(self, x: FeaturePair) -> Tensor:
        x_l, x_g = x
        return torch.cat([x_l, x_g], dim=1) if torch.is_tensor(x_g) else x_l
