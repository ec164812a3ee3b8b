"""Known marks: operator templates (PNG with alpha) found by multi-scale NCC, un-blended.

A template is the mark's colour W and alpha a. Where it sits in an image J = (1-a) I + a W,
so wherever a < OPAQUE_ALPHA the photo comes back exactly: I = (J - a W) / (1 - a); only
the opaque rest is left to inpaint. Matching correlates gradient magnitudes, which do not
depend on whether the photo under the mark is darker or lighter than the mark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from PIL import Image

from lama_serve.detect import filters
from lama_serve.detect.masks import grow_mask
from lama_serve.detect.types import DetectionConfigError

OPAQUE_ALPHA = 0.95  # above this (J - aW)/(1 - a) amplifies 8-bit noise past 10 levels: inpaint
# Per template: repeated copies of one mark. Also the correlation peaks per scale that
# un-blending checks: over 48 held-out placements (opacity 0.2-0.7) the true place was always
# among its scale's best five, though not always the best.
MAX_MATCHES = 8
NEUTRAL = 128.0  # background a template is drawn on to get its edge signature
# Un-blending a real match removes the mark's share of the edges; at a false peak it adds
# edges. Measured over those 48 placements: 0.045-0.97 at the true place (median 0.78), at
# most -0.15 at 2598 false peaks of marked and clean photos.
MIN_EDGE_REMOVAL = 0.0
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


@dataclass(frozen=True, eq=False)
class SizedMark:
    """A template at one scale with what matching needs of it, computed once (for the listed
    scales, when the detector is built)."""

    mark: Template
    scale: float
    signature: np.ndarray
    support: np.ndarray  # where the signature counts in the correlation
    see_through: np.ndarray  # the edges un-blending can check (edge_removal)


def sized(template: Template, scale: float) -> SizedMark:
    mark = template.scaled(scale)
    signature = mark.signature()
    edges = signature > EDGE_LEVEL
    see_through = edges & ~grow_mask(mark.alpha >= OPAQUE_ALPHA, 1)
    return SizedMark(mark, scale, signature, grow_mask(edges, 1), see_through)


SizeOf = Callable[[float], SizedMark]
# Sizes of one template kept for reuse: the listed scales and the size search's grid around
# them (detect.template_sizes: 15 coarse and 9 fine steps) come back on every image.
SIZES_KEPT = 64


def sizes_of(template: Template) -> SizeOf:
    """`sized(template, scale)`, each scale made once while it is among the SIZES_KEPT most
    recently asked (a detector builds this once, not per image)."""
    return lru_cache(maxsize=SIZES_KEPT)(partial(sized, template))


@dataclass(frozen=True)
class TemplateMatch:
    """A place checked for a template at one size: the edge correlation there (`score`) and
    the share of edges un-blending removes (`removal`, see edge_removal)."""

    x: int
    y: int
    score: float
    removal: float
    sized: SizedMark = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.sized.mark.name

    @property
    def scale(self) -> float:
        return self.sized.scale

    @property
    def height(self) -> int:
        return self.sized.mark.alpha.shape[0]

    @property
    def width(self) -> int:
        return self.sized.mark.alpha.shape[1]


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
    """Up to MAX_MATCHES best positions above min_score, each suppressing the positions
    within a quarter of the template around it. Every peak is checked by un-blending, so a
    close second peak must survive: a faint mark's own peak (NCC 0.17) lay 58 px from a
    stronger false one (0.19) on a 640x427 photo and was suppressed by a half-template
    neighbourhood (the bench's template row, seeds 0-7 at 512, 640x427 and 1024 px: 191 -> 192
    of 192 found; no clean photo of 96 gets a template)."""
    score = score.copy()
    found = []
    for _ in range(MAX_MATCHES):
        y, x = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[y, x] < min_score:
            break
        found.append((int(x), int(y), float(score[y, x])))
        score[max(y - h // 4, 0) : y + h // 4 + 1, max(x - w // 4, 0) : x + w // 4 + 1] = -1
    return found


def edge_removal(image: np.ndarray, size: SizedMark, x: int, y: int) -> float:
    """Share of the edge energy on the mark's see-through edges that un-blending it (at
    `size`) at (x, y) removes.

    The check that a correlation peak is the mark: undoing a real blend erases its edges
    (above 0), undoing it where the mark is not adds the mark's negative (below 0). A mark
    with no see-through part cannot be checked this way and passes (1.0).
    """
    see_through = size.see_through
    if not see_through.any():
        return 1.0
    h, w = see_through.shape
    window = image[y : y + h, x : x + w]
    before = filters.gradient_magnitude(filters.gray(window))[see_through].mean()
    after = filters.gradient_magnitude(filters.gray(unblend(window, size.mark, 0, 0)[0]))
    return float(1 - after[see_through].mean() / max(before, 1e-6))


def _overlaps(a: TemplateMatch, b: TemplateMatch) -> bool:
    """Whether the boxes of a and b share more than a quarter of the smaller one."""
    dy = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    dx = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    return dy > 0 and dx > 0 and dy * dx > 0.25 * min(a.width * a.height, b.width * b.height)


def checked_place(image: np.ndarray, size: SizedMark, x: int, y: int, ncc: float) -> TemplateMatch:
    """The mark at `size` placed at (x, y), with its edge removal measured."""
    return TemplateMatch(x, y, ncc, edge_removal(image, size, x, y), size)


def scan(
    image: np.ndarray, edges: filters.Correlator, sizes: Sequence[SizedMark], min_score: float
) -> list[TemplateMatch]:
    """The MAX_MATCHES strongest correlation peaks of every one of a template's `sizes` in
    `image` (`edges`: its gradient magnitude), each checked by un-blending (edge_removal)."""
    checked = []
    for size in sizes:
        h, w = size.signature.shape
        if h > edges.plane.shape[0] or w > edges.plane.shape[1]:
            continue
        score = edges.ncc(size.signature, size.support)
        checked += [checked_place(image, size, x, y, ncc) for x, y, ncc in _peaks(score, h, w, min_score)]
    return checked


def best_copies(checked: list[TemplateMatch]) -> list[TemplateMatch]:
    """The places un-blending confirms, most edges removed first, none overlapping a better
    one, at most MAX_MATCHES.

    Faint marks over busy photos correlate weakly (0.14 at opacity 0.2) and a false peak can
    outscore the true one, often at another scale; un-blending tells them apart."""
    kept: list[TemplateMatch] = []
    for match in sorted(checked, key=lambda m: -m.removal):
        if match.removal <= MIN_EDGE_REMOVAL or len(kept) == MAX_MATCHES:
            break
        if not any(_overlaps(match, other) for other in kept):
            kept.append(match)
    return kept


def unblend(image: np.ndarray, mark: Template, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """(restored copy of image, uint8 mask of the opaque part left to inpaint), for `mark`
    (at its scale) blended at (x, y)."""
    h, w = mark.alpha.shape
    rows, cols = slice(y, y + h), slice(x, x + w)
    alpha = mark.alpha[..., None]
    seen = image[rows, cols, :3].astype(np.float32)
    clear = np.minimum(alpha, OPAQUE_ALPHA)
    original = (seen - clear * mark.color) / (1 - clear)
    restored = image.copy()
    restored[rows, cols, :3] = np.where(alpha < OPAQUE_ALPHA, np.clip(original.round(), 0, 255), seen)
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[rows, cols] = np.where(mark.alpha >= OPAQUE_ALPHA, 255, 0)
    return restored, mask
