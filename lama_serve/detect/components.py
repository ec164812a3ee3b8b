"""8-connected component labels of a boolean mask (pure numpy, vectorised union-find).

The gateway's inpaint/regions.py only needs boxes; detectors need per-pixel labels to
score each region, so this labels pixels.
"""

from __future__ import annotations

import numpy as np

# Neighbour offsets that cover 8-connectivity once each (right, down-left, down, down-right).
_FORWARD = ((0, 1), (1, -1), (1, 0), (1, 1))


def union_roots(count: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Vectorised union-find over edges (first[i], second[i]): each node's smallest connected
    node. Roots hook under smaller roots, then paths compress; the gateway's region boxes use it too."""
    parent = np.arange(count)
    while True:
        a, b = parent[first], parent[second]
        differ = a != b
        if not differ.any():
            return parent
        np.minimum.at(parent, np.maximum(a, b)[differ], np.minimum(a, b)[differ])
        while not np.array_equal(grand := parent[parent], parent):
            parent = grand


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(labels, count): int32 labels 1..count on `mask`'s 8-connected components, 0 elsewhere.

    Labelled within the mask's bounding box: a mark's mask covers little of a large photo,
    and the work is per pixel of the array labelled (the numbering is the same either way)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    labels = np.zeros(mask.shape, np.int32)
    if rows.size == 0:
        return labels, 0
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    labels[box], count = _label_all(mask[box])
    return labels, count


def _label_all(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """`label` on the whole array."""
    index = np.full(mask.shape, -1, np.int64)
    count = int(np.count_nonzero(mask))
    index[mask] = np.arange(count)
    firsts, seconds = [], []
    h, w = mask.shape
    for dy, dx in _FORWARD:
        src = index[: h - dy, max(-dx, 0) : w - max(dx, 0)]
        dst = index[dy:, max(dx, 0) : w + min(dx, 0)]
        both = (src >= 0) & (dst >= 0)
        firsts.append(src[both])
        seconds.append(dst[both])
    roots = union_roots(count, np.concatenate(firsts), np.concatenate(seconds))
    _, compact = np.unique(roots, return_inverse=True)
    labels = np.zeros(mask.shape, np.int32)
    labels[mask] = compact + 1
    return labels, int(compact.max()) + 1


def areas_and_means(labels: np.ndarray, count: int, *planes: np.ndarray) -> tuple[np.ndarray, ...]:
    """(pixel count, then the mean of each of `planes`) of labels 0..count (index 0: the
    background); with a bool plane, the mean is the share of each component it covers."""
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=count + 1)
    divisor = np.maximum(areas, 1)
    return areas, *(np.bincount(flat, plane.ravel(), minlength=count + 1) / divisor for plane in planes)


def boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """(count, 4) int boxes [x, y, width, height] of labels 1..count."""
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs] - 1
    lo = np.full((count, 2), np.iinfo(np.int64).max)
    hi = np.full((count, 2), -1)
    np.minimum.at(lo, ids, np.stack([xs, ys], 1))
    np.maximum.at(hi, ids, np.stack([xs, ys], 1))
    return np.concatenate([lo, hi - lo + 1], axis=1)
