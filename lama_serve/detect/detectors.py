"""The pluggable detector set: one protocol, local detectors, a builder from settings.

`DETECTORS` lists names in the order they run. `templates` and `tiled` run here; every other
name is a served model that follows the probability-map contract (uint8 image in, [N,H,W,1]
probability out), e.g. `watermark_text`, `watermark_seg` or an operator's own ONNX model
dropped into the repository: the caller supplies how to build those (the Triton client).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Protocol

import numpy as np

from lama_serve.core.settings import Settings
from lama_serve.detect.combine import combine_results
from lama_serve.detect.regions import MapProfile, profile_for, regions_from_map
from lama_serve.detect.templates import TemplateDetector, load_templates
from lama_serve.detect.tiled import TiledDetector
from lama_serve.detect.types import DetectionConfigError, DetectionResult


class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> DetectionResult:
        """Mask (255 = watermark) and regions of an HxWx3 uint8 image."""


class MapDetector:
    """A detector from any function returning a probability map, e.g. a Triton call.

    `profile` defaults to the model's tuned one (regions.MAP_PROFILES); threshold and
    keep_score, when given, override it (e.g. from settings).
    """

    def __init__(self, name: str, predict: Callable[[np.ndarray], np.ndarray], *,
                 threshold: float | None = None, keep_score: float | None = None,
                 profile: MapProfile | None = None) -> None:
        profile = profile or profile_for(name)
        overrides = {"threshold": threshold, "keep_score": keep_score}
        self.name, self.predict = name, predict
        self.profile = replace(profile, **{k: v for k, v in overrides.items() if v is not None})

    def detect(self, image: np.ndarray) -> DetectionResult:
        return regions_from_map(self.predict(image), image, kind=self.name, **asdict(self.profile))


def _templates(settings: Settings) -> Detector | None:
    """None when no folder is configured or it holds no template: nothing to look for."""
    if settings.watermark_templates_dir is None:
        return None
    templates = load_templates(settings.watermark_templates_dir)
    return TemplateDetector(templates, settings.template_min_score) if templates else None


LOCAL_DETECTORS: dict[str, Callable[[Settings], Detector | None]] = {
    "templates": _templates,
    "tiled": lambda settings: TiledDetector(),
}


def build_detectors(settings: Settings,
                    served: Callable[[str], Detector] | None = None) -> tuple[Detector, ...]:
    """The detectors named by DETECTORS; `served(name)` builds those that are models."""
    detectors = []
    for name in settings.detectors:
        if name in LOCAL_DETECTORS:
            detector = LOCAL_DETECTORS[name](settings)
        elif served is not None:
            detector = served(name)
        else:
            raise DetectionConfigError(
                f"detector {name!r} is not local ({', '.join(LOCAL_DETECTORS)}) and no served "
                "model client was given; remove it from DETECTORS or serve it")
        if detector is not None:
            detectors.append(detector)
    return tuple(detectors)


def run_detectors(detectors: Sequence[Detector], image: np.ndarray) -> DetectionResult:
    """Run in order; once a detector un-blends a mark, the next ones see the restored image
    (so they do not find the mark again)."""
    results = []
    for detector in detectors:
        result = detector.detect(image)
        if result.restored is not None:
            image = result.restored
        results.append(result)
    return combine_results(results, image.shape)
