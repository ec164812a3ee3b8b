"""Detection quality without a gateway or Triton: `lama-serve bench detect --offline REPO`.

The served detector graphs of a model repository (`lama-serve detector export`) run in
onnxruntime exactly as Triton runs them for the gateway: the image edge-padded to multiples
of SPATIAL_MULTIPLE, the map cropped back. Then the gateway's own detection steps
(gateway.detection.service.DetectionService.detect): the local detectors, the maps again on
an un-blended image, detect_from_maps (profiles, confirmation, combination). So thresholds
and rules can be tuned and measured on a laptop in seconds per image.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lama_serve.core import contract
from lama_serve.core.repository import MODEL_FILENAME
from lama_serve.detect import synth
from lama_serve.detect.detectors import Detector, detect_from_maps, run_detectors
from lama_serve.detect.tiled import TiledDetector
from lama_serve.detect.types import DetectionResult


def pad_to_multiple(image: np.ndarray, multiple: int = contract.SPATIAL_MULTIPLE) -> np.ndarray:
    """Edge-pad an HxWxC image at the bottom and right to sides that are multiples of `multiple`."""
    height, width = image.shape[:2]
    pad = ((0, -height % multiple), (0, -width % multiple), (0, 0))
    return np.pad(image, pad, mode="edge")


class OnnxMap:
    """A probability-map graph (core.contract.PROBABILITY_MAP) called as Triton would call it."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        (self.input,), (self.output,) = contract.PROBABILITY_MAP.inputs, contract.PROBABILITY_MAP.outputs

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """float32 HxWx1 map of one uint8 HxWx3 image."""
        height, width = image.shape[:2]
        (probability,) = self.session.run([self.output.name], {self.input.name: pad_to_multiple(image)[None]})
        return probability[0, :height, :width]


class OfflineDetection:
    """The default detector set (minus templates, which need an operator's folder) on
    `repository/<model>/<version>/model.onnx`, combined as the gateway combines them."""

    def __init__(
        self, repository: Path, models: Sequence[str] = contract.DETECTOR_MODELS, version: int = 1, threads: int = 1
    ) -> None:
        self.maps = {name: OnnxMap(Path(repository) / name / str(version) / MODEL_FILENAME, threads) for name in models}
        self.local: tuple[Detector, ...] = (TiledDetector(),)

    @property
    def names(self) -> list[str]:
        return [*self.maps, *(detector.name for detector in self.local)]

    def detect(self, image: np.ndarray) -> DetectionResult:
        local = run_detectors(self.local, image)
        if local.restored is not None:
            image = local.restored
        return detect_from_maps({name: predict(image) for name, predict in self.maps.items()}, image, local)


def served_path_scores(
    composites: Sequence[synth.Composite], detection: OfflineDetection
) -> list[tuple[synth.Composite, np.ndarray, float]]:
    """(composite, predicted mask, seconds) per composite, for bench.detect.score_rows."""
    scored = []
    for composite in composites:
        start = time.perf_counter()
        result = detection.detect(composite.image)
        scored.append((composite, result.mask > 0, time.perf_counter() - start))
    return scored
