"""Generator configurations. `big-lama` is the official one; `tiny` is the same code with
fewer blocks and channels so tests stay fast."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LamaArch:
    """Hyper-parameters of advimman/lama's `FFCResNetGenerator` that shape the state_dict."""

    name: str
    ngf: int = 64
    n_downsampling: int = 3
    n_blocks: int = 18
    ratio_global: float = 0.75  # ratio_gin = ratio_gout of the resnet blocks
    max_features: int = 1024
    input_nc: int = 4  # RGB with the hole zeroed + mask
    output_nc: int = 3

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


ARCHS: dict[str, LamaArch] = {
    "big-lama": LamaArch("big-lama"),
    "tiny": LamaArch("tiny", ngf=8, n_blocks=2),
}

# Trainable parameters of the official big-lama generator (checked by the tests).
BIG_LAMA_PARAMETERS = 50_975_875


def get_arch(name: str) -> LamaArch:
    try:
        return ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown arch {name!r}; choose one of {sorted(ARCHS)}") from None
