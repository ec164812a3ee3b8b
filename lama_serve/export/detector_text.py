"""The served text detector: PP-OCRv4's DB text-detection net with its input normalisation
baked into the graph, so Triton takes the gateway's uint8 image (core.contract.PROBABILITY_MAP).

The net ships inside the `rapidocr_onnxruntime==1.4.4` wheel (Apache-2.0); it is read from
the installed wheel at export time and never committed. Its own input is `x` float32
[N, 3, H, W] BGR with (p / 255 - 0.5) / 0.5 per channel; its output a [N, 1, H, W] map.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lama_serve.core import contract
from lama_serve.export.errors import TextDetectorSourceError

WHEEL, WHEEL_VERSION = "rapidocr_onnxruntime", "1.4.4"
WHEEL_FILE = "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"


def wheel_model() -> Path:
    """Path of the original net inside the installed wheel."""
    try:
        dist = importlib.metadata.distribution(WHEEL)
    except importlib.metadata.PackageNotFoundError as error:
        raise TextDetectorSourceError(
            f"{WHEEL} is not installed: pip install '{WHEEL}=={WHEEL_VERSION}' (the [detect] extra of this project)"
        ) from error
    if dist.version != WHEEL_VERSION:
        raise TextDetectorSourceError(
            f"{WHEEL} {dist.version} is installed; the served graph is "
            f"built from {WHEEL_VERSION}: pip install '{WHEEL}=={WHEEL_VERSION}'"
        )
    path = Path(str(dist.locate_file(WHEEL_FILE)))
    if not path.is_file():
        raise TextDetectorSourceError(f"{path} is missing from the {WHEEL} wheel; reinstall it")
    return path


def licence_notice() -> str:
    """The wheel's licence and origin, written next to the served model."""
    meta = importlib.metadata.metadata(WHEEL)
    return (
        f"{WHEEL_FILE} taken from the {WHEEL} {meta['Version']} wheel ({meta.get('Home-page')}).\n"
        f"Author: {meta.get('Author')}. License: {meta.get('License')} "
        "(https://www.apache.org/licenses/LICENSE-2.0).\n"
        "Modified by lama-serve: input normalisation and layout changes added to the graph.\n"
    )


def reference_normalise(images: np.ndarray) -> np.ndarray:
    """What the original net expects, from uint8 RGB NHWC: BGR NCHW (p / 255 - 0.5) / 0.5."""
    bgr = images[..., ::-1].astype(np.float32)
    return np.ascontiguousarray(((bgr / 255.0 - 0.5) / 0.5).transpose(0, 3, 1, 2))


def _constant(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(value, name)


def bake_normalisation(model: onnx.ModelProto) -> onnx.ModelProto:
    """New graph: image uint8 [N,H,W,3] RGB -> (the original net) -> probability [N,H,W,1]."""
    (image,), (probability,) = contract.PROBABILITY_MAP.inputs, contract.PROBABILITY_MAP.outputs
    graph = model.graph
    (net_input,), (net_output,) = graph.input, graph.output
    pre = "wm_pre_"
    nodes_in = [
        helper.make_node("Cast", [image.name], [pre + "float"], to=TensorProto.FLOAT),
        helper.make_node("Gather", [pre + "float", pre + "bgr_index"], [pre + "bgr"], axis=3),
        helper.make_node("Transpose", [pre + "bgr"], [pre + "nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Div", [pre + "nchw", pre + "255"], [pre + "unit"]),
        helper.make_node("Sub", [pre + "unit", pre + "half"], [pre + "centred"]),
        helper.make_node("Div", [pre + "centred", pre + "half"], [net_input.name]),
    ]
    node_out = helper.make_node("Transpose", [net_output.name], [probability.name], perm=[0, 2, 3, 1])
    graph.initializer.extend(
        [
            _constant(pre + "bgr_index", np.array([2, 1, 0], np.int64)),
            _constant(pre + "255", np.array(255.0, np.float32)),
            _constant(pre + "half", np.array(0.5, np.float32)),
        ]
    )
    nodes = [*nodes_in, *graph.node, node_out]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.input[:]
    graph.input.append(
        helper.make_tensor_value_info(image.name, TensorProto.UINT8, [*image.axis_names, image.dims[-1]])
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(
            probability.name, TensorProto.FLOAT, [*probability.axis_names, probability.dims[-1]]
        )
    )
    onnx.checker.check_model(model)
    return model


def export_text_detector(version_dir: Path) -> Path:
    """Write version_dir/model.onnx (baked graph) and version_dir/NOTICE (licence)."""
    version_dir.mkdir(parents=True, exist_ok=True)
    path = version_dir / "model.onnx"
    onnx.save(bake_normalisation(onnx.load(str(wheel_model()))), str(path))
    (version_dir / "NOTICE").write_text(licence_notice())
    return path
