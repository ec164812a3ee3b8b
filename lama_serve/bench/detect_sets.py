"""The labelled data of `lama-serve bench detect`: composites, batches and whole photos.

Real photographs (scikit-image's data photos, the held-out split of detect.sources: other
photos, strings and fonts than the segmenter was trained on) with synthetic marks whose masks
are known (detect.synth), marks made the way people make them (bench.user_marks), batches
sharing one mark (the batch route's `detect=shared` case) and the held-out photos whole.
Everything is drawn from a seed, so two runs score the same images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lama_serve.bench.user_marks import user_marked_set
from lama_serve.detect import sources, synth

SHARED_KINDS = ("text_corner", "logo")  # marks put at the same place on every image of a batch
SIZE_SPREAD = 64  # a batch "of different sizes": each item cut by 0..SIZE_SPREAD-1 px at top and left


def labelled_set(per_kind: int, size: synth.Size, seed: int, user_marks: int = 0) -> list[synth.Composite]:
    """`per_kind` held-out composites of every kind, then `user_marks` marks made the way
    people make them (bench.user_marks), deterministic from `seed`; `size`: a square side or
    (H, W)."""
    rng = np.random.default_rng(seed)
    shape = synth.shape_of(size)
    held_out = [synth.make_composite(rng, kind, "heldout", shape) for kind in synth.KINDS for _ in range(per_kind)]
    return held_out + user_marked_set(user_marks, size, seed)


def opacity(composite: synth.Composite) -> float:
    return 0.0 if composite.alpha is None else float(composite.alpha.max())


def whole_photos() -> list[np.ndarray]:
    """The held-out photos whole, at their own size (303 x 384 to 1411 x 1411 px): what a client
    sends who has no mark to remove. The labelled set's clean images are square crops of
    35-100 % of a side, scaled to `--size`: closer views, with fewer and larger objects."""
    return [sources.photo(name) for name in sources.PHOTOS["heldout"]]


@dataclass(frozen=True)
class SharedSet:
    """One `kind` mark blended at the same place on `count` photos: the batch `detect=shared`
    case, one photographer's or stock site's mark on many images."""

    kind: str
    clean: list[np.ndarray]
    images: list[np.ndarray]
    opacity: float
    mixed_sizes: bool = False


def shared_set(count: int, size: synth.Size, seed: int, kind: str, mixed_sizes: bool = False) -> SharedSet:
    """With `mixed_sizes`, each photo is cut at its top and left (the mark stays at the same
    place from the bottom-right corner): a batch of photos of different sizes."""
    rng = np.random.default_rng(seed)
    shape = synth.shape_of(size)
    source = synth.make_composite(rng, kind, "heldout", shape)
    clean = [synth.random_photo(rng, "heldout", shape) for _ in range(count)]
    images = [synth.blend(photo, source.mark, source.alpha) for photo in clean]
    if mixed_sizes:
        cuts = np.random.default_rng(seed + 104729).integers(0, SIZE_SPREAD, (count, 2))
        clean, images = (
            [np.ascontiguousarray(a[y:, x:]) for a, (y, x) in zip(arrays, cuts)] for arrays in (clean, images)
        )
    return SharedSet(kind, clean, images, opacity(source), mixed_sizes)


def shared_sets(count: int, size: synth.Size, seed: int) -> list[SharedSet]:
    """The batches the bench scores: each of SHARED_KINDS, of one size and of different sizes;
    none for a `count` of 0 (`--shared 0`)."""
    if count == 0:
        return []
    return [shared_set(count, size, seed, kind, mixed) for kind in SHARED_KINDS for mixed in (False, True)]
