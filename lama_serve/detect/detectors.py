"""The pluggable detector set: one protocol, local detectors from settings, served maps.

`DETECTORS` lists names in the order they run. `templates` and `tiled` run here; every other
name is a served model that follows the probability-map contract (uint8 image in, [N,H,W,1]
probability out), e.g. `watermark_text`, `watermark_seg` or an operator's own ONNX model
dropped into the repository: the caller fetches those maps (the gateway through Triton, the
offline bench in onnxruntime) and `detect_from_maps` turns them into one result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from lama_serve.core.settings.detection import DetectionSettings
from lama_serve.detect.anchoring import anchor_of
from lama_serve.detect.coarse import fill_missed, missed_components, missed_lines
from lama_serve.detect.combine import combine_results
from lama_serve.detect.edges import with_changed_rim
from lama_serve.detect.regions import MapProfile, confirmed, profile_for, regions_from_map
from lama_serve.detect.template_detector import TemplateDetector
from lama_serve.detect.templates import load_templates
from lama_serve.detect.tiled import TiledDetector
from lama_serve.detect.types import DetectionResult


class Detector(Protocol):
    name: str

    def detect(self, image: np.ndarray) -> DetectionResult:
        """Mask (255 = watermark) and regions of an HxWx3 uint8 image."""


def map_profile(name: str, keep_score: float | None = None) -> MapProfile:
    """The model's tuned profile (regions.MAP_PROFILES), `keep_score` overriding its own."""
    profile = profile_for(name)
    return profile if keep_score is None else replace(profile, keep_score=keep_score)


def _templates(settings: DetectionSettings) -> Detector | None:
    """None when no folder is configured or it holds no template: nothing to look for."""
    if settings.watermark_templates_dir is None:
        return None
    templates = load_templates(settings.watermark_templates_dir)
    return (
        TemplateDetector(
            templates, settings.template_min_score, settings.template_scales, settings.template_size_search
        )
        if templates
        else None
    )


LOCAL_DETECTORS: dict[str, Callable[[DetectionSettings], Detector | None]] = {
    "templates": _templates,
    "tiled": lambda settings: TiledDetector(),
}


def local_detectors(settings: DetectionSettings) -> tuple[Detector, ...]:
    """The detectors of DETECTORS that run in the caller's process, in order (served models
    left out: the caller fetches their maps and hands them to `detect_from_maps`); a
    templates detector only when its folder holds templates."""
    built = (LOCAL_DETECTORS[name](settings) for name in settings.detectors if name in LOCAL_DETECTORS)
    return tuple(detector for detector in built if detector is not None)


def served_detectors(settings: DetectionSettings) -> tuple[str, ...]:
    """The names of DETECTORS that are served models (probability-map contract)."""
    return tuple(name for name in settings.detectors if name not in LOCAL_DETECTORS)


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


def multiscale_models(names: Sequence[str]) -> tuple[str, ...]:
    """The served models among `names` whose profile asks for maps of the scaled views
    (detect.coarse.scaled_views) besides the full-size one."""
    return tuple(name for name in names if map_profile(name).coarse is not None)


def detect_from_maps(
    maps: Mapping[str, np.ndarray],
    image: np.ndarray,
    local: DetectionResult | None = None,
    keep_scores: Mapping[str, float] | None = None,
    view_maps: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> DetectionResult:
    """Served models' probability maps (computed on `image`) plus the local detectors'
    result, as one. Each map goes through its model's profile (regions.MAP_PROFILES), with
    `keep_scores` overriding a model's keep score, is anchored by the mask of the model its
    profile names (detect.anchoring), and is confirmed by the map its profile names
    (regions.confirmed). `view_maps`: per scaled view (detect.coarse.scaled_views), the
    maps of the multiscale models, scaled back to the image's size: a `native` map adds, by
    the same profile, the marks the full-size map mostly missed; a `coarse` map fills the
    large marks the finer maps outlined.
    The union gets the marks' anti-aliased rim (detect.edges.with_changed_rim). When
    `local` un-blended a mark, `image` must be its restored image (the maps of the original
    would find the mark again)."""
    profiles = {name: map_profile(name, (keep_scores or {}).get(name)) for name in maps}
    anchoring = {profile.anchor_by for profile in profiles.values()}
    results, anchors = [], {}
    for name in sorted(maps, key=lambda model: profiles[model].anchor_by in maps):  # anchors first
        profile = profiles[name]
        anchor = anchors.get(profile.anchor_by)
        result = _kept(maps[name], image, name, profile, maps, anchor)
        if name in anchoring:
            anchors[name] = anchor_of(result.mask)
        results.append(result)
        views = {view: scaled[name] for view, scaled in (view_maps or {}).items() if name in scaled}
        results += _from_views(name, profile, maps[name], views, image, maps, anchor)
    combined = combine_results([*([local] if local is not None else []), *results], image.shape)
    return replace(combined, mask=with_changed_rim(image, combined.mask))


def detect_on_view(
    maps: Mapping[str, np.ndarray],
    view: np.ndarray,
    local: DetectionResult,
    keep_scores: Mapping[str, float] | None = None,
    view_maps: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> DetectionResult:
    """`detect_from_maps` on `view`, a downscaled copy of the image that `local` (the local
    detectors' result, at the image's size) was found on, with the maps computed on `view`;
    the answer at the image's size, `local`'s own mask exact. The maps' post-processing costs
    per pixel (8 s for a 12 MP photo at full size on two cores), and the maps themselves come
    from at most DETECTION_MAX_SIDE; with `view` the image itself this is detect_from_maps."""
    found = detect_from_maps(maps, view, local.resized(view.shape), keep_scores=keep_scores, view_maps=view_maps)
    if found.mask.shape == local.mask.shape:
        return found  # `view` is the image: `local` is in `found` as it is
    found = found.resized(local.mask.shape)
    return replace(found, mask=np.maximum(found.mask, local.mask))


def _kept(
    probability: np.ndarray,
    image: np.ndarray,
    name: str,
    profile: MapProfile,
    maps: Mapping[str, np.ndarray],
    anchor: np.ndarray | None,
    **overrides: float,
) -> DetectionResult:
    """The regions of a map of model `name` that its `profile` (with `overrides` of its mask
    options) keeps, `anchor` included, confirmed by the map the profile names."""
    options = {**profile.mask_options(), **overrides}
    return confirmed(regions_from_map(probability, image, kind=name, anchor=anchor, **options), profile, maps)


def _from_views(
    name: str,
    profile: MapProfile,
    probability: np.ndarray,
    views: Mapping[str, np.ndarray],
    image: np.ndarray,
    maps: Mapping[str, np.ndarray],
    anchor: np.ndarray | None,
) -> list[DetectionResult]:
    """What model `name`'s maps of the scaled views add to its full-size `probability`: the
    native map's components the full-size one mostly missed (kept as the full-size map's
    are, `anchor` included), then the coarse map's text lines they missed (kept the same
    way, cut to glyphs) and the coarse fill outlined by both (detect.coarse)."""
    fill = profile.coarse
    if fill is None:
        return []
    results = []
    outline = probability.reshape(image.shape[:2])
    native = views.get("native")
    if native is not None:
        missed = missed_components(native, outline > profile.threshold, profile.threshold, fill.covered_below)
        unseen = np.where(missed, native.reshape(missed.shape), 0)  # what the full-size map already reports stays out
        results.append(_kept(unseen, image, name, profile, maps, anchor))
        outline = np.maximum(outline, native.reshape(outline.shape))
    coarse = views.get("coarse")
    if coarse is not None:
        plane = coarse.reshape(outline.shape)
        lines = missed_lines(plane, outline > profile.threshold, profile.threshold, fill)
        cut = {"glyph_radius": fill.line_glyph_radius, "min_mean": fill.line_min_mean}
        results.append(_kept(np.where(lines, plane, 0), image, name, profile, maps, anchor, **cut))
        results.append(fill_missed(coarse, outline, image, profile.threshold, name, fill))
    return results
