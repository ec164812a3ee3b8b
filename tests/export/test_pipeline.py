import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from lama_serve.core import contract
from lama_serve.export.arch import get_arch
from lama_serve.export.checkpoint import random_generator
from lama_serve.export.errors import ParityError
from lama_serve.export.onnx_export import reference_graph
from lama_serve.export.parity import check_parity, random_inputs
from lama_serve.export.pipeline import export_to_repository
from tests.export.conftest import write_lightning_checkpoint


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory: pytest.TempPathFactory):
    return export_to_repository(tmp_path_factory.mktemp("repo"), 3, arch="tiny", seed=5)


def test_export_writes_model_and_metadata(tiny_export) -> None:
    assert tiny_export.onnx_path.parts[-3:] == ("lama", "3", "model.onnx")
    meta = json.loads(tiny_export.metadata_path.read_text())
    assert meta["checkpoint_sha256"] == "random" and meta["random_weights"] is True
    assert meta["arch"] == "tiny" and meta["precision"] == "fp32" and meta["opset"] == contract.ONNX_OPSET
    assert len(meta["parity"]) == 3 and {tuple(p["shape"]) for p in meta["parity"]} >= {(2, 48, 80)}
    assert all(p["max_abs_float"] <= 1e-4 and p["max_pixel_diff"] <= 1 for p in meta["parity"])


def test_onnx_io_follows_the_contract(tiny_export) -> None:
    graph = onnx.load(str(tiny_export.onnx_path)).graph
    declared = {s.name: s for s in contract.INPUTS + contract.OUTPUTS}
    for value in list(graph.input) + list(graph.output):
        spec = declared.pop(value.name)
        tensor_type = value.type.tensor_type
        assert onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type) == np.dtype(spec.numpy_dtype)
        dims = [d.dim_param or d.dim_value for d in tensor_type.shape.dim]
        assert dims == list(spec.axis_names) + [spec.dims[-1]]
    assert not declared
    ops = {node.op_type for node in graph.node}
    assert not ops & {"DFT", "BatchNormalization"}, "TensorRT-unfriendly or unfolded ops left"


def test_exported_graph_is_dynamic_and_keeps_unmasked_pixels(tiny_export) -> None:
    session = ort.InferenceSession(str(tiny_export.onnx_path), providers=["CPUExecutionProvider"])
    for shape in [(1, 8, 8), (3, 40, 104), (1, 136, 24)]:
        image, mask = random_inputs(shape, np.random.default_rng(0))
        (out,) = session.run(None, {"image": image, "mask": mask})
        assert out.shape == image.shape and out.dtype == np.uint8
        keep = np.broadcast_to(mask == 0, out.shape)
        assert np.array_equal(out[keep], image[keep])
        assert not np.array_equal(out[~keep], image[~keep])


def test_parity_check_fails_with_the_gap_for_another_model(tiny_export) -> None:
    other = reference_graph(random_generator(get_arch("tiny"), seed=99).generator)
    with pytest.raises(ParityError, match=r"differs from PyTorch eager at batch/height/width .* max abs"):
        check_parity(tiny_export.onnx_path, other)


def test_progress_reports_the_checks_figures(tiny_generator, tmp_path: Path) -> None:
    """`lama-serve up` logs the export through `progress` alone: the parity figures and the
    bf16 verdict belong there, not only in export.json."""
    lines: list[str] = []
    ckpt = write_lightning_checkpoint(tiny_generator, tmp_path / "best.ckpt")
    result = export_to_repository(tmp_path / "repo", 1, arch="tiny", checkpoint=ckpt, progress=lines.append)
    parity = [line for line in lines if line.strip().startswith("parity (")]
    assert len(parity) == len(result.metadata["parity"]) == 3 and all("max pixel diff" in line for line in parity)
    verdict = [line for line in lines if line.strip().startswith("bf16 accuracy check ")]
    assert verdict and result.metadata["bf16_accuracy"]["status"] in verdict[-1].lower()


def test_export_from_a_checkpoint_records_its_sha256(tiny_generator, tmp_path: Path) -> None:
    ckpt = write_lightning_checkpoint(tiny_generator, tmp_path / "best.ckpt")
    result = export_to_repository(tmp_path / "repo", 1, arch="tiny", checkpoint=ckpt)
    assert result.metadata["checkpoint_source"] == "lightning"
    assert len(str(result.metadata["checkpoint_sha256"])) == 64 and not result.metadata["random_weights"]


def test_fp16_variant_runs_on_cpu_and_stays_close(tmp_path: Path) -> None:
    result = export_to_repository(tmp_path, 1, arch="tiny", precision="fp16", seed=5)
    graph = onnx.load(str(result.onnx_path)).graph
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.initializer)
    assert all(p["max_abs_float"] < 2e-2 for p in result.metadata["parity"])


@pytest.mark.slow
def test_big_lama_random_weights_export_passes_parity(tmp_path: Path) -> None:
    result = export_to_repository(tmp_path, 1, arch="big-lama", seed=0)
    assert result.metadata["onnx_bytes"] > 200e6
    assert all(p["max_abs_float"] <= 1e-4 for p in result.metadata["parity"])
