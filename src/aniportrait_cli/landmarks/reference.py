"""Reference portraits of any size or aspect ratio: square head-and-shoulders crop, and paste-back.

AniPortrait generates square frames and was trained on head-and-shoulders crops; the original squashes any
input to a square. Instead we detect the face, take a square crop framed like the project's sample portrait
and its driving video (the face's landmark box spans about 50% of the crop side, i.e. the face is ~45% of the
crop wide, its centre in the middle of the crop, leaving room for hair, neck and shoulders), and keep the box so
the generated frames can be pasted back into the full original with a feathered seam.

The crop box always lies inside the image (it is shifted, and shrunk only if the image is too small), so no
padding is invented and paste-back covers exactly the pixels that were cut out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.extractor import (
    FaceLandmarkExtractor,
    FaceObservation,
    WarningCallback,
    as_rgb_uint8,
    detect_reference_face,
)

# Landmark box (max of width, height) as a fraction of the crop side. The sample portrait of the conformance
# kit measures 0.51, the original's example driving video 0.55.
FACE_BOX_FRACTION = 0.5
# Vertical position of the landmark-box centre in the crop (0 top, 1 bottom): the kit's sample portrait has
# 0.43, the driving video 0.55; centred leaves room for the hair above (the box starts at the forehead) and
# for the neck and shoulders below.
FACE_CENTER_Y = 0.5
SMALL_CROP_PX = 256
DEFAULT_FEATHER_PX = 24


@dataclass(frozen=True)
class CropBox:
    """A square region of the original image, in its pixels: columns x0 .. x0+size, rows y0 .. y0+size."""

    x0: int
    y0: int
    size: int

    @property
    def x1(self) -> int:
        return self.x0 + self.size

    @property
    def y1(self) -> int:
        return self.y0 + self.size

    def as_tuple(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), end-exclusive."""
        return self.x0, self.y0, self.x1, self.y1


def face_crop_box(
    face_bbox: tuple[float, float, float, float],
    image_size: tuple[int, int],
    *,
    face_fraction: float = FACE_BOX_FRACTION,
    face_center_y: float = FACE_CENTER_Y,
) -> CropBox:
    """Square crop around a face landmark box (x0, y0, x1, y1 in pixels) of an image of (width, height)."""
    width, height = image_size
    x0, y0, x1, y1 = face_bbox
    face = max(x1 - x0, y1 - y0, 1.0)
    size = int(round(min(face / face_fraction, width, height)))
    center_x = (x0 + x1) / 2.0
    center_y = (y0 + y1) / 2.0
    left = int(round(center_x - size / 2.0))
    top = int(round(center_y - face_center_y * size))
    left = min(max(left, 0), width - size)
    top = min(max(top, 0), height - size)
    return CropBox(left, top, size)


def crop_to_box(image: np.ndarray, box: CropBox) -> np.ndarray:
    """The pixels of `box` (a copy)."""
    return np.ascontiguousarray(image[box.y0: box.y1, box.x0: box.x1]).copy()


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    if width >= image.shape[1] and height >= image.shape[0]:
        interpolation = cv2.INTER_CUBIC
    elif 2 * width >= image.shape[1] and 2 * height >= image.shape[0]:
        # A mild shrink (e.g. a 512 frame into a 447 px box): bilinear has no aliasing to fear there and is
        # 4x faster than INTER_AREA at fractional scales, which matters once per frame.
        interpolation = cv2.INTER_LINEAR
    else:
        interpolation = cv2.INTER_AREA
    return cv2.resize(image, (width, height), interpolation=interpolation)


def feather_mask(size: int, feather_px: int, open_sides: tuple[bool, bool, bool, bool] = (True,) * 4) -> np.ndarray:
    """(size, size) float32 weights: 1 inside, a linear ramp to 0 over `feather_px` at the sides marked open
    (left, top, right, bottom). Sides on the original image's border stay hard (nothing outside to blend with)."""
    ramp = np.ones(size, dtype=np.float32)
    if feather_px > 0:
        steps = (np.arange(min(feather_px, size), dtype=np.float32) + 0.5) / feather_px
        ramp[: steps.size] = steps
    rising = ramp
    falling = ramp[::-1]
    left, top, right, bottom = open_sides
    horizontal = np.minimum(rising if left else 1.0, falling if right else 1.0) * np.ones(size, np.float32)
    vertical = np.minimum(rising if top else 1.0, falling if bottom else 1.0) * np.ones(size, np.float32)
    return vertical[:, None] * horizontal[None, :]


class PasteBack:
    """Puts generated square frames back over `crop_box` of the original image, blending their border into it
    over `feather_px` pixels (except along the original image's own borders).

    Built once per video: the mask and its complement are precomputed, and each frame costs one resize of the
    frame to the box and one 8-bit blend of the box alone (cv2.blendLinear), not a float pass over the image.
    """

    def __init__(self, original: np.ndarray, crop_box: CropBox, feather_px: int = DEFAULT_FEATHER_PX):
        self.original = as_rgb_uint8(original)
        height, width = self.original.shape[:2]
        if crop_box.x0 < 0 or crop_box.y0 < 0 or crop_box.x1 > width or crop_box.y1 > height:
            raise ValueError(f"crop box {crop_box.as_tuple()} is outside the {width}x{height} image")
        self.crop_box = crop_box
        self.feather_px = feather_px
        open_sides = (crop_box.x0 > 0, crop_box.y0 > 0, crop_box.x1 < width, crop_box.y1 < height)
        self._alpha = np.ascontiguousarray(feather_mask(crop_box.size, feather_px, open_sides))
        self._beta = np.ascontiguousarray(1.0 - self._alpha)
        self._region = np.ascontiguousarray(self.original[crop_box.y0: crop_box.y1, crop_box.x0: crop_box.x1])

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        box = self.crop_box
        patch = np.ascontiguousarray(_resize(as_rgb_uint8(frame), box.size, box.size))
        out = self.original.copy()
        out[box.y0: box.y1, box.x0: box.x1] = cv2.blendLinear(patch, self._region, self._alpha, self._beta)
        return out


def paste_back(original: np.ndarray, frame: np.ndarray, crop_box: CropBox, feather_px: int = DEFAULT_FEATHER_PX) -> np.ndarray:
    """The original image with one generated square frame put back over its crop box, uint8 (H, W, 3)
    (see PasteBack, which a video should build once)."""
    return PasteBack(original, crop_box, feather_px)(frame)


@dataclass
class PreparedReference:
    """A reference portrait ready for the renderers.

    image        square RGB uint8 crop (or the original image when not cropped), original resolution
    crop_box     where `image` lies in the original, None when the whole original is used
    original     the full original RGB image
    face         the face found in the original (pixels of the original)
    """

    image: np.ndarray
    crop_box: CropBox | None
    original: np.ndarray
    face: FaceObservation
    _paster: PasteBack | None = field(default=None, repr=False, compare=False)

    @property
    def cropped(self) -> bool:
        return self.crop_box is not None

    def paste_back(self, frame: np.ndarray, feather_px: int = DEFAULT_FEATHER_PX) -> np.ndarray:
        """A generated frame in the full original image (the frame itself when nothing was cropped)."""
        if self.crop_box is None:
            return as_rgb_uint8(frame)
        if self._paster is None or self._paster.feather_px != feather_px:
            self._paster = PasteBack(self.original, self.crop_box, feather_px)
        return self._paster(frame)


def prepare_reference(
    image: np.ndarray,
    source_name: str | os.PathLike = "reference image",
    *,
    crop: str = "auto",
    on_warning: WarningCallback | None = None,
    extractor: FaceLandmarkExtractor | None = None,
) -> PreparedReference:
    """Find the face and frame the portrait: crop 'auto' (square crop for non-square inputs), 'always' or 'never'.

    Raises InputError naming `source_name` when there is no face.
    """
    if crop not in ("auto", "always", "never"):
        raise ValueError(f"crop must be 'auto', 'always' or 'never', got {crop!r}")
    original = as_rgb_uint8(image)
    height, width = original.shape[:2]
    face = detect_reference_face(original, source_name, on_warning=on_warning, extractor=extractor)
    if crop == "never" or (crop == "auto" and width == height):
        return PreparedReference(original, None, original, face)
    box = face_crop_box(face.bbox, (width, height))
    if on_warning is not None and box.size < SMALL_CROP_PX:
        on_warning(
            f"{source_name}: the face is small ({box.size}x{box.size} px around it); expect a blurry result, "
            "give a larger portrait"
        )
    return PreparedReference(crop_to_box(original, box), box, original, face)


def landmark_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The width x height copy of `image` that the reference landmarks are measured on: OpenCV bilinear, as the
    original (which passes the output height as the width, a difference only for non-square output)."""
    return cv2.resize(as_rgb_uint8(image), (width, height), interpolation=cv2.INTER_LINEAR)


def reference_face_at(
    image: np.ndarray,
    width: int,
    height: int,
    source_name: str | os.PathLike = "reference image",
    *,
    on_warning: WarningCallback | None = None,
    extractor: FaceLandmarkExtractor | None = None,
) -> FaceObservation:
    """The reference face measured on `landmark_image(image, width, height)`, as the original does: its
    landmarks, transformation matrix and canonical mesh are in the generated frames' geometry."""
    resized = landmark_image(image, width, height)
    try:
        return detect_reference_face(resized, source_name, on_warning=on_warning, extractor=extractor)
    except InputError:
        raise InputError(
            f"{source_name}: no face found after resizing to {width}x{height}; give a portrait where the face "
            "is larger in the frame"
        ) from None
