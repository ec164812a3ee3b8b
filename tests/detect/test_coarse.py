import numpy as np
import pytest

from lama_serve.detect.coarse import (
    CoarseFill,
    compact,
    fill_missed,
    missed_components,
    missed_lines,
    rim_share,
    scaled_views,
)
from lama_serve.detect.detectors import detect_from_maps, multiscale_models
from tests.detect.images import blend, photo, place, text_alpha

SIDE = 512
FILL = CoarseFill()


def disc(radius: int, centre: tuple[int, int] = (256, 256), side: int = SIDE) -> np.ndarray:
    ys, xs = np.mgrid[:side, :side]
    return (ys - centre[0]) ** 2 + (xs - centre[1]) ** 2 <= radius**2


def ring(radius: int, width: int = 4) -> np.ndarray:
    return disc(radius) & ~disc(radius - width)


def bar(height: int = 40, width: int = 300) -> np.ndarray:
    """A text line's blob in the coarse map, centred."""
    plane = np.zeros((SIDE, SIDE), bool)
    top, left = (SIDE - height) // 2, (SIDE - width) // 2
    plane[top : top + height, left : left + width] = True
    return plane


def strokes(plane: np.ndarray, period: int = 10, inked: int = 7) -> np.ndarray:
    """`plane` cut to vertical strokes `inked` px of every `period`: what a finer map has of a line."""
    return plane & (np.arange(SIDE) % period < inked)[None, :]


def sky_with_disc(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth sky-like gradient with a white disc of `radius` blended at opacity 0.5, and the disc."""
    mark = disc(radius)
    sky = np.linspace(60, 140, SIDE)[:, None, None] + np.array([0.0, 10.0, 40.0])
    clean = np.broadcast_to(sky, (SIDE, SIDE, 3)).astype(np.uint8)
    return blend(clean, (255, 255, 255), mark.astype(np.float32) * 0.5, 0, 0), mark


@pytest.fixture(scope="module")
def logo_image() -> tuple[np.ndarray, np.ndarray]:
    return sky_with_disc(80)


def test_a_textured_photo_keeps_the_fill_too():
    mark = disc(80)
    image = blend(photo(3, SIDE, SIDE), (255, 255, 255), mark.astype(np.float32) * 0.5, 0, 0)
    result = fill_missed(disc(82).astype(np.float32), ring(80).astype(np.float32), image, 0.15, "seg", FILL)
    assert ((result.mask > 0) & mark).sum() / mark.sum() > 0.97


def shapes(height: int, width: int) -> dict[str, tuple[int, ...]]:
    return {name: view.shape for name, view in scaled_views(np.zeros((height, width, 3), np.uint8)).items()}


def test_scaled_views_bring_the_short_side_to_512_and_256_on_images_large_enough():
    assert shapes(1536, 2048) == {"native": (512, 683, 3), "coarse": (256, 341, 3)}
    assert shapes(640, 1000) == {"native": (512, 800, 3), "coarse": (256, 400, 3)}
    assert shapes(512, 768) == {"coarse": (256, 384, 3)}
    assert shapes(383, 2000) == {}


def test_the_coarse_view_keeps_a_halved_mark_edge_sharp():
    """A mark edge on even pixels of a 512 px photo stays a one-step edge at 256 px (box),
    as the net saw marks drawn at 256 px; bilinear shrinking smeared it over ~3 pixels."""
    image = np.zeros((512, 512, 3), np.uint8)
    image[100:300, 100:300] = 200
    coarse = scaled_views(image)["coarse"][..., 0]
    assert set(np.unique(coarse)) == {0, 200}
    assert (coarse[50:150, 50:150] == 200).sum() == 100 * 100


def test_rim_share_counts_the_band_around_the_edge():
    square = np.zeros((40, 40), bool)
    square[10:30, 10:30] = True
    band = np.zeros_like(square)
    band[7:33, 7:33] = True
    band[13:27, 13:27] = False
    assert rim_share(square, band, 3) == 1.0
    assert rim_share(square, np.zeros_like(square), 3) == 0.0
    left = band.copy()
    left[:, 20:] = False
    assert rim_share(square, left, 3) == pytest.approx(0.5, abs=0.05)


def test_an_outlined_but_empty_disc_is_filled(logo_image):
    image, mark = logo_image
    result = fill_missed(disc(82).astype(np.float32), ring(80).astype(np.float32), image, 0.15, "seg", FILL)
    filled = result.mask > 0
    assert (filled & mark).sum() / mark.sum() > 0.97
    assert (filled & ~mark).sum() < 0.02 * mark.sum()  # the 2 px of coarse spill are cut back
    assert [(r.kind, round(r.score, 2)) for r in result.regions] == [("seg", 1.0)]


@pytest.mark.parametrize(
    ("coarse", "fine", "why"),
    [
        (disc(82), np.zeros((SIDE, SIDE)), "no outline: a texture the full-size map never saw"),
        (disc(82), disc(80), "already found at full size"),
        (disc(20), ring(20), "small: the full-size map's own job"),
        (disc(200), ring(200), "over a fifth of the image"),
        (bar(), strokes(bar()), "a text line whose strokes (70 %) the finer maps have: not compact"),
    ],
)
def test_components_left_alone(logo_image, coarse, fine, why):
    image, _ = logo_image
    unsure = coarse.astype(np.float32) * 0.8  # under FILL.sure_mean: entering needs an outline
    result = fill_missed(unsure, fine.astype(np.float32), image, 0.15, "seg", FILL)
    assert not result.mask.any(), why
    assert result.regions == ()


def test_compact_components_are_squarish_and_filled():
    boxes = np.array([[0, 0, 100, 100], [0, 0, 300, 40], [0, 0, 100, 100]])
    areas = np.array([6000, 12000, 1500])  # a thick frame, a text line's blob, a diagonal line
    assert compact(boxes, areas, 2.0, 0.3).tolist() == [True, False, False]


def test_a_logo_whose_thick_frame_was_found_gets_its_inside(logo_image):
    """The finer maps have 70 % of the disc (a thick frame around its centre): over the 60 %
    bar for text lines, under the 80 % one for compact shapes, so the centre is filled."""
    image, mark = logo_image
    frame = disc(82) & ~disc(45)
    result = fill_missed(disc(82).astype(np.float32), frame.astype(np.float32), image, 0.15, "seg", FILL)
    centre = disc(44)
    assert ((result.mask > 0) & centre).sum() / centre.sum() > 0.97
    assert ((result.mask > 0) & ~mark).sum() < 0.02 * mark.sum()


def test_a_smaller_logo_is_filled_only_when_well_outlined():
    """A disc of 2.4 % of the image: under the 4 % floor for any component, over the 1.5 %
    floor for compact ones, which there need 40 % of their rim outlined (a blurred coin is
    outlined for up to ~30 %)."""
    image, mark = sky_with_disc(45)
    outline = ring(49, width=10)  # the finer map's frame, across the disc's edge
    result = fill_missed(disc(46).astype(np.float32), outline.astype(np.float32), image, 0.15, "seg", FILL)
    assert ((result.mask > 0) & mark).sum() / mark.sum() > 0.97
    quarter = outline & (np.arange(SIDE) < 256 - 25)[None, :]
    unsure = disc(46).astype(np.float32) * 0.8
    partly = fill_missed(unsure, quarter.astype(np.float32), image, 0.15, "seg", FILL)
    assert not partly.mask.any()


@pytest.mark.parametrize(("level", "filled"), [(0.95, True), (0.85, False)])
def test_a_component_the_coarse_map_is_sure_of_needs_no_outline(logo_image, level, filled):
    """A large flat logo that the finer maps do not see at all (a grey star on a retina photo
    at 768 px: full-size and native maps 0.00-0.03 over it, coarse 0.97) enters on the coarse
    map's mean alone; the cameraman's coat (0.85) does not."""
    image, mark = logo_image
    result = fill_missed(
        disc(82).astype(np.float32) * level, np.zeros((SIDE, SIDE), np.float32), image, 0.15, "seg", FILL
    )
    assert ((result.mask > 0) & mark).sum() / mark.sum() > (0.97 if filled else -1)
    assert bool(result.mask.any()) is filled


def test_detect_from_maps_fills_from_the_coarse_map_of_a_model_that_asks_for_one(logo_image):
    image, mark = logo_image
    assert multiscale_models(["watermark_text", "watermark_seg", "my_model"]) == ("watermark_seg",)
    fine = (ring(80) * 0.9)[..., None].astype(np.float32)
    coarse = disc(82)[..., None].astype(np.float32)
    without = detect_from_maps({"watermark_seg": fine}, image).mask > 0
    views = {"coarse": {"watermark_seg": coarse}}
    filled = detect_from_maps({"watermark_seg": fine}, image, view_maps=views).mask > 0
    assert (without & mark).sum() / mark.sum() < 0.2
    assert (filled & mark).sum() / mark.sum() > 0.97
    ignored = detect_from_maps({"my_model": fine}, image, view_maps={"coarse": {"my_model": coarse}}).mask > 0
    assert (ignored & mark).sum() / mark.sum() < 0.2  # its profile asks for no coarse view


def test_a_large_photo_is_analysed_on_every_second_pixel_with_the_same_answer():
    side, centre = 1024, (512, 512)
    mark = disc(160, centre, side)
    sky = np.linspace(60, 140, side)[:, None, None] + np.array([0.0, 10.0, 40.0])
    image = blend(np.broadcast_to(sky, (side, side, 3)).astype(np.uint8), (255, 255, 255), mark * 0.5, 0, 0)
    coarse, outline = disc(162, centre, side), mark & ~disc(152, centre, side)
    result = fill_missed(coarse.astype(np.float32), outline.astype(np.float32), image, 0.15, "seg", FILL)
    assert ((result.mask > 0) & mark).sum() / mark.sum() > 0.97
    (region,) = result.regions
    xs = np.nonzero(coarse.any(axis=0))[0]
    assert abs(region.x - xs[0]) <= 2 and abs(region.width - xs.size) <= 2  # in image pixels


def test_a_native_map_adds_its_regions_and_outlines_for_the_coarse_fill(logo_image):
    """The full-size map sees nothing; the native view's map outlines the disc: its ring is
    masked, and the coarse map fills the inside it outlines."""
    image, mark = logo_image
    nothing = np.zeros((SIDE, SIDE, 1), np.float32)
    native = (ring(80) * 0.9)[..., None].astype(np.float32)
    coarse = disc(82)[..., None].astype(np.float32)
    ring_only = detect_from_maps({"watermark_seg": nothing}, image, view_maps={"native": {"watermark_seg": native}})
    assert 0.1 < ((ring_only.mask > 0) & mark).sum() / mark.sum() < 0.2
    views = {"native": {"watermark_seg": native}, "coarse": {"watermark_seg": coarse}}
    filled = detect_from_maps({"watermark_seg": nothing}, image, view_maps=views).mask > 0
    assert (filled & mark).sum() / mark.sum() > 0.97


def test_missed_components_are_those_the_full_size_map_mostly_left_empty():
    plane = np.zeros((40, 80), np.float32)
    plane[5:25, 5:25] = 0.9  # found at full size on 3/4 of it
    plane[5:25, 45:65] = 0.9  # found on 1/4
    seen = np.zeros((40, 80), bool)
    seen[5:20, 5:25] = True
    seen[5:10, 45:65] = True
    missed = missed_components(plane, seen, 0.15, 0.6)
    assert not missed[:, :40].any() and missed[5:25, 45:65].all() and missed.sum() == 400


def test_a_native_map_reports_no_region_the_full_size_map_already_reports(logo_image):
    image, _ = logo_image
    both = (ring(80) * 0.9)[..., None].astype(np.float32)
    alone = detect_from_maps({"watermark_seg": both}, image)
    with_native = detect_from_maps({"watermark_seg": both}, image, view_maps={"native": {"watermark_seg": both}})
    assert with_native.regions == alone.regions and np.array_equal(with_native.mask, alone.mask)


def test_missed_lines_are_the_coarse_text_lines_away_from_what_the_finer_maps_found():
    plane = np.zeros((SIDE, SIDE), np.float32)
    line = bar()  # rows 236-275, columns 106-405
    plane[line] = 0.8
    plane[disc(30, centre=(100, 100))] = 0.8  # compact: the coarse fill's business
    seen = np.zeros((SIDE, SIDE), bool)
    seen[236:276, 106:166] = True  # the line's first 60 px, found by the finer maps
    lines = missed_lines(plane, seen, 0.15, FILL)
    beyond = line & (np.arange(SIDE) >= 166 + FILL.line_clear)[None, :]
    assert np.array_equal(lines, beyond)
    seen[236:276, 106:306] = True  # two thirds found: not missed
    assert not missed_lines(plane, seen, 0.15, FILL).any()


def test_a_line_at_the_border_is_no_banner():
    """A coin or stone cut by the image's edge is long in the coarse map too."""
    plane = np.zeros((SIDE, SIDE), np.float32)
    plane[100:400, 0:30] = 0.8
    assert not missed_lines(plane, np.zeros((SIDE, SIDE), bool), 0.15, FILL).any()
    plane = np.roll(plane, 1, axis=1)
    assert missed_lines(plane, np.zeros((SIDE, SIDE), bool), 0.15, FILL).sum() == 300 * 30


def banner_on_sky() -> tuple[np.ndarray, np.ndarray, tuple[slice, slice]]:
    """A white SAMPLE (56 px letters, opacity 0.5) across a smooth sky, its mask and box."""
    alpha = text_alpha("SAMPLE", 56, 0.5)
    h, w = alpha.shape
    y, x = (SIDE - h) // 2, (SIDE - w) // 2
    sky = np.linspace(60, 140, SIDE)[:, None, None] + np.array([0.0, 10.0, 40.0])
    image = blend(np.broadcast_to(sky, (SIDE, SIDE, 3)).astype(np.uint8), (255, 255, 255), alpha, x, y)
    return image, place((SIDE, SIDE), alpha, x, y), (slice(y - 4, y + h + 4), slice(x - 4, x + w + 4))


@pytest.mark.parametrize(("level", "found"), [(0.8, True), (0.65, False)])
def test_a_banner_only_the_coarse_map_sees_is_masked_to_its_glyphs(level, found):
    """The full-size map sees nothing of large banner letters; the coarse map covers the line
    as a blob. Sure enough (mean over FILL.line_min_mean) the line is cut to its glyphs;
    less sure, nothing: coins beside a credit line reach the profile's own floor."""
    image, mark, box = banner_on_sky()
    coarse = np.zeros((SIDE, SIDE, 1), np.float32)
    coarse[box] = level
    nothing = np.zeros((SIDE, SIDE, 1), np.float32)
    masked = (
        detect_from_maps({"watermark_seg": nothing}, image, view_maps={"coarse": {"watermark_seg": coarse}}).mask > 0
    )
    if not found:
        assert not masked.any()
        return
    assert (masked & mark).sum() / mark.sum() > 0.9
    assert (masked & ~mark).sum() < 0.25 * mark.sum()  # the blob is 3.4x the mark: its gaps stay out
