"""Fixtures for the export tests: a tiny random generator and checkpoints in both official
formats, created here because no real weights can be downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from lama_serve.export.arch import get_arch
from lama_serve.export.checkpoint import random_generator
from lama_serve.export.generator import FFCResNetGenerator


@pytest.fixture(scope="session")
def tiny_generator() -> FFCResNetGenerator:
    return random_generator(get_arch("tiny"), seed=3).generator


def write_lightning_checkpoint(generator: nn.Module, path: Path) -> Path:
    """The layout of LaMa's best.ckpt: `state_dict` with `generator.` keys among others."""
    state = {f"generator.{k}": v for k, v in generator.state_dict().items()}
    state["discriminator.model0.0.weight"] = torch.zeros(2, 3)
    state["loss_resnet_pl.impl.conv1.weight"] = torch.zeros(1)
    torch.save({"epoch": 7, "global_step": 1000, "pytorch-lightning_version": "1.2.9", "state_dict": state}, path)
    return path


class _IopaintStyleWrapper(nn.Module):
    """IOPaint's big-lama.pt is a traced module taking (image, mask); `attribute` is where it
    keeps the generator (`generator` -> keys `generator.model.*`, `model` -> `model.model.*`,
    `inpainter.generator` -> one more level), as the real trace's nesting is unknown here."""

    def __init__(self, generator: nn.Module, attribute: str = "generator") -> None:
        super().__init__()
        outer, _, inner = attribute.partition(".")
        self.add_module(outer, _IopaintStyleWrapper(generator, inner) if inner else generator)
        self.path = attribute

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        module = self.get_submodule(self.path)
        return module(torch.cat([image * (1 - mask), mask], dim=1))


def write_torchscript_checkpoint(generator: nn.Module, path: Path, attribute: str = "generator") -> Path:
    example = (torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64))
    traced = torch.jit.trace(_IopaintStyleWrapper(generator, attribute).eval(), example, check_trace=False)
    traced.save(str(path))
    return path


@pytest.fixture
def lightning_ckpt(tiny_generator: FFCResNetGenerator, tmp_path: Path) -> Path:
    return write_lightning_checkpoint(tiny_generator, tmp_path / "best.ckpt")


@pytest.fixture
def torchscript_ckpt(tiny_generator: FFCResNetGenerator, tmp_path: Path) -> Path:
    return write_torchscript_checkpoint(tiny_generator, tmp_path / "big-lama.pt")
