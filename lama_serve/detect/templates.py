"""Known marks: operator templates (PNG with alpha) found by multi-scale NCC, un-blended.

A template is the mark's colour W and alpha a. Where it sits in an image J = (1-a) I + a W,
so wherever a < OPAQUE_ALPHA the photo comes back exactly: I = (J - a W) / (1 - a); only
the opaque rest is left to inpaint. Matching correlates gradient magnitudes, which do not
depend on whether the photo under the mark is darker or lighter than the mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lama_serve.detect import filters
from lama_serve.detect.masks import grow_mask
from lama_serve.detect.types import DetectionConfigError, DetectionResult, Region

OPAQUE_ALPHA = 0.95  # above this (J - aW)/(1 - a) amplifies 8-bit noise past 10 levels: inpaint
DEFAULT_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
MAX_MATCHES = 8  # per template: repeated copies of one mark
NEUTRAL = 128.0  # background a template is drawn on to get its edge signature
# Un-blending a real match removes the mark's share of the edges (~0.5 on textured photos);
# at a false peak it adds edges (negative).
MIN_EDGE_REMOVAL = 0.25
EDGE_LEVEL = 1.0  # signature gradient (levels/pixel) that counts as part of the mark


@dataclass(frozen=True)
class Template:
    name: str
    color: np.ndarray  # HxWx3 float32, 0..255
    alpha: np.ndarray  # HxW float32, 0..1

    def scaled(self, scale: float) -> Template:
        if scale == 1.0:
            return self
        h, w = self.alpha.shape
        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        rgba = np.dstack([self.color, self.alpha * 255]).round().astype(np.uint8)
        return template_from_rgba(self.name, np.asarray(Image.fromarray(rgba).resize(size, Image.LANCZOS)))

    def signature(self) -> np.ndarray:
        """Gradient magnitude of the mark drawn on mid-gray: what it adds to any photo."""
        composite = self.alpha[..., None] * self.color + (1 - self.alpha[..., None]) * NEUTRAL
        return filters.gradient_magnitude(filters.gray(composite))


@dataclass(frozen=True)
class TemplateMatch:
    name: str
    x: int
    y: int
    scale: float
    score: float


def template_from_rgba(name: str, rgba: np.ndarray) -> Template:
    return Template(name, rgba[..., :3].astype(np.float32), rgba[..., 3].astype(np.float32) / 255)


def load_templates(folder: Path) -> tuple[Template, ...]:
    """Every *.png of `folder` with an alpha channel, named by file stem."""
    if not folder.is_dir():
        raise DetectionConfigError(f"WATERMARK_TEMPLATES_DIR {folder} is not a folder; create it or unset it")
    templates = []
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as img:
            if "A" not in img.getbands():
                raise DetectionConfigError(f"template {path} has no alpha channel; save it as RGBA PNG")
            templates.append(template_from_rgba(path.stem, np.asarray(img.convert("RGBA"))))
    return tuple(templates)


def _peaks(score: np.ndarray, h: int, w: int, min_score: float) -> list[tuple[int, int, float]]:
    """Best positions above min_score, each suppressing a template-sized neighbourhood."""
    score = score.copy()
    found = []
    for _ in range(MAX_MATCHES):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[y, x] < min_score:
            break
        found.append((int(x), int(y), float(score[y, x])))
        score[max(y - h // 2, 0) : y + h // 2 + 1, max(x - w // 2, 0) : x + w // 2 + 1] = -1
    return found


def find_template(
    edges: filters.Correlator, template: Template, scales: tuple[float, ...], min_score: float
) -> list[TemplateMatch]:
    """Matches of one template in an image's gradient magnitude (`edges`), at its best scale."""
    best: tuple[float, float, np.ndarray, tuple[int, int]] | None = None
    for scale in scales:
        signature = template.scaled(scale).signature()
        if signature.shape[0] > edges.plane.shape[0] or signature.shape[1] > edges.plane.shape[1]:
            continue
        score = edges.ncc(signature, grow_mask(signature > EDGE_LEVEL, 1))
        if best is None or score.max() > best[0]:
            best = (float(score.max()), scale, score, signature.shape)
    if best is None:
        return []
    _, scale, score, (h, w) = best
    return [TemplateMatch(template.name, x, y, scale, s) for x, y, s in _peaks(score, h, w, min_score)]


def edge_removal(image: np.ndarray, template: Template, match: TemplateMatch) -> float:
    """Share of the edge energy on the mark's see-through edges that un-blending removes.

    The check that a correlation peak is the mark: undoing a real blend erases its edges
    (near 1), undoing it where the mark is not adds the mark's negative (below 0). A mark
    with no see-through part cannot be checked this way and passes (1.0).
    """
    mark = template.scaled(match.scale)
    see_through = (mark.signature() > EDGE_LEVEL) & ~grow_mask(mark.alpha >= OPAQUE_ALPHA, 1)
    if not see_through.any():
        return 1.0
    h, w = mark.alpha.shape
    window = (slice(match.y, match.y + h), slice(match.x, match.x + w))
    before = filters.gradient_magnitude(filters.gray(image[window]))[see_through].mean()
    after = filters.gradient_magnitude(filters.gray(unblend(image, template, match)[0][window]))
    return float(1 - after[see_through].mean() / max(before, 1e-6))


def unblend(image: np.ndarray, template: Template, match: TemplateMatch) -> tuple[np.ndarray, np.ndarray]:
    """(restored copy of image, uint8 mask of the opaque part left to inpaint)."""
    mark = template.scaled(match.scale)
    h, w = mark.alpha.shape
    rows, cols = slice(match.y, match.y + h), slice(match.x, match.x + w)
    alpha = mark.alpha[..., None]
    seen = image[rows, cols, :3].astype(np.float32)
    clear = np.minimum(alpha, OPAQUE_ALPHA)
    original = (seen - clear * mark.color) / (1 - clear)
    restored = image.copy()
    restored[rows, cols, :3] = np.where(alpha < OPAQUE_ALPHA, np.clip(original.round(), 0, 255), seen)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[rows, cols] = np.where(mark.alpha >= OPAQUE_ALPHA, 255, 0)
    return restored, mask


class TemplateDetector:
    """Finds the operator's known marks; `kind` of a region is `template:<file stem>`."""

    name = "templates"

    def __init__(
        self, templates: tuple[Template, ...], min_score: float, scales: tuple[float, ...] = DEFAULT_SCALES
    ) -> None:
        self.templates, self.min_score, self.scales = templates, min_score, scales

    def matches(self, image: np.ndarray) -> list[TemplateMatch]:
        """Correlation peaks that un-blending confirms (see edge_removal)."""
        edges = filters.Correlator(filters.gradient_magnitude(filters.gray(image)))
        return [
            m
            for t in self.templates
            for m in find_template(edges, t, self.scales, self.min_score)
            if edge_removal(image, t, m) >= MIN_EDGE_REMOVAL
        ]

    def detect(self, image: np.ndarray) -> DetectionResult:
        by_name = {t.name: t for t in self.templates}
        restored, mask, regions = image, np.zeros(image.shape[:2], np.uint8), []
        for match in self.matches(image):
            template = by_name[match.name]
            restored, opaque = unblend(restored, template, match)
            mask |= opaque
            h, w = template.scaled(match.scale).alpha.shape
            regions.append(Region(match.x, match.y, w, h, match.score, f"template:{match.name}"))
        if not regions:
            return DetectionResult.empty(image.shape)
        return DetectionResult(mask=mask, regions=tuple(regions), restored=restored)
