"""Probability map (from a served model) -> mask + scored regions.

A text detector fires on every text, also the photo's own (signs, labels). Each region's
score is the model's mean probability times its watermark-likeness (detect.likeness);
regions scoring under `keep_score` are reported, not masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np

from lama_serve.detect import components
from lama_serve.detect.anchoring import anchored
from lama_serve.detect.coarse import CoarseFill
from lama_serve.detect.edges import trim_to_changed
from lama_serve.detect.glyphs import glyph_pixels
from lama_serve.detect.likeness import RegionLikeness
from lama_serve.detect.masks import grow_mask
from lama_serve.detect.types import DetectionResult, Region

DEFAULT_KEEP_SCORE = 0.55  # sure text (0.9) with no watermark evidence scores 0.36, a corner overlay 0.7+


# MapProfile fields used by detect_from_maps across maps, not by regions_from_map.
CROSS_MAP_FIELDS = ("confirm_by", "confirm_above", "coarse", "anchor_by")


@dataclass(frozen=True)
class MapProfile:
    """How one served model's probability map becomes a mask: its calibration.

    threshold: map value that makes a pixel part of a region; keep_score: region score
    (mean probability x watermark-likeness) that puts it in the mask; grow: pixels the kept
    regions are dilated by; glyph_radius: when > 0, kept text lines shrink to their glyphs'
    pixels (detect.glyphs, local-mean radius in pixels); edge_radius: when > 0, the mask
    keeps only pixels more than edge_levels away from their local background (detect.edges,
    background window radius in pixels); confirm_by: another served model whose map must
    exceed confirm_above at a masked pixel (`confirmed`; where both maps are seen); coarse:
    how the model's map of a downscaled view fills large marks it missed (detect.coarse;
    None: no coarse view is asked for); follow_gap, follow_share: when follow_gap > 0, a
    region scoring at least follow_share x keep_score is kept too when gaps of at most
    2 x follow_gap px link it to a kept one (`followers`: the other words of a mark's line);
    anchor_by: another served model whose mask, where it qualifies, anchors this one's: regions
    away from it need anchor_keep (detect.anchoring); min_mean: the mean probability a region
    needs besides its score to be kept on its own (followers need only their score): the
    likeness factors lift texture the model is unsure of (stones, coins) as much as marks.
    """

    threshold: float = 0.5
    keep_score: float = DEFAULT_KEEP_SCORE
    grow: int = 0
    glyph_radius: int = 0
    edge_radius: int = 0
    edge_levels: float = 0.0
    confirm_by: str = ""
    confirm_above: float = 0.0
    coarse: CoarseFill | None = None
    follow_gap: int = 0
    follow_share: float = 1.0
    anchor_by: str = ""
    anchor_keep: float = 1.0
    min_mean: float = 0.0

    def mask_options(self) -> dict[str, float]:
        """The keyword arguments of `regions_from_map` (all but the cross-map steps)."""
        return {k: v for k, v in asdict(self).items() if k not in CROSS_MAP_FIELDS}


# Tuned on `lama-serve bench detect --offline` (held-out composites, 512 px, 8 per kind,
# seeds 0 and 1; checked on seeds 2 and 3; docs/detection.md). The text net's DB map is the
# shrunk core of each text line and nearly binary: a low threshold loses nothing, the glyphs
# reach ~8 px beyond the core (then detect.glyphs keeps the strokes; more growth merges tiled
# lines into blobs kept whole). It fires on any text and its glyph cut spills over busy
# backgrounds, so its pixels are kept only where the changed-pixel cut (detect.edges) and the
# segmenter's map (above 0.02: any evidence of a mark) agree. The segmenter's regions need
# less watermark evidence than text: it was trained on marks only. A low threshold finds more
# of each mark; detect.edges cuts its map's spill past the marks' edges back to the pixels
# the mark changed, against the background within 8 px (16 px kept less of the marks, no
# fewer false pixels); the higher keep score holds clean photos' false positives down; a
# word under it next to a kept word of its line (within 16 px) needs 0.83 of it. Its maps
# of scaled views add the marks too large for it at full size (detect.coarse). Away from a
# text mark the text model found, its regions need 0.8 (detect.anchoring; tuned on seeds
# 0-7 and two sets of user-style marks). A region it is unsure of (mean probability under
# 0.6: blobs on gravel and coins, 0.47-0.74 where marks' regions have 0.82-0.92) is not kept
# on its own whatever its likeness (seeds 0-7, checked on 8-15).
MAP_PROFILES = {
    "watermark_text": MapProfile(
        threshold=0.3,
        keep_score=0.55,
        grow=8,
        glyph_radius=12,
        edge_radius=16,
        edge_levels=6.0,
        confirm_by="watermark_seg",
        confirm_above=0.02,
    ),
    "watermark_seg": MapProfile(
        threshold=0.15,
        keep_score=0.42,
        edge_radius=8,
        edge_levels=6.0,
        coarse=CoarseFill(),
        follow_gap=8,
        follow_share=0.83,
        anchor_by="watermark_text",
        anchor_keep=0.8,
        min_mean=0.6,
    ),
}


def confirmed(result: DetectionResult, profile: MapProfile, maps: Mapping[str, np.ndarray]) -> DetectionResult:
    """`result` with its mask kept only where the map of `profile.confirm_by` exceeds
    `confirm_above`; unchanged when the profile names no model or that model's map is absent."""
    support = maps.get(profile.confirm_by) if profile.confirm_by else None
    if support is None:
        return result
    keep = support.reshape(support.shape[0], support.shape[1]) > profile.confirm_above
    return replace(result, mask=np.where(keep, result.mask, 0).astype(np.uint8))


def profile_for(model: str) -> MapProfile:
    """The tuned profile of a served model; an operator's own model gets the defaults."""
    return MAP_PROFILES.get(model, MapProfile())


def regions_from_map(
    probability: np.ndarray,
    image: np.ndarray,
    *,
    kind: str,
    threshold: float = 0.5,
    keep_score: float = DEFAULT_KEEP_SCORE,
    min_area: int = 16,
    grow: int = 0,
    glyph_radius: int = 0,
    edge_radius: int = 0,
    edge_levels: float = 0.0,
    follow_gap: int = 0,
    follow_share: float = 1.0,
    anchor: np.ndarray | None = None,
    anchor_keep: float = 1.0,
    min_mean: float = 0.0,
) -> DetectionResult:
    """Threshold the map, score each connected region, mask the ones kept (mean probability
    at least `min_mean`; those away from `anchor`, detect.anchoring.anchor_of's pixels, need
    `anchor_keep`) and their `followers` (grown by
    `grow`, then shrunk to glyphs when glyph_radius > 0, then to changed pixels when
    edge_radius > 0)."""
    prob = probability.reshape(probability.shape[0], probability.shape[1])
    labels, count = components.label(prob > threshold)
    if count == 0:
        return DetectionResult.empty(prob.shape)
    areas, means = (values[1:] for values in components.areas_and_means(labels, count, prob))
    box_array = components.boxes(labels, count)
    likeness = RegionLikeness(image, box_array, prob.shape)
    regions: list[Region] = []
    scores = np.full(count + 1, -np.inf)  # background and tiny regions: never kept
    for i, box in enumerate(box_array):
        if areas[i] < min_area:
            continue
        scores[i + 1] = float(means[i]) * likeness(i)
        regions.append(Region(*(int(v) for v in box), score=float(scores[i + 1]), kind=kind))
    sure = np.concatenate(([False], means >= min_mean))
    kept = anchored(labels, sure & (scores >= keep_score), scores, anchor, anchor_keep)
    if follow_gap:
        kept |= followers(labels, kept, scores >= follow_share * keep_score, follow_gap)
    mask = grow_mask(np.where(kept[labels], 255, 0).astype(np.uint8), grow)
    if glyph_radius:
        mask = glyph_pixels(image, mask, glyph_radius)
    if edge_radius:
        mask = trim_to_changed(image, mask, edge_radius, edge_levels)
    return DetectionResult(mask=mask, regions=tuple(sorted(regions, key=lambda r: -r.score)))


def followers(labels: np.ndarray, kept: np.ndarray, eligible: np.ndarray, gap: int) -> np.ndarray:
    """Per label (index 0: background): the eligible regions, not kept, that gaps of at most
    2 x `gap` px (through other regions) link to a kept one.
    A mark's words are separate regions scored alone; one word over a busy or uniform patch
    can score under the keep bar while the rest of its line is kept."""
    near, _ = components.label(grow_mask(np.where(labels > 0, 255, 0).astype(np.uint8), gap) > 0)
    group = np.zeros(len(kept), np.int64)
    group[labels.ravel()] = near.ravel()  # every pixel of a region lies in one group
    strong = np.zeros(int(near.max()) + 1, bool)
    strong[group[kept]] = True
    follows = eligible & ~kept & strong[group]
    follows[0] = False
    return follows


def regions_of_mask(mask: np.ndarray, score: float, kind: str) -> tuple[Region, ...]:
    """Regions of an already decided mask (template, shared, tiled detectors), one score."""
    labels, count = components.label(mask > 0)
    return tuple(Region(*(int(v) for v in box), score=score, kind=kind) for box in components.boxes(labels, count))
