"""The fp16 variant for GPU hosts.

A naive full-fp16 cast corrupts LaMa: activations grow over 18 residual blocks and the DFT
angles need fp32. Here only the convolutions (the bulk of the FLOPs) compute in fp16; the
residual stream, the DFT and its bases, the composite and I/O stay fp32.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

PRECISIONS = ("fp32", "fp16")


class HalfConv(nn.Module):
    """Runs a conv in fp16 and hands fp32 back to the fp32 residual stream."""

    def __init__(self, conv: nn.Conv2d | nn.ConvTranspose2d) -> None:
        super().__init__()
        self.conv = conv.half()

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x.to(torch.float16)).to(torch.float32)


def to_precision(generator: nn.Module, precision: str) -> nn.Module:
    """Apply `precision` in place (after BN folding) and return the generator."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp16":
        _wrap_convs(generator)
    return generator


def _wrap_convs(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d | nn.ConvTranspose2d):
            setattr(module, name, HalfConv(child))
        else:
            _wrap_convs(child)
