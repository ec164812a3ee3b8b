"""Settings: automatic watermark detection (lama_serve.detect) for requests sent without a mask."""

from __future__ import annotations

from pydantic import BaseModel, Field

from lama_serve.core.settings.checks import CommaPositiveFloats, CommaStrings, OptionalPath

MAX_GROW_PIXELS = 64  # the range of the API's `grow_mask`, 0..64, and of DETECTED_MASK_GROW


class DetectionSettings(BaseModel):
    """Which detectors run, at what size, and how templates are searched."""

    detectors: CommaStrings = Field(
        ("watermark_text", "watermark_seg", "templates"),
        description="Comma-separated detectors run, in order, on images sent without a mask. "
        "`templates` and `tiled` (opt-in: on held-out tiled text it cost IoU, docs/detection.md) "
        "run in the gateway; any other name is a Triton model that returns a [N,H,W,1] "
        "watermark probability map or scored boxes for a uint8 image (core.contract; "
        "`lama-serve detector add` puts your own into the repository, `up` loads it).",
    )
    watermark_templates_dir: OptionalPath = Field(
        None,
        description="Folder of known watermarks (RGBA PNG, file stem = name) for the "
        "`templates` detector; unset: that detector is off.",
    )
    detection_max_side: int = Field(
        1024,
        ge=32,
        description="Longest side sent to the served detector models: larger images "
        "are downscaled for them and their maps scaled back (bounds detection time and memory).",
    )
    detection_work_side: int = Field(
        2048,
        ge=256,
        description="Longest side the detectors' maps are turned into a mask at: larger photos are "
        "downscaled for it and the mask scaled back (a 12 MP photo: 8 s of post-processing on two "
        "cores at full size); raise it for masks that follow the marks' edges more closely.",
    )
    detector_keep_scores: dict[str, float] = Field(
        default_factory=dict,
        description="JSON object: per served detector, the region score "
        "(mean probability x watermark likeness) needed to enter the mask, overriding the "
        "model's tuned profile (detect.regions.MAP_PROFILES; an operator's own model: 0.55), "
        'e.g. {"my_model": 0.7}.',
    )
    template_min_score: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Edge correlation (NCC) a place must reach for un-blending to check it for "
        "a template; faint marks on busy photos reach 0.14, and the check rejects false peaks.",
    )
    template_scales: CommaPositiveFloats = Field(
        (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
        min_length=1,
        description="Comma-separated sizes, relative to its file, a template is looked for at. "
        "Exact un-blending needs the mark within about 1 % of one of them: list the sizes "
        "your marks are stamped at.",
    )
    template_size_search: bool = Field(
        False,
        description="Where a template has no copy at TEMPLATE_SCALES, also search the sizes "
        "between them (+-14 % around the strongest correlation peaks): finds most marks "
        "stamped in proportion to the photo, for ~0.6 s more per template on a 512 px image.",
    )
    detected_mask_grow: int = Field(
        2,
        ge=0,
        le=MAX_GROW_PIXELS,
        description="Pixels a detected mask is grown by before it is inpainted, unless the request "
        "sends `grow_mask`: the detectors mask what the mark changed, and the rim it blurred into "
        "the photo (anti-aliasing, JPEG ringing) would stay (docs/detection.md). "
        "`/api/v1/detect` answers the tight mask.",
    )
