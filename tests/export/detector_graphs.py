"""Tiny ONNX detectors built with onnx.helper, for `lama-serve detector add` and the served
path of a dropped-in model: a box detector that always answers the same boxes, a map
detector, and graphs that break the contracts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BOX = (24, 16, 120, 48)  # x0, y0, x1, y1 that the box model reports on every image, score 0.9
SCORE = 0.9


def _save(path: Path, nodes: list, inputs: list, outputs: list, constants: dict[str, np.ndarray]) -> Path:
    graph = helper.make_graph(
        nodes, "detector", inputs, outputs, [numpy_helper.from_array(v, k) for k, v in constants.items()]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _image(dtype: int = TensorProto.UINT8, name: str = "image") -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, ["batch", "height", "width", 3])


def box_model(path: Path, box_width: int = 4, names: tuple[str, str] = ("boxes", "scores")) -> Path:
    """[N, 2, box_width] boxes (BOX, then an empty slot) and [N, 2] scores for any image."""
    boxes = np.zeros((2, box_width), np.float32)
    boxes[0, :4] = BOX[:box_width]
    nodes = [
        helper.make_node("Shape", ["image"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
        helper.make_node("Concat", ["batch", "slots", "width"], ["boxes_shape"], axis=0),
        helper.make_node("Concat", ["batch", "slots"], ["scores_shape"], axis=0),
        helper.make_node("Expand", ["box_rows", "boxes_shape"], [names[0]]),
        helper.make_node("Expand", ["score_row", "scores_shape"], [names[1]]),
    ]
    constants = {
        "zero": np.array([0], np.int64),
        "one": np.array([1], np.int64),
        "slots": np.array([2], np.int64),
        "width": np.array([box_width], np.int64),
        "box_rows": boxes,
        "score_row": np.array([SCORE, 0.0], np.float32),
    }
    outputs = [
        helper.make_tensor_value_info(names[0], TensorProto.FLOAT, ["batch", "slots", box_width]),
        helper.make_tensor_value_info(names[1], TensorProto.FLOAT, ["batch", "slots"]),
    ]
    return _save(path, nodes, [_image()], outputs, constants)


def map_model(path: Path, dtype: int = TensorProto.UINT8, output: str = "probability") -> Path:
    """The red channel / 255 as the probability map."""
    nodes = [
        helper.make_node("Slice", ["image", "zero", "one", "three"], ["red"]),
        helper.make_node("Cast", ["red"], ["red_float"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["red_float", "scale"], [output]),
    ]
    constants = {
        "zero": np.array([0], np.int64),
        "one": np.array([1], np.int64),
        "three": np.array([3], np.int64),
        "scale": np.array(255.0, np.float32),
    }
    out = helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", "height", "width", 1])
    return _save(path, nodes, [_image(dtype)], [out], constants)
