"""Constructed test images: natural-looking photos (1/f spectrum + shapes) and marks."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def photo(seed: int, height: int = 256, width: int = 256) -> np.ndarray:
    """uint8 RGB with a natural image's power spectrum (1/f^2.6) plus a few hard-edged shapes."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    amplitude = np.maximum(np.hypot(fy, fx), 1 / max(height, width)) ** -1.3
    channels = []
    for _ in range(3):
        phase = rng.uniform(0, 2 * np.pi, amplitude.shape)
        plane = np.fft.irfft2(amplitude * np.exp(1j * phase), (height, width))
        channels.append((plane - plane.mean()) / plane.std())
    mix = rng.normal(size=(3, 3)) * 0.3 + np.eye(3)
    img = np.einsum("ij,jhw->hwi", mix, np.stack(channels)) * 35 + rng.uniform(70, 180, 3)
    canvas = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(6):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1, y1 = x0 + rng.integers(10, width // 2), y0 + rng.integers(10, height // 2)
        fill = tuple(int(v) for v in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=fill)
    noisy = np.asarray(canvas).astype(np.float32) + rng.normal(0, 2, (height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def text_alpha(text: str, size: int, opacity: float, angle: float = 0.0) -> np.ndarray:
    """float alpha (0..opacity) of `text` in Pillow's bundled font, tightly cropped."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (right - left + 4, bottom - top + 4))
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), text, fill=255, font=font)
    if angle:
        canvas = canvas.rotate(angle, expand=True, resample=Image.BILINEAR)
    alpha = np.asarray(canvas).astype(np.float32) / 255
    ys, xs = np.nonzero(alpha)
    return alpha[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] * opacity


def blend(image: np.ndarray, color: tuple[int, int, int] | np.ndarray, alpha: np.ndarray, x: int, y: int) -> np.ndarray:
    """J = (1 - a) I + a W at (x, y), rounded to uint8 like a real composite."""
    out = image.astype(np.float32)
    h, w = alpha.shape
    a = alpha[..., None]
    out[y : y + h, x : x + w] = (1 - a) * out[y : y + h, x : x + w] + a * np.asarray(color, np.float32)
    return np.clip(out.round(), 0, 255).astype(np.uint8)


def place(shape: tuple[int, int], alpha: np.ndarray, x: int, y: int) -> np.ndarray:
    """Ground-truth mask: alpha > 0 placed at (x, y) in an image of `shape`."""
    mask = np.zeros(shape, bool)
    h, w = alpha.shape
    mask[y : y + h, x : x + w] = alpha > 0.02
    return mask
