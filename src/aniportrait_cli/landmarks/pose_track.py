"""Head-pose tracks (T, 6): rx, ry, rz in degrees, tx, ty, tz. Post-processing as the original applies it."""

from __future__ import annotations

import numpy as np

# The original halves the rotations audio2pose predicts before smoothing them (pose templates are used as given).
ROTATION_DAMPING = 0.5
SMOOTH_WINDOW = 7
# The original smooths a driving video's head pose over 3 frames (vid2vid) and a pose template over 5
# (its template extraction script).
DRIVER_SMOOTH_WINDOW = 3
TEMPLATE_SMOOTH_WINDOW = 5


def damp_rotations(pose: np.ndarray, factor: float = ROTATION_DAMPING) -> np.ndarray:
    """Scale the three rotation channels, in float32 like the original."""
    out = np.array(pose, dtype=np.float32, copy=True)
    out[:, :3] *= np.float32(factor)
    return out


def moving_average(track: np.ndarray, width: int = SMOOTH_WINDOW, dtype=np.float32) -> np.ndarray:
    """Centred moving average of odd `width`, truncated at the ends (mean of frames i-w//2 .. i+w//2 that exist).

    Computed as NumPy's mean of each window slice in `dtype` (float32 for audio2pose output, float64 for
    driving videos and templates), which reproduces the original bit for bit.
    """
    if width < 1:
        raise ValueError(f"smoothing width must be >= 1, got {width}")
    track = np.asarray(track, dtype=dtype)
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


def template_time_resample(track: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """The original template extraction's resampling to `dst_fps`: the N source frames are spread evenly over
    [0, N / src_fps] (first and last frame at the ends), int(N * dst_fps / src_fps) output frames likewise, and
    every channel is interpolated linearly. (So a 29.97 fps clip of 165 frames gives 165 frames, not 166.)"""
    track = np.asarray(track, dtype=np.float64)
    count = track.shape[0]
    duration = count / src_fps
    num_out = int(count * dst_fps / src_fps)
    if count < 2 or num_out < 2:
        return track[:1].repeat(max(num_out, 1), axis=0)
    src_t = np.linspace(0.0, duration, count)
    dst_t = np.linspace(0.0, duration, num_out)
    return np.stack([np.interp(dst_t, src_t, track[:, c]) for c in range(track.shape[1])], axis=1)
