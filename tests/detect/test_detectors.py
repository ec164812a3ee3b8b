import numpy as np
import pytest
from PIL import Image

from lama_serve.core.settings import Settings
from lama_serve.detect.detectors import MapDetector, build_detectors, run_detectors
from lama_serve.detect.templates import TemplateDetector
from lama_serve.detect.tiled import TiledDetector
from lama_serve.detect.types import DetectionConfigError
from tests.detect.images import blend, photo, text_alpha


def test_detectors_setting_reads_a_comma_list(monkeypatch):
    monkeypatch.setenv("DETECTORS", "tiled, my_model ,")
    assert Settings().detectors == ("tiled", "my_model")
    monkeypatch.delenv("DETECTORS")
    assert Settings().detectors == ("watermark_text", "watermark_seg", "templates", "tiled")


def test_served_names_come_from_the_caller_and_templates_need_a_folder():
    settings = Settings(detectors=("watermark_text", "templates", "tiled", "my_onnx"))
    built = build_detectors(settings, served=lambda name: MapDetector(name, lambda image: image[..., 0]))
    assert [d.name for d in built] == ["watermark_text", "tiled", "my_onnx"]  # no templates dir
    assert isinstance(built[1], TiledDetector)


def test_served_name_without_a_client_is_a_config_error():
    with pytest.raises(DetectionConfigError, match="watermark_seg"):
        build_detectors(Settings(detectors=("watermark_seg",)))


def test_templates_run_first_and_others_see_the_restored_image(tmp_path):
    alpha = text_alpha("ACME", 48, 0.45)
    rgba = np.dstack([np.full(alpha.shape + (3,), 255, np.uint8), (alpha * 255).round().astype(np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "acme.png")
    settings = Settings(detectors=("templates", "probe"), watermark_templates_dir=tmp_path)
    seen = []
    probe = MapDetector("probe", lambda image: seen.append(image) or np.zeros(image.shape[:2]))
    detectors = build_detectors(settings, served=lambda name: probe)
    assert isinstance(detectors[0], TemplateDetector)
    clean = photo(2, 320, 320)
    marked = blend(clean, (255, 255, 255), rgba[..., 3] / 255, 40, 50)
    result = run_detectors(detectors, marked)
    assert seen[0] is result.restored
    assert np.abs(result.restored.astype(int) - clean).max() <= 3
    assert result.watermark_found and result.regions[0].kind == "template:acme"


def test_map_detector_takes_its_profile_unless_told():
    from lama_serve.detect.regions import MapProfile, profile_for

    tuned = MapDetector("watermark_text", lambda image: image[..., 0])
    assert tuned.profile == profile_for("watermark_text")
    told = MapDetector("watermark_text", lambda image: image[..., 0], threshold=0.7, keep_score=0.1)
    assert (told.profile.threshold, told.profile.keep_score) == (0.7, 0.1)
    assert told.profile.grow == profile_for("watermark_text").grow
    own = MapDetector("mine", lambda image: image[..., 0], profile=MapProfile(grow=3))
    assert own.profile == MapProfile(grow=3)
