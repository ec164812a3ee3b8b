"""Requests without a mask, end to end through the real bundled Triton serving the tiny
LaMa and both detector models (watermark_text, watermark_seg)."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from lama_serve.detect.synth import make_composite, random_photo
from lama_serve.triton.process import TritonProcess
from tests.detect.images import blend, photo, place, text_alpha

from .conftest import AUTH, SettingsFactory, assert_error, decode, encode, files, finished, gateway, with_rim

pytestmark = pytest.mark.anyio
URL = "/api/v1/remove-watermark"
DETECT = "/api/v1/detect"
SIDE = 192


def marked_photo() -> tuple[np.ndarray, np.ndarray]:
    """A real photo (held-out split) with a white semi-transparent text mark in its
    bottom-right corner, and the mark's ground-truth area."""
    alpha = text_alpha("SAMPLE", 28, 0.7)
    x, y = SIDE - alpha.shape[1] - 8, SIDE - alpha.shape[0] - 8
    clean = random_photo(np.random.default_rng(0), "heldout", (SIDE, SIDE))
    return blend(clean, (255, 255, 255), alpha, x, y), place((SIDE, SIDE), alpha, x, y)


def flat() -> np.ndarray:
    return np.full((64, 96, 3), 128, np.uint8)


@pytest.fixture
async def client(make_settings: SettingsFactory, detector_triton: TritonProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway(make_settings(triton_url=detector_triton.http_url)) as client:
        yield client


async def test_no_mask_detects_and_removes_a_text_mark(client: httpx.AsyncClient) -> None:
    image, truth = marked_photo()
    response = await client.post(URL, headers=AUTH, files=files(encode(image)))
    assert response.status_code == 200, response.text
    assert response.headers["X-Mask-Source"] == "detected"
    assert response.headers["X-Watermark-Regions"] == "1"  # one word: its pieces are one area
    changed = (decode(response.content) != image).any(axis=2)
    assert changed[truth].mean() > 0.9 and changed[~with_rim(truth)].mean() < 0.05  # the mark, little else
    tight = await client.post(URL, headers=AUTH, files=files(encode(image)), data={"grow_mask": "0"})
    tight_changed = (decode(tight.content) != image).any(axis=2)  # DETECTED_MASK_GROW (2) replaced
    assert tight_changed.sum() < changed.sum() and tight_changed[truth].mean() < changed[truth].mean()
    grown = await client.post(URL, headers=AUTH, files=files(encode(image)), data={"grow_mask": "4"})
    grown_changed = (decode(grown.content) != image).any(axis=2)
    assert grown_changed[truth].all() and changed.sum() < grown_changed.sum() < 4 * changed.sum()


async def test_nothing_found_returns_the_image_unchanged(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, headers=AUTH, files=files(encode(flat())))
    assert response.status_code == 200, response.text
    assert response.headers["X-Mask-Source"] == "detected"
    assert response.headers["X-Watermark-Regions"] == "0"
    np.testing.assert_array_equal(decode(response.content), flat())


async def test_detect_json_and_png(client: httpx.AsyncClient) -> None:
    image, truth = marked_photo()
    found = await client.post(DETECT, headers=AUTH, files=files(encode(image)))
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["watermark_found"] and 0 < body["coverage"] < 0.2
    assert set(body["regions"][0]) == {"x", "y", "width", "height", "score", "kind"}
    for ask in ({"params": {"format": "png"}}, {"headers": {**AUTH, "Accept": "image/png"}}):
        png = await client.post(DETECT, **{"headers": AUTH, **ask}, files=files(encode(image)))
        assert png.headers["content-type"] == "image/png"
        mask = decode(png.content)
        assert mask.shape == (SIDE, SIDE) and set(np.unique(mask)) <= {0, 255}
        assert (mask[truth] == 255).mean() > 0.9 and (mask[~truth] == 255).mean() < 0.05
    clean = (await client.post(DETECT, headers=AUTH, files=files(encode(flat())))).json()
    assert clean == {"watermark_found": False, "regions": [], "coverage": 0.0}


async def test_a_large_logo_is_filled_from_the_coarse_view(client: httpx.AsyncClient) -> None:
    """A held-out logo 200 px wide at opacity 0.37 on a 512 px photo: the segmenter's full-size
    map finds a fifth of it (offline), the coarse view's map the rest (detect.coarse)."""
    logo = make_composite(np.random.default_rng(36), "logo", "heldout", (512, 512))
    png = await client.post(DETECT, headers=AUTH, params={"format": "png"}, files=files(encode(logo.image)))
    mask = decode(png.content) == 255
    assert mask[logo.mask].mean() > 0.9 and mask[~logo.mask].mean() < 0.02


async def test_a_logo_on_a_768_px_photo_is_found_in_a_scaled_view(client: httpx.AsyncClient) -> None:
    """A grey star (opacity 0.58) on a retina photo: the segmenter's full-size and native
    (512 px) maps hardly see it (means 0.03 and 0.00), its coarse (256 px) map is sure of it
    (0.97), so the coarse fill takes it without an outline (offline: 0.985 of it)."""
    logo = make_composite(np.random.default_rng(2), "logo", "heldout", (768, 768))
    png = await client.post(DETECT, headers=AUTH, params={"format": "png"}, files=files(encode(logo.image)))
    mask = decode(png.content) == 255
    assert mask[logo.mask].mean() > 0.8 and mask[~logo.mask].mean() < 0.02


async def test_a_photo_over_the_work_side_is_detected_on_a_smaller_copy(
    make_settings: SettingsFactory, detector_triton: TritonProcess
) -> None:
    """DETECTION_WORK_SIDE 256 for a 512 px photo: the maps are made into a mask at 256 px
    and the mask scaled back; the large logo above is still found (offline: 0.993 of it,
    0.2 % of the rest) and the mask has the photo's size."""
    logo = make_composite(np.random.default_rng(36), "logo", "heldout", (512, 512))
    settings = make_settings(triton_url=detector_triton.http_url, detection_work_side=256)
    async with gateway(settings) as client:
        png = await client.post(DETECT, headers=AUTH, params={"format": "png"}, files=files(encode(logo.image)))
    mask = decode(png.content) == 255
    assert mask.shape == (512, 512) and mask[logo.mask].mean() > 0.9 and mask[~logo.mask].mean() < 0.02


async def test_detect_as_a_job_answers_like_the_sync_route(client: httpx.AsyncClient) -> None:
    image, _ = marked_photo()
    for params in ({}, {"format": "png"}):
        sync = await client.post(DETECT, headers=AUTH, params=params, files=files(encode(image)))
        accepted = await client.post(
            DETECT, headers={**AUTH, "Prefer": "respond-async"}, params=params, files=files(encode(image))
        )
        assert accepted.status_code == 202, accepted.text
        job = await finished(client, accepted.headers["location"])
        assert job["status"] == "succeeded", job
        result = await client.get(job["urls"]["result"], headers=AUTH)
        assert result.content == sync.content
        assert result.headers["content-type"] == sync.headers["content-type"]


async def test_health_lists_the_active_detectors(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/health")).json()
    assert body["detectors"] == ["watermark_text", "watermark_seg"]  # no templates dir


async def test_rgba_alpha_rectangles_and_grow_mask(client: httpx.AsyncClient) -> None:
    image = photo(6, 64, 64)
    alpha = np.full((64, 64), 255, np.uint8)
    alpha[10:20, 30:40] = 0  # erased to transparency: the area to fill
    response = await client.post(URL, headers=AUTH, files=files(encode(np.dstack([image, alpha]))))
    assert response.headers["X-Mask-Source"] == "upload", response.text
    out = decode(response.content)
    assert out.shape == (64, 64, 3)  # the transparency was the hole: it is filled now
    changed = (out != image).any(axis=2)
    assert changed[10:20, 30:40].all() and not changed[alpha == 255].any()

    rects = {"rectangles": json.dumps([[4, 4, 8, 8], {"x": 40, "y": 40, "width": 6, "height": 6}]), "grow_mask": "2"}
    response = await client.post(URL, headers=AUTH, files=files(encode(image)), data=rects)
    changed = (decode(response.content) != image).any(axis=2)
    assert response.headers["X-Mask-Source"] == "upload"
    assert changed[2:14, 2:14].any() and not changed[20:36].any()
    assert changed[38:48, 38:48].sum() > 36  # grown past the 6x6 rectangle


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ({"rectangles": "[[1, 2"}, "not valid JSON"),
        ({"rectangles": "[[0, 0, 500, 5]]"}, "leaves the 64x64 image"),
        ({"rectangles": "[[0, 0, 5]]"}, "[x, y, width, height]"),
        ({"grow_mask": "-1"}, "grow_mask"),
        ({"grow_mask": "65"}, "grow_mask"),
    ],
)
async def test_bad_mask_inputs_are_400(client: httpx.AsyncClient, data: dict, detail: str) -> None:
    response = await client.post(URL, headers=AUTH, files=files(encode(photo(6, 64, 64))), data=data)
    assert_error(response, 400, detail)


async def test_detect_rejects_bad_inputs_like_remove_watermark(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(DETECT, headers=AUTH, files=files(b"not an image")), 400, "Invalid image")
    huge = encode(np.zeros((8, 5000), np.uint8))
    assert_error(await client.post(DETECT, headers=AUTH, files=files(huge)), 400, "Max dimension")
    assert_error(await client.post(DETECT, files=files(encode(flat()))), 401)


async def shared_batch(client: httpx.AsyncClient, images: list[np.ndarray]) -> tuple[list[dict], list[np.ndarray]]:
    """POST the images as one batch with detect=shared: (results.json items, output images)."""
    parts = [("image", (f"{i}.png", encode(image), "image/png")) for i, image in enumerate(images)]
    response = await client.post(URL + "/batch", headers=AUTH, files=parts, data={"detect": "shared"})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        items = json.loads(archive.read("results.json"))["items"]
        return items, [decode(archive.read(item["file"])) for item in items]


async def test_batch_detect_shared_masks_every_item(client: httpx.AsyncClient) -> None:
    """Four small crops (96 x 128) of held-out photos, one mark at the same place."""
    alpha = text_alpha("(c) STOCK", 18, 0.6)
    rng = np.random.default_rng(10)
    photos = [random_photo(rng, "heldout", (96, 128)) for _ in range(4)]
    marked = [blend(p, (255, 255, 255), alpha, 6, 6) for p in photos]
    items, outs = await shared_batch(client, marked)
    truth = place((96, 128), alpha, 6, 6)
    for item, out, image in zip(items, outs, marked, strict=True):
        assert item["mask_source"] == "detected" and item["watermark_regions"] > 0
        changed = (out != image).any(axis=2)
        assert changed[truth].mean() > 0.5 and changed[~with_rim(truth)].mean() < 0.1


async def test_batch_detect_shared_on_real_photos_gives_every_item_the_agreed_mark(
    client: httpx.AsyncClient,
) -> None:
    """Four held-out photos with one mark at the same place: each item's own detection, the
    vote (detect.consensus), each item trimmed to what the mark changed there."""
    alpha = text_alpha("SAMPLE", 28, 0.7)
    x, y = SIDE - alpha.shape[1] - 8, SIDE - alpha.shape[0] - 8
    rng = np.random.default_rng(5)
    marked = [blend(random_photo(rng, "heldout", (SIDE, SIDE)), (255, 255, 255), alpha, x, y) for _ in range(4)]
    truth = place((SIDE, SIDE), alpha, x, y)
    items, outs = await shared_batch(client, marked)
    for item, out, image in zip(items, outs, marked, strict=True):
        assert item["mask_source"] == "detected" and item["watermark_regions"] > 0
        changed = (out != image).any(axis=2)
        assert changed[truth].mean() > 0.8 and changed[~with_rim(truth)].mean() < 0.03


async def test_batch_detect_shared_on_photos_of_different_sizes(client: httpx.AsyncClient) -> None:
    """The same mark 8 px from the bottom-right corner of four held-out photos of different
    sizes: lined up at that corner by the batch's median estimate, each item gets the vote
    there together with the estimate. Off the mark it is the glyphs' rim that is masked: 2.9-3.1 %
    of these small photos within 6 px of the glyphs, 0.06-0.12 % farther out (the tight mask;
    the removal grows it by DETECTED_MASK_GROW)."""
    alpha = text_alpha("SAMPLE", 28, 0.7)
    rng = np.random.default_rng(7)
    marked, truths = [], []
    for height, width in ((SIDE, SIDE), (SIDE + 24, SIDE - 16), (SIDE - 20, SIDE + 40), (SIDE + 8, SIDE + 8)):
        x, y = width - alpha.shape[1] - 8, height - alpha.shape[0] - 8
        marked.append(blend(random_photo(rng, "heldout", (height, width)), (255, 255, 255), alpha, x, y))
        truths.append(place((height, width), alpha, x, y))
    items, outs = await shared_batch(client, marked)
    for item, out, image, truth in zip(items, outs, marked, truths, strict=True):
        assert item["mask_source"] == "detected" and item["watermark_regions"] > 0
        changed = (out != image).any(axis=2)
        assert changed[truth].mean() > 0.8 and changed[~with_rim(truth, 6)].mean() < 0.002


async def test_batch_detect_shared_with_two_items_detects_each_on_its_own(client: httpx.AsyncClient) -> None:
    image, truth = marked_photo()  # two items are too few for a median: per-item detection
    items, outs = await shared_batch(client, [image, image])
    for item, out in zip(items, outs, strict=True):
        assert item["mask_source"] == "detected" and item["watermark_regions"] > 0
        assert (out != image).any(axis=2)[truth].mean() > 0.9


async def test_without_detector_models_local_detectors_serve_with_one_warning(
    make_settings: SettingsFactory, triton_server: TritonProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """Triton serving `lama` only: the served detectors are skipped, warned about once each."""
    settings = make_settings(triton_url=triton_server.http_url, detectors=("watermark_text", "watermark_seg", "tiled"))
    async with gateway(settings) as client:
        with caplog.at_level(logging.WARNING, logger="lama_serve.gateway.detection.service"):
            for _ in range(2):
                response = await client.post(URL, headers=AUTH, files=files(encode(flat())))
                assert response.status_code == 200 and response.headers["X-Watermark-Regions"] == "0"
        assert (await client.get("/api/v1/health")).json()["detectors"] == ["tiled"]
    warnings = [r.getMessage() for r in caplog.records if "is not loaded" in r.getMessage()]
    assert sorted(w.split()[2] for w in warnings) == ["watermark_seg", "watermark_text"]


async def test_openapi_describes_detection(make_settings: SettingsFactory) -> None:
    async with gateway(make_settings()) as client:
        schema = (await client.get("/openapi.json")).json()
    detect = schema["paths"][DETECT]["post"]
    assert detect["operationId"] == "detectWatermark"
    assert set(detect["responses"]["200"]["content"]) == {"application/json", "image/png"}
    remove = schema["paths"][URL]["post"]
    assert {"X-Mask-Source", "X-Watermark-Regions"} <= set(remove["responses"]["200"]["headers"])
    form = schema["components"]["schemas"][
        remove["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].split("/")[-1]
    ]["properties"]
    (grow,) = (choice for choice in form["grow_mask"]["anyOf"] if choice["type"] == "integer")
    assert grow["maximum"] == 64 and "rectangles" in form
