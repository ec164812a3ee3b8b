"""Fold inference BatchNorms into the convolutions that feed them.

ONNX Runtime fuses Conv->BN on its own, but not a BN that follows the sum of two branches
(72 of them in big-lama's resnet blocks) nor one after ConvTranspose; folding them by hand
removes those ops from the exported graph. Works on a copy; the original keeps its keys.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from lama_serve.export.ffc import FFC_BN_ACT, SpectralTransform

ConvLike = nn.Conv2d | nn.ConvTranspose2d


def _fold(convs: list[ConvLike], bn: nn.BatchNorm2d) -> None:
    """BN(sum(conv_i(x_i))) == sum(conv'_i(x_i)); the BN shift lands in the first bias."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    for i, conv in enumerate(convs):
        out_axis = 1 if isinstance(conv, nn.ConvTranspose2d) else 0
        shape = [1] * conv.weight.dim()
        shape[out_axis] = -1
        conv.weight.mul_(scale.reshape(shape))
        bias = conv.bias * scale if conv.bias is not None else torch.zeros_like(scale)
        conv.bias = nn.Parameter(bias + shift if i == 0 else bias)


def _branch_outputs(*modules: nn.Module) -> list[ConvLike]:
    """The last conv of each present branch feeding a BN (Identity branches add nothing)."""
    convs: list[ConvLike] = []
    for module in modules:
        if isinstance(module, ConvLike):
            convs.append(module)
        elif isinstance(module, SpectralTransform):
            convs.append(module.conv2)
    return convs


@torch.no_grad()
def fold_batchnorms(generator: nn.Module) -> nn.Module:
    """A copy of `generator` in eval mode with every foldable BatchNorm replaced by Identity."""
    folded = copy.deepcopy(generator).eval()
    for block in folded.modules():
        if isinstance(block, FFC_BN_ACT):
            ffc = block.ffc
            if isinstance(block.bn_l, nn.BatchNorm2d):
                _fold(_branch_outputs(ffc.convl2l, ffc.convg2l), block.bn_l)
                block.bn_l = nn.Identity()
            if isinstance(block.bn_g, nn.BatchNorm2d):
                _fold(_branch_outputs(ffc.convl2g, ffc.convg2g), block.bn_g)
                block.bn_g = nn.Identity()
        elif isinstance(block, nn.Sequential):
            children = list(block.children())
            for i, (prev, bn) in enumerate(zip(children, children[1:])):
                if isinstance(prev, ConvLike) and isinstance(bn, nn.BatchNorm2d):
                    _fold([prev], bn)
                    block[i + 1] = nn.Identity()
    return folded
