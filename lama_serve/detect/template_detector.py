"""The `templates` detector: the operator's known marks found (detect.templates, and between
the listed sizes when asked, detect.template_sizes) and un-blended."""

from __future__ import annotations

import numpy as np

from lama_serve.detect import filters
from lama_serve.detect.template_sizes import search_between
from lama_serve.detect.templates import Template, TemplateMatch, best_copies, scan, sizes_of, unblend
from lama_serve.detect.types import DetectionResult, Region


class TemplateDetector:
    """Finds the operator's known marks; `kind` of a region is `template:<file stem>`.

    `size_search`: where a template has no confirmed copy at the listed `scales`, also look
    between them (costs ~0.6 s per template on a 512 px photo)."""

    name = "templates"

    def __init__(
        self, templates: tuple[Template, ...], min_score: float, scales: tuple[float, ...], size_search: bool = False
    ) -> None:
        self.templates, self.min_score, self.size_search = templates, min_score, size_search
        self.size_of = {t.name: sizes_of(t) for t in templates}  # sizes made once, not per image
        self.sizes = {name: tuple(size_of(scale) for scale in scales) for name, size_of in self.size_of.items()}

    def matches(self, image: np.ndarray) -> list[TemplateMatch]:
        """Confirmed copies of every template (templates.best_copies)."""
        plane = filters.gradient_magnitude(filters.gray(image))
        edges = filters.Correlator(plane)
        found = []
        for template in self.templates:
            checked = scan(image, edges, self.sizes[template.name], self.min_score)
            copies = best_copies(checked)
            if not copies and self.size_search:
                copies = best_copies(search_between(image, plane, self.size_of[template.name], checked))
            found += copies
        return found

    def detect(self, image: np.ndarray) -> DetectionResult:
        restored, mask, regions = image, np.zeros(image.shape[:2], np.uint8), []
        for match in self.matches(image):
            restored, opaque = unblend(restored, match.sized.mark, match.x, match.y)
            mask |= opaque
            regions.append(Region(match.x, match.y, match.width, match.height, match.score, f"template:{match.name}"))
        if not regions:
            return DetectionResult.empty(image.shape)
        return DetectionResult(mask=mask, regions=tuple(regions), restored=restored)
