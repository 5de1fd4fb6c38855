"""--fast: diffuse every k-th frame and fill the frames between with FILM frame interpolation.

The released `film_net_fp16.pt` is a TorchScript module (no model code needed) called as
`model(frame0, frame1, t)` with frames (1, 3, H, W) float in [0, 1] and t (1, 1) the time in (0, 1) of the
frame wanted between them. Keyframes sit at their own indices in the full frame sequence and the in-between
frames at theirs, so the output has exactly as many frames as the motion and audio sync cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def keyframe_indices(num_frames: int, stride: int) -> list[int]:
    """0, k, 2k, ... and always the last frame, so every frame lies between two keyframes."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    indices = list(range(0, num_frames, stride))
    if indices[-1] != num_frames - 1:
        indices.append(num_frames - 1)
    return indices


class FrameInterpolator:
    def __init__(self, module: torch.nn.Module, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.module = module
        self.device = torch.device(device)
        self.dtype = dtype

    @classmethod
    def from_file(cls, path: str | Path, device: torch.device | str = "cpu") -> FrameInterpolator:
        device = torch.device(device)
        module = torch.jit.load(str(path), map_location=device).eval()
        # The release is stored in fp16: run it in fp16 on GPUs, fp32 on the CPU.
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        return cls(module.to(dtype), device, dtype)

    def _tensor(self, frame: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)
        return tensor.permute(2, 0, 1)[None].to(self.dtype) / 255.0

    @torch.no_grad()
    def between(self, first: np.ndarray, last: np.ndarray, count: int) -> list[np.ndarray]:
        """`count` frames evenly spaced in time strictly between two uint8 frames (H, W, 3)."""
        a, b = self._tensor(first), self._tensor(last)
        frames = []
        for j in range(1, count + 1):
            t = torch.full((1, 1), j / (count + 1), device=self.device, dtype=self.dtype)
            out = self.module(a, b, t)
            frames.append((out[0].float().clamp(0, 1).permute(1, 2, 0) * 255).round().to(torch.uint8).cpu().numpy())
        return frames


class KeyframeExpander:
    """Receives keyframes in order and emits the full frame sequence (keyframes + interpolated) to `sink`."""

    def __init__(self, indices: list[int], interpolator: FrameInterpolator, sink: Callable[[np.ndarray], None]):
        self.indices = indices
        self.interpolator = interpolator
        self.sink = sink
        self._received = 0
        self._previous: np.ndarray | None = None

    def __call__(self, keyframe: np.ndarray) -> None:
        position = self._received
        if position >= len(self.indices):
            raise RuntimeError("more keyframes than planned")
        if self._previous is not None:
            gap = self.indices[position] - self.indices[position - 1] - 1
            for frame in self.interpolator.between(self._previous, keyframe, gap):
                self.sink(frame)
        self.sink(keyframe)
        self._previous = keyframe
        self._received += 1
