"""The targets `lama-serve bench detect` judges its rows by, and each row's verdict.

The code that builds a row (bench.detect_rows) knows which targets hold for it and passes
their bars to `judged`; faint marks, the user-style marks and small batches have none.

A row holds a sample of marks, so its mean is known only to its standard error (`recall_se`,
`iou_se`): at 8 composites per kind about +-0.1, at 128 about +-0.015. Besides met or short,
a row says by how many standard errors its mean clears its bar (`target_margin_se`, the
smallest over its metrics; negative when short): under NOISE_SE the sample cannot tell the
verdict from chance, and more composites per kind (`--per-kind`) can.
"""

from __future__ import annotations

from dataclasses import dataclass

from lama_serve.detect import synth

TARGET_OPACITY = 0.3  # the targets hold for marks at least this opaque
NOISE_SE = 2.0  # a margin under this many standard errors is within a sample's noise
SHARED_MIN_IMAGES = 8  # the batch-shared target holds for batches of 8 images or more
OVERLAY_KINDS = tuple(kind for kind in synth.KINDS if kind != "clean")


@dataclass(frozen=True)
class Bar:
    """A row's `metric` must reach `value` (or stay at or under it, for an `upper` bar)."""

    metric: str
    value: float
    upper: bool = False

    def holds(self, measured: float) -> bool:
        return measured <= self.value if self.upper else measured >= self.value


# Text and logo overlays at opacity >= TARGET_OPACITY; clean photos; one mark shared by a
# batch; known templates, every restored pixel within RESTORE_TOLERANCE levels.
OVERLAY_BARS = (Bar("recall", 0.9), Bar("iou", 0.6))
CLEAN_BARS = (Bar("false_positive_area", 0.01, upper=True),)
SHARED_BARS = (Bar("iou", 0.8),)
TEMPLATE_BARS = (Bar("restored_within_3_levels", 1.0),)


def _number(row: dict[str, object], key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else None


def composite_bars(kind: str, faint: bool) -> tuple[Bar, ...]:
    """The bars of a per-kind row of composites: clean photos', or the overlays' when the
    marks are at TARGET_OPACITY or more; none for other kinds (the user-style marks)."""
    if kind == "clean":
        return CLEAN_BARS
    return OVERLAY_BARS if kind in OVERLAY_KINDS and not faint else ()


def shared_bars(images: int, faint: bool) -> tuple[Bar, ...]:
    """The bars of a batch-shared row: the target holds for SHARED_MIN_IMAGES or more."""
    return SHARED_BARS if images >= SHARED_MIN_IMAGES and not faint else ()


def judged(row: dict[str, object], bars: tuple[Bar, ...]) -> dict[str, object]:
    """`row` with `target` ("met" or "short") against `bars` and, where their metrics have
    standard errors, `target_margin_se`; unchanged without bars."""
    if not bars:
        return row
    measured = [(bar, _number(row, bar.metric), _number(row, f"{bar.metric}_se")) for bar in bars]
    met = all(value is not None and bar.holds(value) for bar, value, _ in measured)
    verdict: dict[str, object] = {"target": "met" if met else "short"}
    margins = [
        (value - bar.value) / error * (-1 if bar.upper else 1)
        for bar, value, error in measured
        if value is not None and error  # a row of one image, or identical ones, has no spread
    ]
    if margins:
        verdict["target_margin_se"] = round(min(margins), 1)
    return row | verdict


def summary(rows: list[dict[str, object]]) -> str:
    """One line: how many judged rows met their targets, and which are within NOISE_SE."""
    judged_rows = [row for row in rows if "target" in row]
    met = sum(row["target"] == "met" for row in judged_rows)
    close = [
        f"{row['kind']} ({margin:+} se)"
        for row in judged_rows
        if (margin := _number(row, "target_margin_se")) is not None and abs(margin) < NOISE_SE
    ]
    line = f"targets (opacity >= {TARGET_OPACITY}): {met} of {len(judged_rows)} rows met"
    if close:
        line += f"; within {NOISE_SE:g} standard errors of a bar: {', '.join(close)} (more --per-kind narrows them)"
    return line
