"""Each bench row is judged against the issue's targets, with its margin in standard errors,
so a small sample's verdict is shown as such."""

from __future__ import annotations

from lama_serve.bench.detect_targets import (
    CLEAN_BARS,
    OVERLAY_BARS,
    SHARED_BARS,
    TEMPLATE_BARS,
    composite_bars,
    judged,
    shared_bars,
    summary,
)


def overlay(kind: str, recall: float, recall_se: float, iou: float, iou_se: float) -> dict[str, object]:
    return {"kind": kind, "images": 24, "recall": recall, "recall_se": recall_se, "iou": iou, "iou_se": iou_se}


def judged_overlay(*figures: float) -> dict[str, object]:
    return judged(overlay("text_corner", *figures), OVERLAY_BARS)


def test_an_overlay_row_is_met_only_when_recall_and_iou_reach_their_bars() -> None:
    met = judged_overlay(0.932, 0.014, 0.725, 0.019)
    assert met["target"] == "met"
    assert met["target_margin_se"] == 2.3  # (0.932 - 0.9) / 0.014; IoU's (0.725 - 0.6) / 0.019 is 6.6
    short = judged_overlay(0.889, 0.042, 0.615, 0.042)
    assert short["target"] == "short" and short["target_margin_se"] == -0.3
    low_iou = judged_overlay(0.95, 0.01, 0.55, 0.01)
    assert low_iou["target"] == "short" and low_iou["target_margin_se"] == -5.0


def test_rows_outside_the_targets_are_left_as_they_are() -> None:
    assert composite_bars("text_corner", faint=True) == ()
    assert composite_bars("user_corner", faint=False) == composite_bars("user_diagonal", faint=False) == ()
    assert composite_bars("logo", faint=False) == OVERLAY_BARS and composite_bars("clean", faint=False) == CLEAN_BARS
    assert shared_bars(4, faint=False) == () and shared_bars(8, faint=True) == ()
    assert shared_bars(8, faint=False) == SHARED_BARS
    row = overlay("text_corner (faint)", 0.5, 0.1, 0.3, 0.1)
    assert judged(row, ()) == row


def test_false_positives_are_an_upper_bar_and_templates_must_restore_every_pixel() -> None:
    assert judged({"kind": "clean", "images": 8, "false_positive_area": 0.0036}, CLEAN_BARS)["target"] == "met"
    whole = {"kind": "clean, whole held-out photos at their own size", "images": 5, "false_positive_area": 0.02}
    assert judged(whole, CLEAN_BARS)["target"] == "short" and "target_margin_se" not in judged(whole, CLEAN_BARS)
    shared = {"kind": "shared text_corner over 8 images of different sizes", "images": 8, "iou": 0.86}
    assert judged(shared, SHARED_BARS)["target"] == "met"
    template = {"kind": "known template (un-blended)", "images": 8, "found": 6, "restored_within_3_levels": 0.794}
    assert judged(template, TEMPLATE_BARS)["target"] == "short"
    assert judged(template | {"found": 0, "restored_within_3_levels": None}, TEMPLATE_BARS)["target"] == "short"


def test_one_image_has_no_spread_and_no_margin() -> None:
    row = judged_overlay(1.0, 0.0, 1.0, 0.0)
    assert row["target"] == "met" and "target_margin_se" not in row


def test_the_summary_counts_rows_and_names_those_within_the_noise() -> None:
    rows = [
        judged_overlay(0.889, 0.042, 0.615, 0.042),
        judged(overlay("text_centre", 0.952, 0.009, 0.748, 0.029), OVERLAY_BARS),
        judged({"kind": "clean", "images": 32, "false_positive_area": 0.0}, CLEAN_BARS),
        overlay("user_corner", 0.9, 0.02, 0.5, 0.04),
    ]
    assert summary(rows) == (
        "targets (opacity >= 0.3): 2 of 3 rows met; within 2 standard errors of a bar: "
        "text_corner (-0.3 se) (more --per-kind narrows them)"
    )
    assert summary(rows[1:]) == "targets (opacity >= 0.3): 2 of 2 rows met"
