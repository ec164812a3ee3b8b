import numpy as np
from PIL import Image

from lama_serve.core.settings import Settings
from lama_serve.detect.detectors import (
    detect_from_maps,
    detect_on_view,
    local_detectors,
    map_profile,
    run_detectors,
    served_detectors,
)
from lama_serve.detect.template_detector import TemplateDetector
from lama_serve.detect.tiled import TiledDetector
from lama_serve.detect.types import DetectionResult
from tests.detect.images import blend, photo, text_alpha


def test_detectors_setting_reads_a_comma_list(monkeypatch):
    monkeypatch.setenv("DETECTORS", "tiled, my_model ,")
    assert Settings().detectors == ("tiled", "my_model")
    monkeypatch.delenv("DETECTORS")
    assert Settings().detectors == ("watermark_text", "watermark_seg", "templates")


def test_templates_need_a_folder():
    settings = Settings(detectors=("watermark_text", "templates", "tiled", "my_onnx"))
    built = local_detectors(settings)
    assert [d.name for d in built] == ["tiled"]  # no templates dir
    assert isinstance(built[0], TiledDetector)


class Probe:
    """A detector that records the images it is given and finds nothing."""

    name = "probe"

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def detect(self, image: np.ndarray) -> DetectionResult:
        self.seen.append(image)
        return DetectionResult.empty(image.shape)


def test_templates_run_first_and_others_see_the_restored_image(tmp_path):
    alpha = text_alpha("ACME", 48, 0.45)
    rgba = np.dstack([np.full(alpha.shape + (3,), 255, np.uint8), (alpha * 255).round().astype(np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "acme.png")
    settings = Settings(detectors=("templates", "watermark_seg"), watermark_templates_dir=tmp_path)
    probe = Probe()
    detectors = (*local_detectors(settings), probe)
    assert isinstance(detectors[0], TemplateDetector)
    clean = photo(2, 320, 320)
    marked = blend(clean, (255, 255, 255), rgba[..., 3] / 255, 40, 50)
    result = run_detectors(detectors, marked)
    assert probe.seen[0] is result.restored
    assert np.abs(result.restored.astype(int) - clean).max() <= 3
    assert result.watermark_found and result.regions[0].kind == "template:acme"


def test_local_and_served_split_keeps_the_order():
    settings = Settings(detectors=("watermark_text", "tiled", "my_onnx", "templates"))
    assert served_detectors(settings) == ("watermark_text", "my_onnx")
    assert [d.name for d in local_detectors(settings)] == ["tiled"]  # no templates dir


def test_detect_from_maps_scores_each_map_and_keeps_the_local_result():
    image = photo(3, 64, 96)
    probability = np.zeros((64, 96, 1), np.float32)
    probability[2:12, 4:40] = 0.99  # a confident corner strip
    local = DetectionResult(mask=np.zeros((64, 96), np.uint8), restored=image)
    result = detect_from_maps({"text": probability, "seg": np.zeros((64, 96, 1))}, image, local)
    assert result.restored is image
    assert [r.kind for r in result.regions] == ["text"]
    assert (result.regions[0].x, result.regions[0].y, result.regions[0].width) == (4, 2, 36)
    assert detect_from_maps({}, image).mask.shape == (64, 96)


def test_map_profile_is_the_tuned_one_unless_told_a_keep_score():
    from lama_serve.detect.regions import MapProfile, profile_for

    assert map_profile("watermark_text") == profile_for("watermark_text")
    told = map_profile("watermark_text", 0.1)
    assert told.keep_score == 0.1 and told.grow == profile_for("watermark_text").grow
    assert map_profile("mine") == MapProfile()


def test_detect_from_maps_overrides_a_keep_score():
    image = photo(3, 64, 96)
    probability = np.zeros((64, 96, 1), np.float32)
    probability[2:12, 4:40] = 0.99
    assert detect_from_maps({"text": probability}, image).mask.any()
    assert not detect_from_maps({"text": probability}, image, keep_scores={"text": 1.0}).mask.any()


def test_detect_from_maps_confirms_by_the_named_map(monkeypatch):
    from lama_serve.detect import regions

    image = photo(3, 64, 96)
    text = np.zeros((64, 96, 1), np.float32)
    text[2:12, 4:40] = 0.99
    seg = np.zeros((64, 96, 1), np.float32)
    seg[:, :20] = 0.5  # supports the strip's left part only
    profile = regions.MapProfile(keep_score=0.0, confirm_by="seg", confirm_above=0.1)
    monkeypatch.setitem(regions.MAP_PROFILES, "text", profile)
    confirmed = detect_from_maps({"text": text, "seg": seg}, image).mask
    assert confirmed[2:12, 4:20].all() and not confirmed[:, 21:].any()  # past the 1 px rim
    alone = detect_from_maps({"text": text}, image).mask  # no seg map served: text as is
    assert alone[2:12, 4:40].all()


def test_detect_from_maps_anchors_a_map_to_the_mask_its_profile_names(monkeypatch):
    from lama_serve.detect import regions

    image = photo(4, 96, 160)
    text = np.zeros((96, 160, 1), np.float32)
    text[4:14, 6:60] = 0.99
    seg = np.zeros((96, 160, 1), np.float32)
    seg[4:14, 6:60] = 0.95  # the segmenter sees the text mark
    seg[50:80, 100:140] = 0.7  # and a stray region of the photo, less surely
    monkeypatch.setitem(regions.MAP_PROFILES, "text", regions.MapProfile(keep_score=0.0))
    anchored = regions.MapProfile(keep_score=0.0, anchor_by="text", anchor_keep=0.8)
    monkeypatch.setitem(regions.MAP_PROFILES, "seg", anchored)
    # the anchored map is listed first: the anchor's mask is made before it all the same
    mask = detect_from_maps({"seg": seg, "text": text}, image).mask
    assert mask[4:14, 6:60].all() and not mask[50:80, 100:140].any()
    alone = detect_from_maps({"seg": seg}, image).mask  # no text model served: nothing to anchor to
    assert alone[55:75, 105:135].all()


def test_detect_on_view_answers_at_the_images_size_with_the_local_mask_exact():
    """Maps of a half-size view: the strip they find comes back at twice its size; the local
    detector's one-pixel mark at full size stays one pixel (the view would have made it 2x2)."""
    image = photo(3, 128, 192)
    view = image[::2, ::2]
    probability = np.zeros((64, 96, 1), np.float32)
    probability[2:12, 4:40] = 0.99
    local_mask = np.zeros((128, 192), np.uint8)
    local_mask[100, 101] = 255
    result = detect_on_view({"text": probability}, view, DetectionResult(mask=local_mask))
    on_view = detect_from_maps({"text": probability}, view)
    assert result.mask.shape == (128, 192) and result.mask[100, 101] == 255
    assert np.array_equal(result.mask[::2, ::2] > 0, (on_view.mask > 0) | (local_mask[::2, ::2] > 0))
    assert [(r.x, r.y, r.width) for r in result.regions] == [(8, 4, 72)]
    same = detect_on_view({"text": probability}, view, DetectionResult.empty(view.shape))
    assert np.array_equal(same.mask, on_view.mask)
