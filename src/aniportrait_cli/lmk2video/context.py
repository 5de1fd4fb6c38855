"""Context windows of the long-video sampler (the original's "uniform" schedule with stride 1, closed loop)."""

from __future__ import annotations


def context_windows(num_frames: int, context_frames: int = 16, context_overlap: int = 4) -> list[list[int]]:
    """Frame indices of each window, in window order.

    One window [0..F-1] when F <= context_frames. Otherwise windows start at 0, s, 2s, ... (s = context_frames -
    context_overlap) while the start is < F, and each takes context_frames consecutive indices modulo F, so the
    last window wraps around to the first frames. The schedule is the same at every denoising step.
    """
    if num_frames < 1:
        raise ValueError("num_frames must be >= 1")
    if context_frames < 1 or not 0 <= context_overlap < context_frames:
        raise ValueError(
            "need context_frames >= 1 and 0 <= context_overlap < context_frames, "
            f"got {context_frames}/{context_overlap}"
        )
    if num_frames <= context_frames:
        return [list(range(num_frames))]
    step = context_frames - context_overlap
    return [[i % num_frames for i in range(start, start + context_frames)] for start in range(0, num_frames, step)]
