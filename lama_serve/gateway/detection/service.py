"""The gateway's detection service: served detector models through Triton, local detectors
in worker threads, one `DetectionResult` per image.

Served models (DETECTORS names that are not local) are called concurrently with each other
and with the local detectors. When a local detector un-blends a known mark, the served
models are asked again on the restored image, so they do not find that mark a second time.
Multiscale models (the segmenter) are also asked about the image's scaled views
(detect.coarse.scaled_views), in the same round. Each served model is called by the
detector contract its outputs declare (a map, or scored boxes painted into one), read from
Triton once.
A served model that Triton does not load, or whose outputs follow no contract, is skipped
(one warning until it comes back), so a repository without detector models still serves
with the local detectors alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

import numpy as np
from anyio import to_thread

from lama_serve.core.contract import PROBABILITY_MAP, DetectorContract
from lama_serve.core.settings.detection import DetectionSettings
from lama_serve.detect.coarse import scaled_views
from lama_serve.detect.combine import as_areas
from lama_serve.detect.consensus import shared_results
from lama_serve.detect.detectors import (
    Detector,
    detect_on_view,
    multiscale_models,
    run_detectors,
    served_detectors,
)
from lama_serve.detect.types import DetectionConfigError, DetectionResult
from lama_serve.gateway.detection.maps import fit_side, map_of, model_input
from lama_serve.gateway.tasks import gather_or_cancel
from lama_serve.gateway.triton import TritonModel

log = logging.getLogger(__name__)


class DetectionService:
    """DETECTORS for the gateway; every Triton failure leaves as the gateway's `ApiError`."""

    def __init__(self, settings: DetectionSettings, triton: TritonModel, local: Sequence[Detector]) -> None:
        """`local`: `detect.detectors.local_detectors(settings)`, built (templates read) at start."""
        self._order = settings.detectors
        self._local = tuple(local)
        self._served = served_detectors(settings)
        self._multiscale = multiscale_models(self._served)
        self._max_side = settings.detection_max_side
        self._work_side = settings.detection_work_side
        self._keep_scores = settings.detector_keep_scores
        self._triton = triton
        self._absent: set[str] = set()  # served models already warned about
        self._contracts: dict[str, DetectorContract] = {}  # read from Triton once per model

    async def detect(self, image: np.ndarray) -> DetectionResult:
        """Mask, regions (one per area: detect.combine.as_areas) and (for un-blended marks) the
        restored image of one HxWx3 image; the maps are made into a mask on a copy no larger
        than DETECTION_WORK_SIDE (detect_on_view)."""
        view = await to_thread.run_sync(fit_side, image, self._work_side)
        local, (maps, views) = await gather_or_cancel(
            [to_thread.run_sync(run_detectors, self._local, image), self._all_maps(view)]
        )
        if local.restored is not None:
            view = await to_thread.run_sync(fit_side, local.restored, self._work_side)
            maps, views = await self._all_maps(view)
        found = await to_thread.run_sync(
            partial(detect_on_view, maps, view, local, keep_scores=self._keep_scores, view_maps=views)
        )
        return await to_thread.run_sync(as_areas, found, image)

    async def detect_shared(self, images: Sequence[np.ndarray]) -> list[DetectionResult]:
        """One mark shared by all `images` (batch `detect=shared`), from each image's own
        detection (detect.consensus.shared_results); with too few images or no common mark
        each keeps its own, so a client asking for shared detection still gets marks removed."""
        own = await gather_or_cancel([self.detect(image) for image in images])

        def areas() -> list[DetectionResult]:
            shared = shared_results(list(images), list(own))
            return [as_areas(result, image) for result, image in zip(shared, images, strict=True)]

        return await to_thread.run_sync(areas)

    async def active(self) -> list[str]:
        """The detectors that run now, in DETECTORS order: local ones and the served models
        Triton reports ready."""
        ready = await asyncio.gather(*(self._triton.model_ready(name) for name in self._served))
        running = {d.name for d in self._local} | {n for n, ok in zip(self._served, ready, strict=True) if ok}
        return [name for name in self._order if name in running]

    async def _all_maps(self, image: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
        """(each served model's map of `image`, per scaled view the multiscale models' maps),
        all at the image's size."""
        shape = image.shape[:2]
        views = await to_thread.run_sync(scaled_views, image) if self._multiscale else {}
        maps, *scaled = await gather_or_cancel(
            [self._maps(self._served, image, shape), *(self._maps(self._multiscale, v, shape) for v in views.values())]
        )
        return maps, dict(zip(views, scaled, strict=True))

    async def _maps(self, names: Sequence[str], view: np.ndarray, shape: tuple[int, int]) -> dict[str, np.ndarray]:
        """The maps of the models `names` on `view`, scaled to `shape`; absent models left out."""
        contracts = dict(zip(names, await asyncio.gather(*(self._contract(name) for name in names)), strict=True))
        usable = [name for name in names if contracts[name] is not None]
        if not usable:
            return {}
        batch, valid = await to_thread.run_sync(model_input, view, self._max_side)
        outputs = await gather_or_cancel(self._triton.probability_map(n, batch, contracts[n]) for n in usable)
        present = {name: output for name, output in zip(usable, outputs, strict=True) if self._present(name, output)}
        return await to_thread.run_sync(
            lambda: {name: map_of(output, valid, shape) for name, output in present.items()}
        )

    async def _contract(self, name: str) -> DetectorContract | None:
        """The contract of served model `name` (cached once Triton tells it; PROBABILITY_MAP
        until then, so a model Triton does not load is found absent by its call); None for a
        model whose outputs follow no contract (one warning)."""
        if name not in self._contracts:
            try:
                found = await self._triton.detector_contract(name)
            except DetectionConfigError as error:
                if name not in self._absent:
                    self._absent.add(name)
                    log.warning("detecting without %s: %s", name, error)
                return None
            if found is None:
                return PROBABILITY_MAP
            self._contracts[name] = found
        return self._contracts[name]

    def _present(self, name: str, output: np.ndarray | None) -> bool:
        if output is not None:
            self._absent.discard(name)
            return True
        if name not in self._absent:
            self._absent.add(name)
            log.warning(
                "detector model %s is not loaded in Triton: detecting without it "
                "(`lama-serve detector export`, then load it, or remove it from DETECTORS)",
                name,
            )
        return False
