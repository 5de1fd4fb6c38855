"""Face landmarks from images and videos with MediaPipe's face landmarker (Tasks API).

Per face: 478 normalised landmarks (468 mesh points + 10 iris points), 52 blendshape scores and the 4x4 facial
transformation matrix, plus the face in MediaPipe's canonical metric space (468 x 3), which the Tasks API does
not return and `face_geometry` recomputes. The model is the bundle packaged with aniportrait-cli.

The landmarker owns native resources whose destructor misbehaves at interpreter exit, so `FaceLandmarkExtractor`
must be closed: use it as a context manager. The one-shot helpers below do that for you.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.face_geometry import NUM_MESH_VERTICES, default_model_path, estimate_face_geometry

NUM_LANDMARKS = 478
NUM_BLENDSHAPES = 52

WarningCallback = Callable[[str], None]
ProgressCallback = Callable[[int, int | None], None]


def model_path() -> Path:
    """Path of the packaged face landmarker bundle (`assets/face_landmarker.task`)."""
    return default_model_path()


@dataclass
class FaceObservation:
    """One face found in one image.

    landmarks     (478, 3) float32  x, y normalised to the image width/height (top-left origin), z relative depth
                                    on the scale of x (MediaPipe's `NormalizedLandmark`)
    blendshapes   (52,) float32     ARKit-style expression scores in [0, 1]; names in `blendshape_names`
    transform     (4, 4) float64    facial transformation matrix (canonical metric face -> camera space)
    image_size    (width, height)   of the image the landmarks are normalised to
    mesh3d        (468, 3) float64  the face in MediaPipe's canonical metric space; computed from the
                                    landmarks (`face_geometry.estimate_face_geometry`) when not given
    """

    landmarks: np.ndarray
    blendshapes: np.ndarray
    transform: np.ndarray
    image_size: tuple[int, int]
    blendshape_names: tuple[str, ...] = ()
    mesh3d: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.transform = np.asarray(self.transform, dtype=np.float64)
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        if self.mesh3d is None:
            self.mesh3d, _ = estimate_face_geometry(self.landmarks, self.image_size)
        self.mesh3d = np.asarray(self.mesh3d, dtype=np.float64)

    @property
    def pixels(self) -> np.ndarray:
        """Landmarks in pixels, (478, 2) float64."""
        return self.landmarks[:, :2].astype(np.float64) * np.array(self.image_size, dtype=np.float64)

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """Tight box of the landmarks in pixels: (x0, y0, x1, y1)."""
        pixels = self.pixels
        x0, y0 = pixels.min(axis=0)
        x1, y1 = pixels.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """A contiguous (H, W, 3) uint8 RGB copy of a gray, RGB or RGBA uint8 image."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
    return np.ascontiguousarray(image)


@contextlib.contextmanager
def _native_stderr_silenced(enabled: bool) -> Iterator[None]:
    """Hide the native library's start-up chatter (glog/TFLite lines written straight to fd 2)."""
    if not enabled:
        yield
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


class FaceLandmarkExtractor:
    """MediaPipe face landmarker in IMAGE mode (independent images) or VIDEO mode (tracking with timestamps).

    Use as a context manager. `detect` returns every face found, largest first.
    """

    def __init__(
        self,
        mode: str = "image",
        *,
        max_faces: int = 4,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        model: str | os.PathLike | None = None,
        quiet: bool = True,
    ):
        if mode not in ("image", "video"):
            raise ValueError(f"mode must be 'image' or 'video', got {mode!r}")
        from aniportrait_cli.landmarks.mediapipe_import import import_mediapipe

        import_mediapipe()  # without matplotlib (see there)
        from mediapipe.tasks.python import BaseOptions, vision

        self.mode = mode
        self._quiet = quiet
        self._last_timestamp_ms = -1
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model or model_path())),
            running_mode=vision.RunningMode.IMAGE if mode == "image" else vision.RunningMode.VIDEO,
            num_faces=max_faces,
            min_face_detection_confidence=min_detection_confidence,
            min_face_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with _native_stderr_silenced(quiet):
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._first_call = True

    def __enter__(self) -> FaceLandmarkExtractor:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def close(self) -> None:
        landmarker, self._landmarker = getattr(self, "_landmarker", None), None
        if landmarker is not None:
            landmarker.close()

    def detect(self, image: np.ndarray, timestamp_ms: int | None = None) -> list[FaceObservation]:
        """All faces in an RGB uint8 image, largest first. VIDEO mode needs increasing `timestamp_ms`."""
        import mediapipe as mp

        if self._landmarker is None:
            raise RuntimeError("the face landmarker is closed")
        rgb = as_rgb_uint8(image)
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        # The first inference prints more native start-up lines.
        with _native_stderr_silenced(self._quiet and self._first_call):
            if self.mode == "image":
                result = self._landmarker.detect(mp_image)
            else:
                if timestamp_ms is None:
                    raise ValueError("VIDEO mode needs a timestamp for every frame")
                timestamp_ms = max(int(timestamp_ms), self._last_timestamp_ms + 1)
                self._last_timestamp_ms = timestamp_ms
                result = self._landmarker.detect_for_video(mp_image, timestamp_ms)
        self._first_call = False

        size = (rgb.shape[1], rgb.shape[0])
        faces = []
        for i, points in enumerate(result.face_landmarks):
            landmarks = np.array([[p.x, p.y, p.z] for p in points], dtype=np.float32)
            categories = result.face_blendshapes[i] if i < len(result.face_blendshapes) else []
            blendshapes = np.array([c.score for c in categories], dtype=np.float32)
            names = tuple(c.category_name or "" for c in categories)
            if i < len(result.facial_transformation_matrixes):
                transform = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float64)
            else:
                transform = estimate_face_geometry(landmarks, size)[1]
            faces.append(FaceObservation(landmarks, blendshapes, transform, size, names))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces


def detect_reference_face(
    image: np.ndarray,
    source_name: str | os.PathLike = "reference image",
    *,
    on_warning: WarningCallback | None = None,
    extractor: FaceLandmarkExtractor | None = None,
) -> FaceObservation:
    """The face of a reference portrait (IMAGE mode). Several faces: the largest, with one warning.

    Raises InputError naming `source_name` when no face is found.
    """
    with contextlib.ExitStack() as stack:
        if extractor is None:
            extractor = stack.enter_context(FaceLandmarkExtractor("image"))
        faces = extractor.detect(image)
        if not faces:
            faces = detect_in_windows(extractor, image)
    if not faces:
        raise InputError(
            f"{source_name}: no face found; give a portrait where the face is clearly visible, "
            "frontal or slightly turned, and not too small"
        )
    if len(faces) > 1 and on_warning is not None:
        on_warning(f"{source_name}: {len(faces)} faces found, using the largest one")
    return faces[0]


def _window_sides(width: int, height: int, smallest: int) -> list[int]:
    sides, side = [], min(width, height)
    while side >= smallest:
        sides.append(side)
        side //= 2
    return sides or [min(width, height)]


def _window_starts(length: int, side: int) -> list[int]:
    if side >= length:
        return [0]
    count = int(np.ceil((length - side) / (side / 2))) + 1
    return sorted({int(round(v)) for v in np.linspace(0, length - side, count)})


def detect_in_windows(extractor: FaceLandmarkExtractor, image: np.ndarray, smallest: int = 256) -> list[FaceObservation]:
    """Faces too small for the detector in the whole image (it sees a 128 px copy), found in overlapping
    square windows of decreasing size (half-overlapping, sides min(W, H), /2, ... >= `smallest` px).

    Stops at the first window size that finds a face. Landmarks are mapped back to the whole image and the
    transformation matrix recomputed for it (`face_geometry`); duplicates from overlapping windows are merged.
    """
    if extractor.mode != "image":
        raise ValueError("window search needs an IMAGE-mode extractor")
    rgb = as_rgb_uint8(image)
    height, width = rgb.shape[:2]
    for side in _window_sides(width, height, smallest):
        found: list[FaceObservation] = []
        for y0 in _window_starts(height, side):
            for x0 in _window_starts(width, side):
                if side == width and side == height:
                    continue  # the whole image was tried already
                for face in extractor.detect(rgb[y0: y0 + side, x0: x0 + side]):
                    landmarks = face.landmarks.astype(np.float64)
                    landmarks[:, 0] = (landmarks[:, 0] * side + x0) / width
                    landmarks[:, 1] = (landmarks[:, 1] * side + y0) / height
                    landmarks[:, 2] = landmarks[:, 2] * side / width
                    landmarks = landmarks.astype(np.float32)
                    mesh, transform = estimate_face_geometry(landmarks, (width, height))
                    found.append(
                        FaceObservation(landmarks, face.blendshapes, transform, (width, height), face.blendshape_names, mesh)
                    )
        if found:
            return _merge_duplicates(found)
    return []


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller box."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(smaller, 1e-9)


def _merge_duplicates(faces: list[FaceObservation]) -> list[FaceObservation]:
    faces = sorted(faces, key=lambda face: face.area, reverse=True)
    kept: list[FaceObservation] = []
    for face in faces:
        if all(_overlap(face.bbox, other.bbox) < 0.5 for other in kept):
            kept.append(face)
    return kept


# ---------------------------------------------------------------------------------------------------------
# Video tracking.


@dataclass
class FaceTrack:
    """Per-frame face of a video. Frames where no face was found are filled by interpolation (`present` False).

    landmarks    (T, 478, 3) float32  normalised image landmarks
    blendshapes  (T, 52) float32
    transforms   (T, 4, 4) float64    facial transformation matrices (MediaPipe's where present, recomputed
                                      from the interpolated landmarks elsewhere)
    mesh3d       (T, 468, 3) float32  canonical-space mesh per frame (recomputed, see `face_geometry`)
    present      (T,) bool            whether the landmarker found the face in that frame
    fps          float
    image_size   (width, height)
    """

    landmarks: np.ndarray
    blendshapes: np.ndarray
    transforms: np.ndarray
    mesh3d: np.ndarray
    present: np.ndarray
    fps: float
    image_size: tuple[int, int]
    blendshape_names: tuple[str, ...] = ()

    @property
    def num_frames(self) -> int:
        return int(self.present.shape[0])

    @property
    def coverage(self) -> float:
        """Fraction of frames where the face was actually found."""
        return float(self.present.mean())


def fill_missing_frames(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fill rows of `values` (T, ...) where `present` is False by linear interpolation between the nearest
    present neighbours in time; leading/trailing gaps copy the nearest present frame. Needs one present row."""
    present = np.asarray(present, dtype=bool)
    if not present.any():
        raise ValueError("no present frame to interpolate from")
    values = np.array(values, copy=True)
    if present.all():
        return values
    known = np.flatnonzero(present)
    missing = np.flatnonzero(~present)
    next_slot = np.searchsorted(known, missing)  # first present frame after each missing one
    hi = known[np.minimum(next_slot, len(known) - 1)]
    lo = known[np.maximum(next_slot - 1, 0)]
    lo = np.where(next_slot == 0, hi, lo)  # leading gap: copy the first present frame
    hi = np.where(next_slot == len(known), lo, hi)  # trailing gap: copy the last one
    weight = np.where(hi > lo, (missing - lo) / np.maximum(hi - lo, 1), 0.0)
    weight = weight.reshape((-1,) + (1,) * (values.ndim - 1))
    values[missing] = (values[lo] * (1.0 - weight) + values[hi] * weight).astype(values.dtype)
    return values


def track_video(
    frames: Iterable[np.ndarray],
    fps: float,
    source_name: str | os.PathLike = "video",
    *,
    num_frames: int | None = None,
    on_warning: WarningCallback | None = None,
    progress: ProgressCallback | None = None,
    min_confidence: float = 0.5,
) -> FaceTrack:
    """Track the face through a stream of RGB uint8 frames (VIDEO mode, timestamps from `fps`).

    Frames are consumed one at a time (the video is never held in memory; only the landmarks are kept).
    Frames without a face are interpolated from their neighbours, never dropped. With several faces the
    largest one of each frame is used and one warning is given. `progress(done, num_frames)` is called per frame.
    Raises InputError naming `source_name` when no frame has a face, or when the stream is empty.
    """
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    landmarks, blendshapes, transforms, meshes, present = [], [], [], [], []
    names: tuple[str, ...] = ()
    image_size: tuple[int, int] | None = None
    warned = False
    with FaceLandmarkExtractor(
        "video", min_detection_confidence=min_confidence, min_presence_confidence=min_confidence,
        min_tracking_confidence=min_confidence,
    ) as extractor:
        for index, frame in enumerate(frames):
            faces = extractor.detect(frame, timestamp_ms=round(index * 1000.0 / fps))
            if image_size is None:
                image_size = (frame.shape[1], frame.shape[0])
            if faces:
                face = faces[0]
                landmarks.append(face.landmarks)
                blendshapes.append(face.blendshapes if face.blendshapes.size else np.zeros(NUM_BLENDSHAPES, np.float32))
                transforms.append(face.transform)
                meshes.append(face.mesh3d.astype(np.float32))
                names = names or face.blendshape_names
                present.append(True)
                if len(faces) > 1 and not warned and on_warning is not None:
                    on_warning(f"{source_name}: several faces in the video (first at frame {index}), tracking the largest")
                    warned = True
            else:
                landmarks.append(np.zeros((NUM_LANDMARKS, 3), np.float32))
                blendshapes.append(np.zeros(NUM_BLENDSHAPES, np.float32))
                transforms.append(np.eye(4))
                meshes.append(np.zeros((NUM_MESH_VERTICES, 3), np.float32))
                present.append(False)
            if progress is not None:
                progress(index + 1, num_frames)

    if not present:
        raise InputError(f"{source_name}: the video has no frames")
    present_arr = np.array(present, dtype=bool)
    if not present_arr.any():
        raise InputError(
            f"{source_name}: no face found in any of its {len(present)} frames; give a video where a face is clearly visible"
        )
    missing = int((~present_arr).sum())
    if missing and on_warning is not None:
        on_warning(f"{source_name}: no face in {missing} of {len(present)} frames, filled in from the neighbouring frames")

    landmarks_arr = fill_missing_frames(np.stack(landmarks), present_arr)
    blendshapes_arr = fill_missing_frames(np.stack(blendshapes), present_arr)
    transforms_arr = np.stack(transforms)
    meshes = np.stack(meshes)
    for t in np.flatnonzero(~present_arr):
        meshes[t], transforms_arr[t] = estimate_face_geometry(landmarks_arr[t], image_size)
    return FaceTrack(landmarks_arr, blendshapes_arr, transforms_arr, meshes, present_arr, float(fps), image_size, names)
