"""The Triton model repository on disk: where each version's files live, and export.json.

    <repository>/<model>/config.pbtxt            GPU config (Triton's default)
    <repository>/<model>/configs/<name>.pbtxt    other configs (`--model-config-name cpu`)
    <repository>/<model>/<version>/model.onnx    one exported version (1, 2, ...: Triton
                                                 ignores a folder whose name starts with 0)
    <repository>/<model>/<version>/export.json   how it was exported (`ExportManifest`)
    <repository>/<model>/retired-<v>-<time>/     a version moved aside by a rollback

Every module that reads or writes these paths goes through `ModelRepository`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lama_serve.core.contract import MODEL_NAME, REPOSITORY_MODELS
from lama_serve.core.errors import ConfigurationError

MODEL_FILENAME = "model.onnx"
MANIFEST_FILENAME = "export.json"
RANDOM_WEIGHTS = "random"  # checkpoint digest and source of a random-weights export
MIN_VERSION = 1  # the least version Triton loads


def is_version_name(name: str) -> bool:
    """A folder name Triton takes as a version: digits, not starting with 0."""
    return name.isdigit() and not name.startswith("0")


# The configs shipped with the project: copied into a repository that lacks them.
TEMPLATE = Path(__file__).resolve().parents[2] / "model_repository"


@dataclass(frozen=True)
class ExportManifest:
    """export.json: written by the exporter, read by health, bench and rollout."""

    data: dict[str, Any]

    @property
    def random_weights(self) -> bool:
        return self.data.get("checkpoint_sha256") == RANDOM_WEIGHTS

    @property
    def weights(self) -> dict[str, str] | None:
        """Name and digest of the exported weights; older exports only recorded the sha256."""
        if isinstance(self.data.get("weights"), dict):
            return {k: v for k, v in self.data["weights"].items() if isinstance(v, str)}
        sha256 = self.data.get("checkpoint_sha256")
        if not isinstance(sha256, str):
            return None
        source = Path(self.data.get("checkpoint_path") or "checkpoint")
        name = RANDOM_WEIGHTS if sha256 == RANDOM_WEIGHTS else source.name
        return {"name": name, "sha256": sha256}

    @property
    def arch(self) -> str:
        return str(self.data.get("arch", "unknown arch"))

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.data, indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> ExportManifest | None:
        """None when the file is missing or unreadable (an export made by hand)."""
        try:
            return cls(json.loads(path.read_text()))
        except (OSError, ValueError):
            return None


@dataclass(frozen=True)
class ModelRepository:
    root: Path
    model: str = MODEL_NAME

    @property
    def model_dir(self) -> Path:
        return self.root / self.model

    def version_dir(self, version: int | str) -> Path:
        return self.model_dir / str(version)

    def onnx_path(self, version: int | str) -> Path:
        return self.version_dir(version) / MODEL_FILENAME

    def manifest_path(self, version: int | str) -> Path:
        return self.version_dir(version) / MANIFEST_FILENAME

    def manifest(self, version: int | str | None) -> ExportManifest | None:
        return None if version is None else ExportManifest.read(self.manifest_path(version))

    def exported_versions(self) -> list[int]:
        """Versions that hold a model file, oldest first (those Triton loads: `is_version_name`)."""
        if not self.model_dir.is_dir():
            return []
        return sorted(
            int(p.name) for p in self.model_dir.iterdir() if is_version_name(p.name) and (p / MODEL_FILENAME).is_file()
        )

    def has_config(self) -> bool:
        return (self.model_dir / "config.pbtxt").is_file()

    def ensure_configs(self, template: Path = TEMPLATE) -> None:
        """Copy the project's configs of this model into a repository that has none, so an
        export into an empty folder gives a repository Triton can serve."""
        if self.has_config():
            return
        source = template / self.model
        if not (source / "config.pbtxt").is_file():
            raise ConfigurationError(
                f"{self.root} has no {self.model}/config.pbtxt and no template was found at "
                f"{source}; copy model_repository/{self.model}/ from the project, or set "
                "MODEL_REPOSITORY to the project's model_repository."
            )
        self.model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "config.pbtxt", self.model_dir / "config.pbtxt")
        if (source / "configs").is_dir():
            shutil.copytree(source / "configs", self.model_dir / "configs", dirs_exist_ok=True)

    def retired_dir(self, version: str, stamp: str) -> Path:
        return self.model_dir / f"retired-{version}-{stamp}"


def served_models(root: Path, detectors: Iterable[str] = ()) -> tuple[str, ...]:
    """What Triton loads from `root`: `lama` always (a missing one fails loudly), then each
    other model of core.contract.REPOSITORY_MODELS and of `detectors` (the served ones that
    DETECTORS names: an operator's own, `lama-serve detector add`) that has a config and an
    exported version."""
    present = dict.fromkeys(name for name in (*REPOSITORY_MODELS, *detectors) if name != MODEL_NAME)
    return (
        MODEL_NAME,
        *(
            name
            for name in present
            if ModelRepository(Path(root), name).has_config() and ModelRepository(Path(root), name).exported_versions()
        ),
    )
