"""Detection quality without a gateway or Triton: `lama-serve bench detect --offline REPO`.

The served detector graphs of a model repository (`lama-serve detector export`) run in
onnxruntime on the tensors the gateway sends Triton (gateway.detection.maps: fitted to the
detection side, mirror-padded, the map cropped and scaled back). Then the gateway's own
detection steps (gateway.detection.service.DetectionService.detect): the local detectors,
the maps again on an un-blended image, the scaled views' maps, detect_on_view (profiles,
confirmation, combination). So thresholds and rules can be tuned and measured on a laptop
in seconds per image.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lama_serve.bench.inputs import as_sent
from lama_serve.core import contract
from lama_serve.core.repository import ModelRepository
from lama_serve.core.settings import Settings
from lama_serve.detect import synth
from lama_serve.detect.coarse import scaled_views
from lama_serve.detect.detectors import Detector, detect_on_view, local_detectors, multiscale_models, run_detectors
from lama_serve.detect.types import DetectionResult
from lama_serve.gateway.detection.maps import fit_side, map_of, model_input

MAX_SIDE: int = Settings.model_fields["detection_max_side"].default
WORK_SIDE: int = Settings.model_fields["detection_work_side"].default


class OnnxMap:
    """A probability-map graph (core.contract.PROBABILITY_MAP) called as the gateway calls it."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        (self.input,), (self.output,) = contract.PROBABILITY_MAP.inputs, contract.PROBABILITY_MAP.outputs

    def __call__(self, view: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
        """float32 HxWx1 map of one uint8 HxWx3 `view`, scaled to `shape` (default: the view's)."""
        batch, valid = model_input(view, MAX_SIDE)
        (probability,) = self.session.run([self.output.name], {self.input.name: batch})
        return map_of(probability, valid, shape or view.shape[:2])


class OfflineDetection:
    """The default detector set on `repository/<model>/<version>/model.onnx`, combined as the
    gateway combines them; `local`: the detectors run in the gateway's process (default: the
    default settings' ones, i.e. none, as templates need an operator's folder)."""

    def __init__(
        self,
        repository: Path,
        models: Sequence[str] = contract.DETECTOR_MODELS,
        version: int = 1,
        threads: int = 1,
        local: Sequence[Detector] | None = None,
    ) -> None:
        paths = {name: ModelRepository(Path(repository), name).onnx_path(version) for name in models}
        missing = [str(path) for path in paths.values() if not path.is_file()]
        if missing:  # the command's error: checked before any composite is drawn
            raise SystemExit(
                f"no detector graph at {', '.join(missing)}: write them with "
                f"`lama-serve detector export --repository {repository}`"
            )
        self.maps = {name: OnnxMap(path, threads) for name, path in paths.items()}
        self.local = tuple(local_detectors(Settings.model_construct()) if local is None else local)
        self.multiscale = multiscale_models(self.maps)  # decided once, as the gateway's DetectionService does

    @property
    def names(self) -> list[str]:
        return [*self.maps, *(detector.name for detector in self.local)]

    def detect(self, image: np.ndarray) -> DetectionResult:
        local = run_detectors(self.local, image)
        view = fit_side(image if local.restored is None else local.restored, WORK_SIDE)
        maps = {name: predict(view) for name, predict in self.maps.items()}
        views = {
            name: {model: self.maps[model](scaled, view.shape[:2]) for model in self.multiscale}
            for name, scaled in scaled_views(view).items()
        }
        return detect_on_view(maps, view, local, view_maps=views)


def served_path_scores(
    composites: Sequence[synth.Composite], detection: OfflineDetection, jpeg: int | None = None
) -> list[tuple[synth.Composite, np.ndarray, float]]:
    """(composite, predicted mask, seconds) per composite, for bench.detect_rows.score_rows;
    `jpeg`: each image as a server decodes it from a JPEG of that quality (bench.inputs.as_sent)."""
    scored = []
    for composite in composites:
        image = as_sent(composite.image, jpeg)
        start = time.perf_counter()
        result = detection.detect(image)
        scored.append((composite, result.mask > 0, time.perf_counter() - start))
    return scored
