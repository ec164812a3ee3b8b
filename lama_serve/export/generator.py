"""`FFCResNetGenerator` of big-lama, key-compatible with the official checkpoints."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lama_serve.export.arch import LamaArch
from lama_serve.export.ffc import FFC_BN_ACT, ConcatTupleLayer, FFCResnetBlock, FourierUnit
from lama_serve.export.spectral import MatmulDFT, TorchFFT


class FFCResNetGenerator(nn.Module):
    """`model.N` indices follow the official nn.Sequential layout:
    pad, init FFC, downsamplings, resnet blocks, concat, upsamplings, pad, conv, sigmoid."""

    def __init__(self, arch: LamaArch) -> None:
        super().__init__()
        ngf, cap, ratio = arch.ngf, arch.max_features, arch.ratio_global
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), FFC_BN_ACT(arch.input_nc, ngf, 7, 0, 0)]
        for i in range(arch.n_downsampling):
            mult = 2**i
            last = i == arch.n_downsampling - 1
            layers.append(
                FFC_BN_ACT(
                    min(cap, ngf * mult), min(cap, ngf * mult * 2), 3, 0, ratio if last else 0, stride=2, padding=1
                )
            )
        dim = min(cap, ngf * 2**arch.n_downsampling)
        layers += [FFCResnetBlock(dim, ratio) for _ in range(arch.n_blocks)]
        layers.append(ConcatTupleLayer())
        for i in range(arch.n_downsampling):
            mult = 2 ** (arch.n_downsampling - i)
            cout = min(cap, ngf * mult // 2)
            layers += [
                nn.ConvTranspose2d(min(cap, ngf * mult), cout, 3, 2, 1, output_padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, arch.output_nc, 7), nn.Sigmoid()]
        self.model = nn.Sequential(*layers)
        self._blocks_start = 2 + arch.n_downsampling
        self._spectral: TorchFFT | MatmulDFT = TorchFFT()

    def use_spectral(self, spectral: TorchFFT | MatmulDFT) -> None:
        """Share one transform (and so one set of DFT bases) between all Fourier units."""
        self._spectral = spectral
        for unit in self.modules():
            if isinstance(unit, FourierUnit):
                unit.spectral = spectral

    def forward(self, x: Tensor) -> Tensor:
        features = self.model[: self._blocks_start](x)
        # every Fourier unit runs at the bottleneck size: build the bases once per forward
        self._spectral.prepare(features[1] if torch.is_tensor(features[1]) else features[0])
        return self.model[self._blocks_start :](features)
