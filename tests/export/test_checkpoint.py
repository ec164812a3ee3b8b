from pathlib import Path

import pytest
import torch

from lama_serve.export.arch import get_arch
from lama_serve.export.checkpoint import (
    ANCHOR_KEY,
    generator_prefix,
    load_checkpoint,
    read_state_dict,
    sha256_of,
)
from lama_serve.export.errors import CheckpointError, CheckpointMismatchError
from tests.export.conftest import (
    write_lightning_checkpoint,
    write_torchscript_checkpoint,
)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_lightning_checkpoint_round_trips_exactly(tiny_generator, lightning_ckpt: Path) -> None:
    loaded = load_checkpoint(lightning_ckpt, get_arch("tiny"))
    assert loaded.source == "lightning"
    assert loaded.sha256 == sha256_of(lightning_ckpt) and len(loaded.sha256) == 64
    assert _same_weights(loaded.generator, tiny_generator)
    assert not loaded.generator.training


def test_torchscript_checkpoint_round_trips_exactly(tiny_generator, torchscript_ckpt: Path) -> None:
    loaded = load_checkpoint(torchscript_ckpt, get_arch("tiny"))
    assert loaded.source == "torchscript"
    assert _same_weights(loaded.generator, tiny_generator)


def test_wrong_arch_names_the_mismatched_keys(lightning_ckpt: Path) -> None:
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint(lightning_ckpt, get_arch("big-lama"))
    message = str(info.value)
    assert "model.1.ffc.convl2l.weight: checkpoint has [8, 4, 7, 7], model expects [64, 4, 7, 7]" in message
    assert "missing key(s)" in message and "--arch" in message


def test_missing_and_unexpected_keys_are_listed(tiny_generator, tmp_path: Path) -> None:
    path = write_lightning_checkpoint(tiny_generator, tmp_path / "edited.ckpt")
    blob = torch.load(path, weights_only=True)
    del blob["state_dict"]["generator.model.18.bias"]
    blob["state_dict"]["generator.model.99.weight"] = torch.zeros(1)
    torch.save(blob, path)
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint(path, get_arch("tiny"))
    assert info.value.missing == ["model.18.bias"]
    assert info.value.unexpected == ["model.99.weight"]


def test_unreadable_and_foreign_files_say_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.ckpt", get_arch("tiny"))
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(junk, get_arch("tiny"))
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, foreign)
    with pytest.raises(CheckpointError, match="no generator found"):
        load_checkpoint(foreign, get_arch("tiny"))


def test_pickled_python_objects_need_explicit_trust(tiny_generator, tmp_path: Path) -> None:
    path = tmp_path / "with_hparams.ckpt"
    state = {f"generator.{k}": v for k, v in tiny_generator.state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": Path("config.yaml")}, path)
    with pytest.raises(CheckpointError, match="--trust-checkpoint"):
        load_checkpoint(path, get_arch("tiny"))
    assert _same_weights(load_checkpoint(path, get_arch("tiny"), trust=True).generator, tiny_generator)


@pytest.mark.parametrize("attribute", ["generator", "model", "inpainter.generator", "model.model"])
def test_torchscript_prefixes_a_trace_may_carry(tiny_generator, tmp_path: Path, attribute: str) -> None:
    """The generator is found wherever the wrapper nests it: `generator.model.*`,
    `model.model.*`, `inpainter.generator.model.*`, `model.model.model.*`."""
    path = write_torchscript_checkpoint(tiny_generator, tmp_path / "big-lama.pt", attribute)
    state, _ = read_state_dict(path)
    assert f"{attribute}.{ANCHOR_KEY}" in state
    assert generator_prefix(state) == f"{attribute}."
    assert _same_weights(load_checkpoint(path, get_arch("tiny")).generator, tiny_generator)


def test_anchor_must_start_a_key_segment() -> None:
    state = {f"generator.{ANCHOR_KEY}": torch.zeros(1), f"xgenerator.sub{ANCHOR_KEY}": torch.zeros(1)}
    assert generator_prefix(state) == "generator."


def test_torchscript_mismatch_is_one_error_listing_the_keys(tiny_generator, tmp_path: Path) -> None:
    path = write_torchscript_checkpoint(tiny_generator, tmp_path / "big-lama.pt", "model")
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint(path, get_arch("big-lama"))
    message = str(info.value)
    assert "missing key(s)" in message and "checkpoint has [8, 4, 7, 7]" in message and "--arch" in message


def test_frozen_torchscript_says_it_holds_no_tensors(tiny_generator, tmp_path: Path) -> None:
    traced = torch.jit.load(str(write_torchscript_checkpoint(tiny_generator, tmp_path / "t.pt")))
    frozen = torch.jit.freeze(traced.eval())
    frozen.save(str(tmp_path / "frozen.pt"))
    with pytest.raises(CheckpointError, match="holds no tensors"):
        load_checkpoint(tmp_path / "frozen.pt", get_arch("tiny"))
