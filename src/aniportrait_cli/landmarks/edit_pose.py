"""edit-pose core: head-pose sources, edits, the original's pose-template format, and a landmark preview.

Pose templates are the original's `.npy` files: (T, 6) float64 rows rx, ry, rz (degrees), tx, ty, tz at 30 fps,
relative to the first frame of the video they were measured on. As in the original scripts, a template is
used as is, mirrored (forward, then backward without its end frames), tiled and cut to the wanted length.

Angles: pitch is rx (nodding), yaw is ry (turning left/right), roll is rz (tilting), in MediaPipe's canonical
face frame (x to the image's right, y up, z towards the camera).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.extractor import FaceTrack, ProgressCallback, WarningCallback, as_rgb_uint8, track_video
from aniportrait_cli.landmarks.motion_tools import pose_images, relative_poses
from aniportrait_cli.landmarks.pose_track import (
    TEMPLATE_SMOOTH_WINDOW,
    moving_average,
    pingpong_tile,
    resample_track,
    template_time_resample,
    wrap_tile,
)
from aniportrait_cli.motion import Motion

TEMPLATE_FPS = 30.0
LOOP_MODES = ("pingpong", "wrap")


# ---------------------------------------------------------------------------------------------------------
# The template format.


def load_pose_template(path: str | os.PathLike) -> np.ndarray:
    """Read a pose template (.npy, (T, 6)); returns float64. InputError with the fix for bad files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: pose template not found; give a .npy written by `aniportrait edit-pose --save-pose`")
    try:
        pose = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npy pose template ({exc})") from None
    if pose.ndim != 2 or pose.shape[1] != 6 or pose.shape[0] == 0 or not np.issubdtype(pose.dtype, np.number):
        raise InputError(f"{path}: pose template has shape {pose.shape}, expected (frames, 6) numbers: rx ry rz tx ty tz")
    pose = pose.astype(np.float64)
    if not np.isfinite(pose).all():
        raise InputError(f"{path}: pose template contains NaN or infinite values")
    return pose


def save_pose_template(path: str | os.PathLike, pose: np.ndarray) -> Path:
    """Write a pose track in the original template format: .npy (T, 6) float64. Atomic (temp file + rename)."""
    from aniportrait_cli.media.atomic import atomic_output

    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim != 2 or pose.shape[1] != 6 or pose.shape[0] == 0:
        raise ValueError(f"pose track has shape {pose.shape}, expected (T, 6)")
    path = Path(path)
    if path.suffix != ".npy":
        raise InputError(f"{path}: pose templates are .npy files; name the output *.npy")
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as handle:  # a file object: np.save would append .npy to a name
            np.save(handle, pose)
    return path


def template_from_relative_poses(pose: np.ndarray, fps: float, smooth: int = TEMPLATE_SMOOTH_WINDOW) -> np.ndarray:
    """A head-pose track relative to its first frame (T, 6) at `fps` as the original's template extraction
    finishes it: resampled to 30 fps on its time axis (`template_time_resample`), then a centred moving
    average of width `smooth` (5, as the original) in float64."""
    pose = template_time_resample(pose, fps, TEMPLATE_FPS)
    return moving_average(pose, smooth, np.float64) if smooth > 1 else pose


def pose_template_from_track(track: FaceTrack, smooth: int = TEMPLATE_SMOOTH_WINDOW) -> np.ndarray:
    """The original's template extraction (generate_ref_pose) on a tracked video: head pose relative to frame 0
    (`inverse(T_0) @ T_t`), then `template_from_relative_poses`."""
    return template_from_relative_poses(relative_poses(track.transforms, 0), track.fps, smooth)


def extract_pose_template(
    frames: Iterable[np.ndarray],
    fps: float,
    source_name: str | os.PathLike = "video",
    *,
    num_frames: int | None = None,
    smooth: int = TEMPLATE_SMOOTH_WINDOW,
    on_warning: WarningCallback | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Pose template (T, 6) float64 at 30 fps of a video given as a stream of RGB frames (see `track_video`)."""
    track = track_video(frames, fps, source_name, num_frames=num_frames, on_warning=on_warning, progress=progress)
    return pose_template_from_track(track, smooth=smooth)


def extract_pose_template_from_file(
    path: str | os.PathLike,
    *,
    smooth: int = TEMPLATE_SMOOTH_WINDOW,
    on_warning: WarningCallback | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Pose template (T, 6) at 30 fps of a video file (streamed with `aniportrait_cli.media.video.VideoReader`)."""
    from aniportrait_cli.media.video import VideoReader

    reader = VideoReader(path)
    return extract_pose_template(
        reader.frames(), reader.fps, path, num_frames=reader.info.approx_num_frames, smooth=smooth,
        on_warning=on_warning, progress=progress,
    )


# ---------------------------------------------------------------------------------------------------------
# Sources and edits.


def fit_pose_length(pose: np.ndarray, length: int, loop: str = "pingpong") -> np.ndarray:
    """Tile a pose track to exactly `length` frames: 'pingpong' (forward, backward without the end frames,
    as the original does with templates) or 'wrap' (restart from the first frame)."""
    if loop not in LOOP_MODES:
        raise InputError(f"--loop must be one of {', '.join(LOOP_MODES)}, got {loop!r}")
    return pingpong_tile(pose, length) if loop == "pingpong" else wrap_tile(pose, length)


def template_pose_track(
    template: np.ndarray,
    num_frames: int,
    fps: float = TEMPLATE_FPS,
    loop: str = "pingpong",
    template_fps: float = TEMPLATE_FPS,
) -> np.ndarray:
    """A template as the head-pose track of a `num_frames` motion at `fps`: resampled from the template's
    30 fps when the rate differs (so the head moves at the recorded speed), then tiled. float64 (num_frames, 6)."""
    template = np.asarray(template, dtype=np.float64)
    if abs(fps - template_fps) > 1e-9:
        template = resample_track(template, template_fps, fps)
    return fit_pose_length(template, num_frames, loop)


def still_pose(num_frames: int) -> np.ndarray:
    """No head motion: every frame in the reference's own pose."""
    return np.zeros((num_frames, 6), dtype=np.float64)


def resolve_pose_source(
    source: str | os.PathLike,
    num_frames: int,
    fps: float,
    *,
    loop: str = "pingpong",
    on_warning: WarningCallback | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """The head-pose track (num_frames, 6) of `--pose-from`: 'still', a .npy template, or a video file
    (its pose template, extracted like generate_ref_pose)."""
    if str(source) == "still":
        return still_pose(num_frames)
    path = Path(source)
    if path.suffix.lower() == ".npy":
        template = load_pose_template(path)
    else:
        if not path.is_file():
            raise InputError(f"{path}: --pose-from file not found; give 'still', a .npy pose template or a video")
        template = extract_pose_template_from_file(path, on_warning=on_warning, progress=progress)
    return template_pose_track(template, num_frames, fps, loop)


@dataclass(frozen=True)
class PoseEdits:
    """User edits of a head-pose track, applied in this order: tile to length (`loop`), `scale` (amplitude
    of rotations and translations around the reference pose), `mirror` (left-right), `offset` (yaw, pitch,
    roll degrees added), `smooth` (centred moving average width; 1 = off)."""

    scale: float = 1.0
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    smooth: int = 1
    mirror: bool = False
    loop: str = "pingpong"


def mirror_pose(pose: np.ndarray) -> np.ndarray:
    """Left-right mirror of head motion (reflection x -> -x): yaw, roll and the sideways shift change sign."""
    out = np.array(pose, dtype=np.float64, copy=True)
    out[:, [1, 2, 3]] *= -1.0
    return out


def apply_pose_edits(pose: np.ndarray, num_frames: int, edits: PoseEdits = PoseEdits()) -> np.ndarray:
    """The edited head-pose track, float64 (num_frames, 6)."""
    if edits.smooth < 1:
        raise InputError(f"--pose-smooth must be >= 1 frame, got {edits.smooth}")
    out = fit_pose_length(np.asarray(pose, dtype=np.float64), num_frames, edits.loop) * float(edits.scale)
    if edits.mirror:
        out = mirror_pose(out)
    yaw, pitch, roll = edits.offset
    out[:, 0] += pitch
    out[:, 1] += yaw
    out[:, 2] += roll
    if edits.smooth > 1:
        out = moving_average(out, edits.smooth).astype(np.float64)
    return out


def parse_pose_offset(text: str) -> tuple[float, float, float]:
    """'yaw,pitch,roll' in degrees (the CLI's --pose-offset)."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 3:
            raise ValueError
        yaw, pitch, roll = (float(p) for p in parts)
        if not all(np.isfinite((yaw, pitch, roll))):
            raise ValueError
    except ValueError:
        raise InputError(f"--pose-offset {text!r}: expected three numbers yaw,pitch,roll in degrees, e.g. 10,0,-5") from None
    return yaw, pitch, roll


# ---------------------------------------------------------------------------------------------------------
# Preview.


def preview_frames(
    motion: Motion,
    reference_image: np.ndarray,
    width: int = 512,
    height: int = 512,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Side-by-side preview frames (height, 2 * width, 3) uint8: the reference image (resized to width x
    height) on the left, the motion's pose image on the right. A generator, one frame at a time."""
    left = cv2.resize(as_rgb_uint8(reference_image), (width, height), interpolation=cv2.INTER_AREA)
    for index, pose_image in enumerate(pose_images(motion, width, height)):
        yield np.concatenate([left, pose_image], axis=1)
        if progress is not None:
            progress(index + 1, motion.num_frames)
