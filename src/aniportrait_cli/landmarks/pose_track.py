"""Head-pose tracks (T, 6): rx, ry, rz in degrees, tx, ty, tz. Post-processing as the original applies it."""

from __future__ import annotations

import numpy as np

# The original halves the rotations audio2pose predicts before smoothing them (pose templates are used as given).
ROTATION_DAMPING = 0.5
SMOOTH_WINDOW = 7


def damp_rotations(pose: np.ndarray, factor: float = ROTATION_DAMPING) -> np.ndarray:
    """Scale the three rotation channels, in float32 like the original."""
    out = np.array(pose, dtype=np.float32, copy=True)
    out[:, :3] *= np.float32(factor)
    return out


def moving_average(track: np.ndarray, width: int = SMOOTH_WINDOW) -> np.ndarray:
    """Centred moving average of odd `width`, truncated at the ends (mean of frames i-w//2 .. i+w//2 that exist).

    Computed as NumPy's float32 mean of each window slice, which reproduces the original bit for bit.
    """
    if width < 1:
        raise ValueError(f"smoothing width must be >= 1, got {width}")
    track = np.asarray(track, dtype=np.float32)
    half = width // 2
    out = np.empty_like(track)
    for i in range(track.shape[0]):
        out[i] = np.mean(track[max(0, i - half): i + half + 1], axis=0)
    return out


def resample_track(track: np.ndarray, src_fps: float, dst_fps: float, num_frames: int | None = None) -> np.ndarray:
    """Linear resampling in time; `num_frames` defaults to ceil(duration * dst_fps)."""
    track = np.asarray(track)
    if num_frames is None:
        num_frames = max(1, int(np.ceil(track.shape[0] / src_fps * dst_fps - 1e-9)))
    src_t = np.arange(track.shape[0]) / src_fps
    dst_t = np.arange(num_frames) / dst_fps
    flat = track.reshape(track.shape[0], -1)
    out = np.stack([np.interp(dst_t, src_t, flat[:, c]) for c in range(flat.shape[1])], axis=1)
    return out.reshape((num_frames,) + track.shape[1:]).astype(track.dtype)


def pingpong_tile(template: np.ndarray, length: int) -> np.ndarray:
    """Mirror a template (forward, then backward without its end frames), tile it and cut it to `length`."""
    template = np.asarray(template)
    if template.shape[0] == 0:
        raise ValueError("empty pose template")
    cycle = np.concatenate([template, template[-2:0:-1]], axis=0) if template.shape[0] > 2 else template
    reps = -(-length // cycle.shape[0])
    return np.concatenate([cycle] * reps, axis=0)[:length]


def wrap_tile(template: np.ndarray, length: int) -> np.ndarray:
    """Repeat a template from its start (no mirroring) and cut it to `length`."""
    template = np.asarray(template)
    reps = -(-length // template.shape[0])
    return np.concatenate([template] * reps, axis=0)[:length]
