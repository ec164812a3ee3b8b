"""The model's I/O contract, declared once.

The exported ONNX graph, Triton's `config.pbtxt` files and the gateway all follow this
declaration; tests check that they agree. Pure Python: no torch, no onnx.
"""

from __future__ import annotations

from dataclasses import dataclass

MODEL_NAME = "lama"
# H and W of every request must be a multiple of this (3 stride-2 downsamplings).
SPATIAL_MULTIPLE = 8
# Smallest H and W the graph can take: the 3x3 blocks at 1/SPATIAL_MULTIPLE scale REFLECT-pad
# by 1, which needs at least 2 pixels there (an 8-px side fails inside the runtime).
MIN_SIDE = 2 * SPATIAL_MULTIPLE
# Largest batch Triton may form; configs and the TensorRT profile use it.
MAX_BATCH_SIZE = 8
ONNX_OPSET = 17


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor. `dims` excludes the batch axis, -1 marks a dynamic axis."""

    name: str
    dtype: str  # Triton spelling: "UINT8", "FP32", ...
    dims: tuple[int, ...]
    axis_names: tuple[str, ...]  # names of the dynamic axes for ONNX, batch first

    @property
    def numpy_dtype(self) -> str:
        return {"UINT8": "uint8", "FP32": "float32", "FP16": "float16"}[self.dtype]

    @property
    def onnx_dynamic_axes(self) -> dict[int, str]:
        """Axis index (with batch) -> symbolic name, as torch.onnx.export wants it."""
        return dict(enumerate(self.axis_names))


IMAGE = TensorSpec("image", "UINT8", (-1, -1, 3), ("batch", "height", "width"))
MASK = TensorSpec("mask", "UINT8", (-1, -1, 1), ("batch", "height", "width"))
INPAINTED = TensorSpec("inpainted", "UINT8", (-1, -1, 3), ("batch", "height", "width"))

INPUTS: tuple[TensorSpec, ...] = (IMAGE, MASK)
OUTPUTS: tuple[TensorSpec, ...] = (INPAINTED,)


@dataclass(frozen=True)
class DetectorContract:
    """I/O of a detector model: the gateway's uint8 image in; out, a per-pixel watermark
    probability at the same H and W (PROBABILITY_MAP) or scored boxes (BOX_LIST). The caller
    pads H and W up to `spatial_multiple` (mirroring the image) and crops what comes back;
    nothing is resized inside the graph."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    spatial_multiple: int


PROBABILITY = TensorSpec("probability", "FP32", (-1, -1, 1), ("batch", "height", "width"))
# 32: the text detector (PP-OCR DB net) downsamples 5 times; the segmenter follows suit.
PROBABILITY_MAP = DetectorContract("probability_map", (IMAGE,), (PROBABILITY,), 32)
# A box detector's K candidates per image: x0, y0, x1, y1 in the input's pixels (x1, y1
# excluded) and a score in [0, 1]; slots a model leaves empty score 0. K is the model's own
# (a fixed number of slots batches; the gateway paints the boxes into a map: detect.boxes).
BOXES = TensorSpec("boxes", "FP32", (-1, 4), ("batch", "boxes"))
SCORES = TensorSpec("scores", "FP32", (-1,), ("batch", "boxes"))
BOX_LIST = DetectorContract("box_list", (IMAGE,), (BOXES, SCORES), 32)
# What a dropped-in detector may follow, by name (the CPU backend's `contract` parameter).
DETECTOR_CONTRACTS: dict[str, DetectorContract] = {c.name: c for c in (PROBABILITY_MAP, BOX_LIST)}

TEXT_MODEL_NAME = "watermark_text"
SEG_MODEL_NAME = "watermark_seg"
# The project's detector models; each follows PROBABILITY_MAP.
DETECTOR_MODELS: tuple[str, ...] = (TEXT_MODEL_NAME, SEG_MODEL_NAME)
# Every model the repository may hold, in load order; `lama` is always required.
REPOSITORY_MODELS: tuple[str, ...] = (MODEL_NAME, *DETECTOR_MODELS)
