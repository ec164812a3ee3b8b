"""Step 1: load generator weights from the checkpoint formats users have.

- LaMa's PyTorch-Lightning `best.ckpt`: weights under `state_dict`, generator keys prefixed
  `generator.`, next to discriminator/loss modules that inference ignores.
- IOPaint's TorchScript `big-lama.pt`: a scripted wrapper; its state_dict holds the
  generator under a wrapper prefix.
Both are found by locating the official anchor key and stripping whatever prefix it has.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from lama_serve.export.arch import LamaArch
from lama_serve.export.errors import CheckpointError, CheckpointMismatchError
from lama_serve.export.generator import FFCResNetGenerator

ANCHOR_KEY = "model.1.ffc.convl2l.weight"
# Older checkpoints may lack these BN counters; they do not affect inference.
_OPTIONAL_SUFFIX = "num_batches_tracked"


@dataclass(frozen=True)
class LoadedCheckpoint:
    generator: FFCResNetGenerator
    sha256: str  # "random" for random weights
    source: str  # "lightning", "torchscript" or "random"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives are zips holding a `constants.pkl`/`code/` entry."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def read_state_dict(path: Path, trust: bool = False) -> tuple[dict[str, Tensor], str]:
    """Raw tensors of the file and its format. `trust` allows full unpickling (Lightning
    checkpoints that store Python objects besides tensors) — only for files you trust."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        if _is_torchscript(path):
            return dict(torch.jit.load(str(path), map_location="cpu").state_dict()), "torchscript"
        blob = torch.load(path, map_location="cpu", weights_only=not trust)
    except Exception as exc:  # torch raises many types for unreadable files
        hint = (
            ""
            if trust
            else (
                " If it is a Lightning checkpoint you trust that stores Python objects, re-run with --trust-checkpoint."
            )
        )
        raise CheckpointError(f"cannot read {path}: {type(exc).__name__}: {exc}.{hint}") from exc
    state = blob.get("state_dict", blob) if isinstance(blob, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds no state_dict (found {type(blob).__name__})")
    return {k: v for k, v in state.items() if isinstance(v, Tensor)}, "lightning"


def generator_prefix(state: dict[str, Tensor]) -> str:
    """The wrapper prefix of the generator keys: `generator.` (best.ckpt), whatever a trace
    nests it under (`model.`, `generator.`, `model.generator.`...) or none. The outermost
    generator wins when a file holds several (e.g. an EMA copy under a longer prefix)."""
    anchors = sorted(k for k in state if k == ANCHOR_KEY or k.endswith("." + ANCHOR_KEY))
    if anchors:
        return min(anchors, key=len)[: -len(ANCHOR_KEY)]
    if not state:
        raise CheckpointError(
            "the file holds no tensors (a frozen or optimized TorchScript "
            "module inlines its weights as constants). Pass the unfrozen "
            "big-lama.pt or LaMa's best.ckpt."
        )
    raise CheckpointError(
        f"no generator found: none of its {len(state)} keys ends with "
        f"{ANCHOR_KEY!r} (first keys: {', '.join(sorted(state)[:3])}). "
        "Pass LaMa's best.ckpt or IOPaint's big-lama.pt."
    )


def generator_weights(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The generator's tensors under the official key names (wrapper prefix stripped)."""
    prefix = generator_prefix(state)
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix + "model.")}


def build_generator(arch: LamaArch, weights: dict[str, Tensor]) -> FFCResNetGenerator:
    """Step 2: the eval-mode module, after checking every key and shape."""
    generator = FFCResNetGenerator(arch)
    expected = generator.state_dict()
    missing = [k for k in expected if k not in weights and not k.endswith(_OPTIONAL_SUFFIX)]
    unexpected = [k for k in weights if k not in expected]
    wrong = [
        (k, tuple(v.shape), tuple(expected[k].shape))
        for k, v in weights.items()
        if k in expected and v.shape != expected[k].shape
    ]
    if missing or unexpected or wrong:
        raise CheckpointMismatchError(missing, unexpected, wrong, arch.name)
    generator.load_state_dict(weights, strict=False)
    return generator.eval()


def load_checkpoint(path: Path, arch: LamaArch, trust: bool = False) -> LoadedCheckpoint:
    state, source = read_state_dict(path, trust)
    return LoadedCheckpoint(build_generator(arch, generator_weights(state)), sha256_of(path), source)


@torch.no_grad()
def random_generator(arch: LamaArch, seed: int = 0, calibration_size: int = 64) -> LoadedCheckpoint:
    """Random weights, with BatchNorm statistics calibrated on one random batch so that
    activations stay in a realistic range (raw random BN stats saturate the sigmoid, which
    would make parity checks trivially pass). Outputs are NOT meaningful inpaintings."""
    torch.manual_seed(seed)
    generator = FFCResNetGenerator(arch)
    for bn in generator.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.momentum = None  # cumulative average: one batch sets the statistics
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    image = torch.rand(2, 3, calibration_size, calibration_size)
    hole = (torch.rand(2, 1, calibration_size, calibration_size) > 0.7).float()
    generator.train()(torch.cat([image * (1 - hole), hole], dim=1))
    return LoadedCheckpoint(generator.eval(), "random", "random")
