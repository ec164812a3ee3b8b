"""Precision from CPU flags: bf16 only with hardware bf16 matmuls."""

from pathlib import Path

import pytest

from lama_serve.backend.cpu_runtime import BackendConfigError, resolve
from lama_serve.core.cpu_precision import choose_precision, host_precision, parse_cpu_flags

EMERALD_RAPIDS = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 amx_tile\nbogomips: 1\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni\n"


@pytest.mark.parametrize(
    ("cpuinfo", "precision"), [(EMERALD_RAPIDS, "bf16"), (ZEN4, "bf16"), (SKYLAKE, "f32"), ("", "f32")]
)
def test_bf16_only_with_amx_or_avx512_bf16(cpuinfo: str, precision: str) -> None:
    assert choose_precision(parse_cpu_flags(cpuinfo)) == precision


def test_host_precision_reads_the_file_and_defaults_to_f32(tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text(EMERALD_RAPIDS)
    assert host_precision(tmp_path / "cpuinfo") == ("bf16", frozenset({"amx_bf16", "avx512_bf16"}))
    assert host_precision(tmp_path / "missing") == ("f32", frozenset())


def test_config_choices() -> None:
    assert resolve("onnxruntime", "bf16")[0] == "f32"
    assert resolve("openvino", "f32") == ("f32", "set by the model config")
    with pytest.raises(BackendConfigError, match="use one of"):
        resolve("tensorflow", "auto")
    with pytest.raises(BackendConfigError, match="auto, bf16 or f32"):
        resolve("openvino", "fp8")
