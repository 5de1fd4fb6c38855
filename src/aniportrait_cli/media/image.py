"""Image input: any Pillow-readable file -> RGB uint8, EXIF orientation applied."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError


def load_image(path: str | Path) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: image file not found")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            rgb = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable image ({exc.__class__.__name__}); give a PNG or JPEG portrait") from None
    if min(rgb.shape[:2]) < 64:
        raise InputError(f"{path}: image is {rgb.shape[1]}x{rgb.shape[0]} px, too small for a portrait (need >= 64 px)")
    return rgb


def save_image(path: str | Path, rgb: np.ndarray) -> None:
    from PIL import Image

    from aniportrait_cli.media.atomic import atomic_output

    path = Path(path)
    with atomic_output(path) as tmp:
        Image.fromarray(rgb).save(tmp, format=(path.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG"))
