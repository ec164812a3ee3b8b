import numpy as np
import pytest

from lama_serve.detect.regions import DEFAULT_KEEP_SCORE, regions_from_map
from tests.detect.images import blend, photo, text_alpha


def test_overlay_text_outscores_the_photos_own_text():
    image = photo(4, 400, 600)
    overlay = text_alpha("(c) Studio", 36, 0.5)
    oy, ox = 400 - overlay.shape[0] - 15, 600 - overlay.shape[1] - 15  # bottom-right corner
    image = blend(image, (255, 255, 255), overlay, ox, oy)
    sign = text_alpha("OPEN", 30, 1.0)
    sy, sx = 180, 40  # middle of the left edge, where marks are not put
    image[sy - 10 : sy + sign.shape[0] + 10, sx - 10 : sx + sign.shape[1] + 10] = 240  # a sign
    image = blend(image, (20, 20, 20), sign, sx, sy)
    probability = np.zeros((400, 600, 1), np.float32)
    probability[oy - 3 : oy + overlay.shape[0] + 3, ox - 3 : ox + overlay.shape[1] + 3] = 0.9
    probability[sy - 3 : sy + sign.shape[0] + 3, sx - 3 : sx + sign.shape[1] + 3] = 0.9
    result = regions_from_map(probability, image, kind="text")
    by_place = {r.x < 300: r for r in result.regions}
    watermark, photo_text = by_place[False], by_place[True]
    assert watermark.score > DEFAULT_KEEP_SCORE > photo_text.score
    assert result.mask[oy, ox] == 255 and result.mask[sy, sx] == 0  # photo text reported, not masked
    assert result.watermark_found


def test_map_without_hits_is_empty():
    result = regions_from_map(np.zeros((10, 10)), np.zeros((10, 10, 3), np.uint8), kind="seg")
    assert result.regions == () and not result.watermark_found and result.coverage == 0.0


@pytest.mark.parametrize("area, kept", [(9, False), (25, True)])
def test_tiny_regions_are_dropped(area, kept):
    probability = np.zeros((50, 50))
    side = int(area**0.5)
    probability[20 : 20 + side, 20 : 20 + side] = 1.0
    result = regions_from_map(probability, np.full((50, 50, 3), 128, np.uint8), kind="seg", keep_score=0.0)
    assert bool(result.regions) is kept


def test_grow_dilates_kept_regions_only():
    """A 4x4 core kept and grown by 2 px covers 8x8; `grow` is how a text line's DB core
    reaches its glyphs."""
    probability = np.zeros((32, 32), np.float32)
    probability[10:14, 10:14] = 0.9
    image = np.full((32, 32, 3), 128, np.uint8)
    grown = regions_from_map(probability, image, kind="t", keep_score=0.0, grow=2)
    assert np.count_nonzero(grown.mask) == 64 and grown.mask[8:16, 8:16].all()
    dropped = regions_from_map(probability, image, kind="t", keep_score=1.0, grow=2)
    assert not dropped.mask.any() and len(dropped.regions) == 1


def test_served_models_have_tuned_profiles_others_the_defaults():
    from lama_serve.detect.regions import MAP_PROFILES, MapProfile, profile_for

    assert profile_for("watermark_text") is MAP_PROFILES["watermark_text"]
    assert profile_for("watermark_text").grow > 0
    assert profile_for("operator_model") == MapProfile(threshold=0.5, keep_score=DEFAULT_KEEP_SCORE, grow=0)


def test_confirmed_keeps_pixels_the_other_map_supports():
    from lama_serve.detect.regions import MapProfile, confirmed
    from lama_serve.detect.types import DetectionResult

    mask = np.zeros((4, 6), np.uint8)
    mask[:, :4] = 255
    other = np.zeros((4, 6, 1), np.float32)
    other[:, 2:] = 0.05
    result = DetectionResult(mask=mask)
    profile = MapProfile(confirm_by="seg", confirm_above=0.02)
    kept = confirmed(result, profile, {"seg": other})
    assert kept.mask[:, 2:4].all() and not kept.mask[:, :2].any() and not kept.mask[:, 4:].any()
    assert confirmed(result, profile, {}) is result  # the confirming model is not served
    assert confirmed(result, MapProfile(), {"seg": other}) is result
    assert "confirm_by" not in profile.mask_options() and profile.mask_options()["threshold"] == 0.5


def test_followers_are_eligible_regions_near_a_kept_one():
    """Regions 1 (kept), 2 (6 px away), 3 (30 px away): with gap 4 (8 px between dilations)
    only 2 follows; an ineligible region never does."""
    from lama_serve.detect.regions import followers

    labels = np.zeros((10, 60), np.int32)
    labels[2:6, 2:8], labels[2:6, 14:20], labels[2:6, 50:56] = 1, 2, 3
    kept = np.array([False, True, False, False])
    eligible = np.array([False, True, True, True])
    assert followers(labels, kept, eligible, 4).tolist() == [False, False, True, False]
    assert followers(labels, kept, np.array([False, True, False, True]), 4).tolist() == [False] * 4
    assert followers(labels, kept, eligible, 2).tolist() == [False] * 4  # 6 px apart: gap 2 bridges 4
    assert not followers(labels, np.zeros(4, bool), eligible, 4).any()


def test_a_weaker_word_next_to_a_kept_one_joins_the_mask():
    """Two words of one line (the second fainter in the map) and a faint blob far away: the
    second word is masked through `follow_gap`, the blob is not."""
    probability = np.zeros((64, 128), np.float32)
    probability[20:30, 10:40], probability[20:30, 46:76], probability[50:54, 110:114] = 0.9, 0.6, 0.6
    image = np.full((64, 128, 3), 128, np.uint8)
    scores = {r.x: r.score for r in regions_from_map(probability, image, kind="seg", keep_score=1.0).regions}
    keep = (scores[10] + scores[46]) / 2
    share = (min(scores[46], scores[110]) - 0.01) / keep
    assert scores[46] < keep <= scores[10] and scores[110] < keep
    alone = regions_from_map(probability, image, kind="seg", keep_score=keep)
    line = regions_from_map(probability, image, kind="seg", keep_score=keep, follow_gap=4, follow_share=share)
    assert np.count_nonzero(alone.mask) == 300 and np.count_nonzero(line.mask) == 600
    assert line.mask[20:30, 46:76].all() and not line.mask[50:54, 110:114].any()


def test_a_region_the_model_is_unsure_of_is_kept_only_as_a_follower():
    """Map means 0.9 (a mark), 0.5 far away (texture) and 0.5 next to the mark (a word the map
    is unsure of): with min_mean 0.6 the far one is reported, not masked; the near one follows."""
    probability = np.zeros((64, 128), np.float32)
    probability[20:30, 10:40], probability[20:30, 46:76], probability[50:60, 90:120] = 0.9, 0.5, 0.5
    image = np.full((64, 128, 3), 128, np.uint8)
    alone = regions_from_map(probability, image, kind="seg", threshold=0.3, keep_score=0.0, min_mean=0.6)
    assert np.count_nonzero(alone.mask) == 300 and alone.mask[20:30, 10:40].all() and len(alone.regions) == 3
    line = regions_from_map(probability, image, kind="seg", threshold=0.3, keep_score=0.0, min_mean=0.6, follow_gap=4)
    assert np.count_nonzero(line.mask) == 600 and not line.mask[50:60, 90:120].any()
    everything = regions_from_map(probability, image, kind="seg", threshold=0.3, keep_score=0.0)
    assert np.count_nonzero(everything.mask) == 900
