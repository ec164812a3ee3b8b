"""deploy/docker-compose.cpu.yml, checked offline: layered on docker-compose.yml it runs the
same Triton service on a CPU-only host with Triton's openvino backend config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .deploy_files import DEPLOY, REPO, tritonserver_flags

CPU_COMPOSE = DEPLOY / "docker-compose.cpu.yml"


class _ComposeLoader(yaml.SafeLoader):
    """safe_load plus Compose's merge tags, kept visible as ("!reset", value)."""


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(
        _tag,
        lambda loader, node, tag=_tag: (
            tag,
            loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node),
        ),
    )


@pytest.fixture(scope="module")
def cpu_triton() -> dict:
    overlay = yaml.load(CPU_COMPOSE.read_text(), Loader=_ComposeLoader)  # a SafeLoader
    assert set(overlay["services"]) == {"triton"}, "the CPU overlay changes only Triton"
    return overlay["services"]["triton"]


def test_cpu_overlay_selects_the_openvino_config(cpu_triton: dict, compose: dict) -> None:
    flag, _, name = cpu_triton["environment"]["TRITON_EXTRA_ARGS"].partition("=")
    assert flag == "--model-config-name"
    assert (REPO / "model_repository" / "lama" / "configs" / f"{name}.pbtxt").is_file()
    script = compose["services"]["triton"]["command"][-1]
    assert "tritonserver $${TRITON_EXTRA_ARGS:-}" in script, "the base call must pass the extra args"
    assert "--model-config-name" not in tritonserver_flags(script), "GPU default stays config.pbtxt"


def test_cpu_overlay_drops_the_gpu_and_its_engine_cache(cpu_triton: dict) -> None:
    assert cpu_triton["deploy"] == ("!reset", {})
    tag, volumes = cpu_triton["volumes"]
    assert tag == "!override" and volumes == ["./model_repository:/models:ro"]
    assert Path(REPO, volumes[0].split(":")[0]).is_dir()
