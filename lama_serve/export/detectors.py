"""One-shot set-up of the detector models: `export_detectors(repository)` writes
watermark_text and watermark_seg versions next to `lama` (configs come with the repository)."""

from __future__ import annotations

import filecmp
import shutil
from collections.abc import Callable
from pathlib import Path

from lama_serve.core import contract
from lama_serve.core.repository import MODEL_FILENAME, ModelRepository
from lama_serve.export.detector_text import export_text_detector
from lama_serve.export.errors import DetectorExportError

# The trained segmenter's served graph, committed with its recipe (docs/detection.md).
SEG_WEIGHTS = Path(__file__).resolve().parents[1] / "detect" / "weights" / "watermark_seg.onnx"


def export_segmenter_weights(version_dir: Path, weights: Path = SEG_WEIGHTS) -> Path:
    """Copy the trained segmenter (and its recipe) into `version_dir`."""
    if not weights.is_file():
        raise DetectorExportError(f"{weights} is missing: train it with `lama-serve detector train`")
    version_dir.mkdir(parents=True, exist_ok=True)
    recipe = weights.with_suffix(".json")
    if recipe.is_file():
        shutil.copyfile(recipe, version_dir / "recipe.json")
    return Path(shutil.copyfile(weights, version_dir / MODEL_FILENAME))


def unshipped_segmenter(repository: Path, weights: Path = SEG_WEIGHTS) -> Path | None:
    """The repository's newest segmenter file when its bytes are not the committed weights':
    an export of an earlier release (which `up` never overwrites) or an operator's own model."""
    models = ModelRepository(Path(repository), contract.SEG_MODEL_NAME)
    versions = models.exported_versions()
    if not versions or not weights.is_file():
        return None
    served = models.onnx_path(versions[-1])
    return None if filecmp.cmp(served, weights, shallow=False) else served


# How each detector model of core.contract.DETECTOR_MODELS gets its version_dir filled.
EXPORTERS: dict[str, Callable[[Path], Path]] = {
    contract.TEXT_MODEL_NAME: export_text_detector,
    contract.SEG_MODEL_NAME: export_segmenter_weights,
}


def export_detector(repository: Path, name: str, version: int = 1) -> Path:
    """Write repository/<name>/<version>/model.onnx (configs copied from the project when absent)."""
    models = ModelRepository(Path(repository), name)
    models.ensure_configs()
    return EXPORTERS[name](models.version_dir(version))


def export_detectors(repository: Path, version: int = 1) -> tuple[Path, ...]:
    """Write repository/{watermark_text,watermark_seg}/<version>/model.onnx; returns both paths.

    Idempotent: an existing version is overwritten with the same bytes."""
    return tuple(export_detector(repository, name, version) for name in EXPORTERS)
