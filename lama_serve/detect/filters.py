"""Image math shared by the detectors: gray, gradients, box means, FFT correlation, Otsu.

All float32/float64 numpy; FFT sizes are padded to fast lengths so a 1024x1024 image costs
tens of milliseconds per correlation.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])


def gray(image: np.ndarray) -> np.ndarray:
    """float32 luminance of an HxW or HxWx3/4 image (alpha ignored)."""
    if image.ndim == 2:
        return image.astype(np.float32)
    return (image[..., :3].astype(np.float32) @ LUMA.astype(np.float32)).astype(np.float32)


def gradients(plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences (gy, gx), zero on the last row/column: exact inverse of `divergence`."""
    gy = np.zeros_like(plane, dtype=np.float32)
    gx = np.zeros_like(plane, dtype=np.float32)
    gy[:-1] = np.diff(plane, axis=0)
    gx[:, :-1] = np.diff(plane, axis=1)
    return gy, gx


def gradient_magnitude(plane: np.ndarray) -> np.ndarray:
    gy, gx = gradients(plane)
    return np.hypot(gy, gx)


def box_sum(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Sums over every height x width window that fits: shape (H-height+1, W-width+1)."""
    c = np.pad(plane.astype(np.float64), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return c[height:, width:] - c[:-height, width:] - c[height:, :-width] + c[:-height, :-width]


def box_mean(plane: np.ndarray, radius: int, pad: str = "edge") -> np.ndarray:
    """Same-size mean over a (2r+1)^2 window; outside the plane is `pad` (np.pad mode)."""
    side = 2 * radius + 1
    return (box_sum(np.pad(plane, radius, mode=pad), side, side) / side**2).astype(np.float32)


def high_pass(plane: np.ndarray, radius: int) -> np.ndarray:
    """Detail finer than ~radius pixels: the plane minus its local mean."""
    return plane - box_mean(plane, radius)


def line_mean(plane: np.ndarray, length: int, angles: int = 8) -> np.ndarray:
    """Per pixel, the largest mean of `plane` along a `length`-pixel segment through it, over
    `angles` directions: lines (a mark's edges) keep their strength, scattered texture
    averages down to its mean."""
    half = length // 2
    padded = np.pad(plane.astype(np.float32), half)
    h, w = plane.shape
    best = np.zeros((h, w), np.float32)
    for angle in np.pi * np.arange(angles) / angles:
        total = np.zeros((h, w), np.float32)
        for step in range(-half, half + 1):
            dy, dx = round(step * np.sin(angle)), round(step * np.cos(angle))
            total += padded[half + dy : half + dy + h, half + dx : half + dx + w]
        best = np.maximum(best, total / (2 * half + 1))
    return best


def _fast_length(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (numpy's FFT is fastest there)."""
    best = 1 << max(n - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


class Correlator:
    """Zero-normalised cross-correlation (NCC) of templates against one image.

    The image's spectra are computed once and reused for every template and scale.
    """

    def __init__(self, image: np.ndarray) -> None:
        self.plane = image.astype(np.float64)
        self.fft_shape = (_fast_length(image.shape[0]), _fast_length(image.shape[1]))
        self.spectrum = np.fft.rfft2(self.plane, self.fft_shape)
        self.square_spectrum = np.fft.rfft2(self.plane**2, self.fft_shape)

    def _correlate(self, spectrum: np.ndarray, kernel: np.ndarray, valid: tuple[int, int]) -> np.ndarray:
        out = np.fft.irfft2(spectrum * np.conj(np.fft.rfft2(kernel, self.fft_shape)), self.fft_shape)
        return out[: valid[0], : valid[1]]

    def ncc(self, template: np.ndarray, support: np.ndarray | None = None) -> np.ndarray:
        """NCC of `template` at every valid position, (H-h+1, W-w+1) in [-1, 1].

        Only pixels where `support` is true count (default: all), so the photo showing
        through the gaps of a mark does not dilute its score; flat windows score 0.
        """
        h, w = template.shape
        valid = (self.plane.shape[0] - h + 1, self.plane.shape[1] - w + 1)
        weight = np.ones((h, w)) if support is None else support.astype(np.float64)
        n = weight.sum()
        t = (template - (template * weight).sum() / max(n, 1)) * weight
        t_norm = np.sqrt((t * t).sum())
        if t_norm == 0 or min(valid) < 1:
            return np.zeros((max(valid[0], 0), max(valid[1], 0)))
        numerator = self._correlate(self.spectrum, t, valid)
        sums = self._correlate(self.spectrum, weight, valid)
        squares = self._correlate(self.square_spectrum, weight, valid)
        denominator = np.sqrt(np.maximum(squares - sums**2 / n, 0)) * t_norm
        return np.where(denominator > 1e-6 * t_norm, numerator / np.maximum(denominator, 1e-12), 0.0)


def ncc(image: np.ndarray, template: np.ndarray, support: np.ndarray | None = None) -> np.ndarray:
    """One-off Correlator(image).ncc(template, support)."""
    return Correlator(image).ncc(template, support)


def autocorrelation(plane: np.ndarray) -> np.ndarray:
    """Unbiased, normalised autocorrelation of a plane, lag (0, 0) = 1.

    Zero-padded (no wrap-around), divided by the overlap count of each lag and by the lag-0
    value; lag (dy, dx) sits at [H + dy, W + dx] of a (2H, 2W) array.
    """
    h, w = plane.shape
    shape = (_fast_length(2 * h), _fast_length(2 * w))
    centred = plane - plane.mean()
    acf = np.fft.irfft2(np.abs(np.fft.rfft2(centred, shape)) ** 2, shape)
    acf = np.roll(acf, (h, w), axis=(0, 1))[: 2 * h, : 2 * w]
    lags_y, lags_x = np.abs(np.arange(-h, h)), np.abs(np.arange(-w, w))
    acf /= np.maximum(np.outer(h - lags_y, w - lags_x), 1)  # pixels overlapping at each lag
    return acf / max(acf[h, w], 1e-12)


def brighter_tail_up(plane: np.ndarray) -> np.ndarray:
    """The plane, negated if its dark tail is the stronger: dark marks then stand out
    upwards like light ones, and one threshold rule serves both."""
    return -plane if np.percentile(plane, 99) < -np.percentile(plane, 1) else plane


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Threshold that best separates two populations of `values` (between-class variance)."""
    values = values.ravel()
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return high
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(counts)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(counts * centres)
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[1:][np.argmax(between)])
