"""Image input: any Pillow-readable file -> RGB uint8, EXIF orientation applied.

* 16-bit and 32-bit images (e.g. 16-bit grayscale PNG) are scaled to 8 bits, never clipped.
* Transparent pixels (RGBA, LA, palette with transparency) are composited onto a neutral grey background,
  so whatever colour hides behind them never shows.
* Images above MAX_IMAGE_PIXELS are refused before they are decoded (Pillow's own bomb check would crash or
  print a raw warning); the output is capped at `--max-output-size` anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError

# 200 megapixels: the largest phone and camera sensors; decoding one takes ~0.6 GB as RGB.
MAX_IMAGE_PIXELS = 200_000_000
BACKGROUND = (128, 128, 128)


def load_image(path: str | Path, on_warning: Callable[[str], None] | None = None) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: image file not found")
    Image.MAX_IMAGE_PIXELS = None  # our own limit below, checked on the header before decoding
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise InputError(
                    f"{path}: image is {width}x{height} ({width * height / 1e6:.0f} megapixels), above the "
                    f"{MAX_IMAGE_PIXELS // 1_000_000} MP limit; scale it down (the video's long side is --max-output-size, "
                    "1920 px by default)"
                )
            image = ImageOps.exif_transpose(image)
            rgb = _to_rgb(image, path, on_warning)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{path}: not a readable image ({exc.__class__.__name__}); give a PNG or JPEG portrait") from None
    if min(rgb.shape[:2]) < 64:
        raise InputError(f"{path}: image is {rgb.shape[1]}x{rgb.shape[0]} px, too small for a portrait (need >= 64 px)")
    return rgb


def _to_rgb(image, path: Path, on_warning: Callable[[str], None] | None) -> np.ndarray:
    from PIL import Image

    if image.mode in {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}:
        # Pillow's convert("RGB") clips these at 255 (a 16-bit photo becomes white): scale instead.
        values = np.asarray(image, dtype=np.float64)
        peak = float(values.max(initial=0))
        if image.mode.startswith("I;16") or (image.mode == "I" and peak > 255):
            top = 65535.0
        elif image.mode == "F" and peak <= 1.0:
            top = 1.0
        else:
            top = 255.0
        gray = np.clip(np.round(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    has_alpha = image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            if on_warning is not None:
                on_warning(f"{path}: has transparent pixels; they are shown on a neutral grey background")
            background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
            return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
        return np.asarray(rgba.convert("RGB"))
    return np.asarray(image.convert("RGB"))


def save_image(path: str | Path, rgb: np.ndarray) -> None:
    from PIL import Image

    from aniportrait_cli.media.atomic import atomic_output

    path = Path(path)
    with atomic_output(path) as tmp:
        Image.fromarray(rgb).save(tmp, format=(path.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG"))
