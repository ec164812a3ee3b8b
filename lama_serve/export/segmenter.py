"""The learned watermark segmenter: a small U-Net, and its served form (uint8 in, map out).

`ServedSegmenter` wraps the net with the probability-map contract's pre/post-processing
(core.contract.PROBABILITY_MAP), so the exported ONNX graph takes the gateway's uint8 NHWC
image and answers a float probability map [N, H, W, 1] with no code outside the graph.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from lama_serve.core import contract

# One U-Net level each, after a stride-2 stem: 1 + 4 halvings -> sides multiple of 32
# (the contract's). The stem keeps CPU training affordable; logits are upsampled back.
CHANNELS = (16, 32, 48, 64, 96)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SegNet(nn.Module):
    """U-Net on normalised float NCHW RGB at half resolution; answers logits [N, 1, H, W]."""

    def __init__(self, channels: tuple[int, ...] = CHANNELS) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
        inputs = (channels[0], *channels[:-1])
        self.down = nn.ModuleList(_block(cin, cout) for cin, cout in zip(inputs, channels))
        self.up = nn.ModuleList(_block(deep + skip, skip) for deep, skip in zip(channels[:0:-1], channels[-2::-1]))
        self.head = nn.Conv2d(channels[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, skips = self.stem(x), []
        for index, block in enumerate(self.down):
            x = block(x if index == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"), skip], 1))
        return nn.functional.interpolate(self.head(x), scale_factor=2.0, mode="bilinear", align_corners=False)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC RGB -> float NCHW in [-1, 1], the net's input."""
    return images.permute(0, 3, 1, 2).float() / 127.5 - 1.0


class ServedSegmenter(nn.Module):
    """The graph Triton serves: image uint8 [N,H,W,3] -> probability float32 [N,H,W,1]."""

    def __init__(self, net: SegNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(normalise(image))).permute(0, 2, 3, 1)


def export_segmenter(net: SegNet, path: Path) -> Path:
    """Write the served graph of `net` (eval mode) as ONNX with dynamic batch, height, width."""
    (image,), (probability,) = contract.PROBABILITY_MAP.inputs, contract.PROBABILITY_MAP.outputs
    path.parent.mkdir(parents=True, exist_ok=True)
    served = ServedSegmenter(net).eval()
    side = contract.PROBABILITY_MAP.spatial_multiple * 2
    example = torch.zeros(1, side, side, 3, dtype=torch.uint8)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter warns about its own deprecation
        torch.onnx.export(
            served,
            (example,),
            str(path),
            input_names=[image.name],
            output_names=[probability.name],
            opset_version=contract.ONNX_OPSET,
            dynamic_axes={image.name: image.onnx_dynamic_axes, probability.name: probability.onnx_dynamic_axes},
            dynamo=False,
        )
    return path


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
