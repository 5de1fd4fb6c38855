"""Which frames of a driving video are used (vid2vid).

The motion modules were trained on clips of about 30 fps, so a faster driving video is thinned to about 30 fps
by keeping every `step`-th frame: 50 -> 25, 59.94 -> 29.97, 60 -> 30, 120 -> 30 fps; below 45 fps every frame
is kept. (The original halves only a rate of exactly 60 and renders 50 or 59.94 fps videos at full rate.)
With --fast only every `fast_stride`-th of those frames is measured and diffused, as in the original.
"""

from __future__ import annotations

MOTION_MODULE_FPS = 30.0


def driving_frame_step(fps: float) -> int:
    """Keep every n-th frame: the whole number that brings `fps` closest to 30 (1 below 45 fps)."""
    return max(1, round(fps / MOTION_MODULE_FPS))


def selected_frame_indices(num_frames: int, step: int, fast_stride: int = 1) -> list[int]:
    """Indices of the driving frames that are measured: 0, s, 2s, ... with s = step * fast_stride."""
    return list(range(0, num_frames, step * fast_stride))
