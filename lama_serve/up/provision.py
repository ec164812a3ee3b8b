"""What `lama-serve up` makes ready before anything starts: the model repository's models.

LaMa is exported once, from LAMA_CHECKPOINT, else from the released big-lama (fetched and
verified once), else from random weights with a loud warning (or not at all with
REQUIRE_REAL_WEIGHTS). The detector models are exported when missing; a detector that cannot
be exported is a warning, never a reason not to start.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lama_serve.core.contract import DETECTOR_MODELS, MODEL_NAME, SEG_MODEL_NAME
from lama_serve.core.errors import LamaServeError
from lama_serve.core.repository import ModelRepository

if TYPE_CHECKING:
    from lama_serve.core.settings.model import ModelSettings
    from lama_serve.export.weights import FetchedWeights

LOGGER = logging.getLogger(__name__)
DEFAULT_ARCH = "big-lama"


class UpError(LamaServeError):
    """`up` cannot start; the message says what to fix."""


def ensure_model(
    repository: Path, checkpoint: Path | None, *, arch: str = DEFAULT_ARCH, settings: ModelSettings | None = None
) -> None:
    """Export version 1 unless the repository already holds an exported model. Without a
    checkpoint, `settings` say where to fetch the released weights from (None: no fetch)."""
    if ModelRepository(repository).exported_versions():
        return
    if not ModelRepository(repository).has_config():
        raise UpError(
            f"{repository.resolve()} is not this project's model repository (no "
            f"{MODEL_NAME}/config.pbtxt). Run from the project root or set MODEL_REPOSITORY."
        )
    fetched = released_weights(settings) if checkpoint is None and settings is not None else None
    if fetched is not None:
        LOGGER.info(
            "no model in %s yet: exporting %s from the released %s (sha256 %s)",
            repository,
            arch,
            fetched.path,
            fetched.sha256,
        )
    elif checkpoint is None:
        LOGGER.warning(
            "\n%s\nWARNING: no model in %s and LAMA_CHECKPOINT is unset: exporting %s with RANDOM "
            "weights.\nOutputs will be noise, not inpaintings. Set LAMA_CHECKPOINT to big-lama's "
            "best.ckpt or big-lama.pt (or run `lama-serve export --checkpoint ...`) and remove "
            "%s to serve real results.\n%s",
            "!" * 78,
            repository,
            arch,
            repository / MODEL_NAME / "1",
            "!" * 78,
        )
    else:
        LOGGER.info("no model in %s yet: exporting %s from %s", repository, arch, checkpoint)
    # Imported only when an export is due: it pulls in torch.
    from lama_serve.export.errors import ExportError
    from lama_serve.export.pipeline import export_to_repository

    try:
        export_to_repository(repository, 1, arch=arch, checkpoint=checkpoint, progress=LOGGER.info, fetched=fetched)
    except ExportError as error:
        raise UpError(f"export failed: {error}") from error


def ensure_detectors(repository: Path) -> None:
    """Export each detector model the repository has no version of (seconds: a copy and a
    graph edit). A failure (e.g. the rapidocr wheel is not installed) is a warning: the
    gateway then detects without that model; start-up is never blocked."""
    for name in DETECTOR_MODELS:
        if ModelRepository(repository, name).exported_versions():
            continue
        LOGGER.info("no %s in %s yet: exporting it (watermark detection)", name, repository)
        try:
            from lama_serve.export.detectors import export_detector  # pulls in onnx

            export_detector(repository, name)
        except (ImportError, OSError, LamaServeError) as error:
            LOGGER.warning(
                "cannot export detector model %s (%s); serving without it. `lama-serve detector export` retries.",
                name,
                error,
            )
    _warn_if_unshipped_segmenter(repository)


def _warn_if_unshipped_segmenter(repository: Path) -> None:
    """An upgrade keeps the segmenter an earlier release exported: say so, as the committed one
    may detect differently (docs/detection.md, recipe)."""
    try:
        from lama_serve.export.detectors import SEG_WEIGHTS, unshipped_segmenter  # pulls in onnx
    except ImportError:  # without the [detect] extra there is nothing to compare with
        return
    served = unshipped_segmenter(repository)
    if served is not None:
        LOGGER.warning(
            "%s is not the segmenter this release ships (%s); "
            "`lama-serve detector export --model %s --repository %s` replaces it (keep it if it is your own)",
            served,
            SEG_WEIGHTS,
            SEG_MODEL_NAME,
            repository,
        )


def released_weights(settings: ModelSettings) -> FetchedWeights | None:
    """The released big-lama from WEIGHTS_CACHE_DIR or the network, verified; None (random
    weights) when that fails, unless REQUIRE_REAL_WEIGHTS makes it fatal."""
    from lama_serve.export.errors import WeightsError
    from lama_serve.export.weights import fetch, model_file

    try:
        return fetch(model_file(settings), settings.weights_cache_dir, progress=LOGGER.info)
    except WeightsError as error:
        if settings.require_real_weights:
            raise UpError(f"REQUIRE_REAL_WEIGHTS is set and the released weights cannot be fetched: {error}") from error
        LOGGER.warning("cannot fetch the released weights: %s", error)
        return None
