"""What synthetic composites are made of (photos, fonts, strings), split train / held-out.

The held-out split shares no photo, font or string word with the training split, so a
benchmark on it measures generalisation rather than memory. Photos come from
scikit-image's bundled data (no download) and, for training, from two Debian packages;
fonts from Debian's fonts-* packages (scripts/setup.sh installs all of them).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

SPLITS = ("train", "heldout")
FONT_DIR = Path("/usr/share/fonts/truetype")

# Photo files Debian installs, by package: scenes the eight scikit-image photos lack (a
# building's windows, a lattice, heaps of sweets and fruit, wheels of small parts, streets,
# close-ups of plants). Without them the segmenter took coins, lattice towers and wheels
# for logos on whole photos. Photos carrying text or drawings of their own are left out.
PHOTO_PACKAGES = {
    "opencv-doc": Path("/usr/share/doc/opencv-doc/examples/data"),
    "mate-backgrounds": Path("/usr/share/backgrounds/mate/nature"),
}
_OPENCV = (
    "baboon.jpg", "building.jpg", "fruits.jpg", "home.jpg", "butterfly.jpg", "aero1.jpg", "aloeL.jpg",
    "basketball1.png", "leuvenA.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg", "stuff.jpg",
    "orange.jpg", "apple.jpg", "chicky_512.png", "ela_original.jpg",
)  # fmt: skip
_MATE = (
    "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg", "LadyBird.jpg",
    "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg",
)  # fmt: skip
# Names: a skimage.data loader (ships inside the wheel), or "<package>:<file>" of PHOTO_PACKAGES.
PHOTOS = {
    "train": (
        *("astronaut", "chelsea", "immunohistochemistry", "hubble_deep_field", "camera", "brick", "grass", "moon"),
        *(f"opencv-doc:{name}" for name in _OPENCV),
        *(f"mate-backgrounds:{name}" for name in _MATE),
    ),
    "heldout": ("coffee", "rocket", "coins", "gravel", "retina"),
}
FONTS = {
    "train": (
        "dejavu/DejaVuSans.ttf",
        "dejavu/DejaVuSans-Bold.ttf",
        "dejavu/DejaVuSerif.ttf",
        "dejavu/DejaVuSansMono-Bold.ttf",
        "liberation/LiberationSans-Regular.ttf",
        "liberation/LiberationSans-Bold.ttf",
    ),
    "heldout": (
        "freefont/FreeSans.ttf",
        "freefont/FreeSerifBold.ttf",
        "liberation/LiberationSerif-Regular.ttf",
        "liberation/LiberationMono-Bold.ttf",
    ),
}
WORDS = {
    "train": (
        "photo",
        "studio",
        "stock",
        "images",
        "preview",
        "sample",
        "copyright",
        "draft",
        "pixel",
        "media",
        "shutter",
        "lens",
        "capture",
        "archive",
        "gallery",
        "proof",
    ),
    "heldout": (
        "watermark",
        "licensed",
        "agency",
        "pictures",
        "confidential",
        "demo",
        "northlight",
        "bluesky",
        "foto",
        "reserved",
    ),
}
# Random strings of the training split draw letters; held-out strings never do (words only).
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class SourceError(RuntimeError):
    """A font or photo the generator needs is missing; the message says how to install it."""


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


@cache
def photo(name: str) -> np.ndarray:
    """One photo of PHOTOS as uint8 HxWx3 (greyscale ones stacked to RGB)."""
    package, _, filename = name.rpartition(":")
    image = _packaged_photo(package, filename) if package else _skimage_photo(name)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def _skimage_photo(name: str) -> np.ndarray:
    try:
        import skimage.data
    except ImportError as error:
        raise SourceError("scikit-image is missing: pip install -e '.[detect]'") from error
    return np.asarray(getattr(skimage.data, name)())


def _packaged_photo(package: str, filename: str) -> np.ndarray:
    path = PHOTO_PACKAGES[package] / filename
    if not path.is_file():
        raise SourceError(
            f"photo {path} is missing: apt-get install {package} (scripts/setup.sh does it; "
            "an image that drops /usr/share/doc from packages needs that path allowed)"
        )
    with Image.open(path) as file:
        return np.asarray(file.convert("RGB"))


def font_path(relative: str) -> Path:
    path = FONT_DIR / relative
    if not path.is_file():
        raise SourceError(
            f"font {path} is missing: apt-get install fonts-dejavu-core "
            "fonts-liberation fonts-freefont-ttf (scripts/setup.sh does it)"
        )
    return path


def random_string(rng: np.random.Generator, split: str) -> str:
    """A watermark-like string: words of the split, a (c) year or, in training, random letters."""
    words = WORDS[split]
    parts = [str(rng.choice(words)) for _ in range(int(rng.integers(1, 3)))]
    if split == "train" and rng.random() < 0.4:
        parts.append("".join(rng.choice(list(_LETTERS), size=int(rng.integers(3, 9)))))
    if rng.random() < 0.3:
        parts.insert(0, f"\u00a9 {int(rng.integers(1990, 2030))}")
    text = " ".join(parts)
    return text.upper() if rng.random() < 0.3 else text
