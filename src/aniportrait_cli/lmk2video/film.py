"""--fast: diffuse every k-th frame and fill the frames between with FILM frame interpolation, as the original.

The released `film_net_fp16.pt` is a TorchScript module (no model code needed) called as
`model(frame0, frame1, t)` with frames (1, 3, H, W) in [0, 1] and t (1, 1) the time in (0, 1) of the frame
wanted between them. What the original does, and we reproduce (kit case 08):
* the pipeline generates pose frames 0, k, 2k, ... (< N) as one clip;
* each gap is filled in a fixed order: of the slots between two filled ones, the one whose position is closest
  to their middle, with slot positions from float32 `linspace(0, 1, k + 1)`; for k = 3 the rounding of those
  positions makes the second in-between come first (t = 0.6665 from the two keyframes), then the first one
  (t = 0.5 from the left keyframe and that new frame);
* interpolator inputs and t are fp16, its output is clamped to [0, 1].
Unlike the original, the last (N - 1) mod k frames are not dropped: they repeat the last generated frame, so
the video keeps the audio's exact length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

# (x0 (1, 3, H, W) fp16, x1 (1, 3, H, W) fp16, t (1, 1) fp16) -> (1, 3, H, W)
Interpolate = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def keyframe_indices(num_frames: int, stride: int) -> list[int]:
    """The frames that are generated: 0, k, 2k, ... < num_frames."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    return list(range(0, num_frames, stride))


@dataclass(frozen=True)
class InterpolationCall:
    """One interpolator call within a gap: slot `slot` made from slots `x0_slot` and `x1_slot` at time `t`."""

    x0_slot: int
    x1_slot: int
    slot: int
    t: torch.Tensor  # () float16


def insertion_schedule(stride: int) -> list[InterpolationCall]:
    """The order in which the original fills the `stride - 1` slots of a gap (see the module docstring)."""
    positions = torch.linspace(0, 1, stride + 1, dtype=torch.float32)
    filled = [0, stride]
    calls = []
    while len(filled) < stride + 1:
        best = None
        for a, b in zip(filled, filled[1:]):
            for r in range(a + 1, b):
                d = ((positions[r] - positions[a]) / (positions[b] - positions[a]) - 0.5).abs()
                if best is None or d < best[0]:
                    best = (d, a, b, r)
        _, a, b, r = best
        # The difference is rounded to fp16 first; the division is float32; the result fp16.
        t = ((positions[r] - positions[a]).half().float() / (positions[b] - positions[a])).half()
        calls.append(InterpolationCall(a, b, r, t))
        filled = sorted(filled + [r])
    return calls


def fill_gap(first: torch.Tensor, last: torch.Tensor, stride: int, interpolate: Interpolate) -> list[torch.Tensor]:
    """The `stride - 1` float32 frames (3, H, W) between two generated frames, in time order."""
    slots: list[torch.Tensor | None] = [first] + [None] * (stride - 1) + [last]
    for call in insertion_schedule(stride):
        x0 = slots[call.x0_slot].half()[None]
        x1 = slots[call.x1_slot].half()[None]
        out = interpolate(x0, x1, call.t.reshape(1, 1))
        slots[call.slot] = out.clamp(0, 1).float()[0]
    return slots[1:-1]


class FrameInterpolator:
    """The FILM TorchScript module as an `Interpolate`: fp16 on GPUs; on the CPU it runs in float32 on the fp16
    values it is given."""

    def __init__(self, module: torch.nn.Module, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.module = module
        self.device = torch.device(device)
        self.dtype = dtype

    @classmethod
    def from_file(cls, path: str | Path, device: torch.device | str = "cpu") -> FrameInterpolator:
        device = torch.device(device)
        module = torch.jit.load(str(path), map_location=device).eval()
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        return cls(module.to(dtype), device, dtype)

    @torch.no_grad()
    def __call__(self, x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        def prepared(x: torch.Tensor) -> torch.Tensor:
            return x.to(self.device, self.dtype)

        return self.module(prepared(x0), prepared(x1), prepared(t)).float().cpu()


class KeyframeExpander:
    """Receives the generated frames (float (3, H, W) in [0, 1]) in order and emits all `num_frames` frames to
    `sink`: each generated frame, the gap after it filled by the interpolator, and at the end the last generated
    frame repeated until `num_frames` (call `finish`)."""

    def __init__(self, num_frames: int, stride: int, interpolate: Interpolate, sink: Callable[[torch.Tensor], None]):
        self.num_frames = num_frames
        self.stride = stride
        self.interpolate = interpolate
        self.sink = sink
        self.emitted = 0
        self._previous: torch.Tensor | None = None

    def _emit(self, frame: torch.Tensor) -> None:
        if self.emitted >= self.num_frames:
            raise RuntimeError("more frames than planned")
        self.sink(frame)
        self.emitted += 1

    def __call__(self, keyframe: torch.Tensor) -> None:
        if self._previous is not None:
            for frame in fill_gap(self._previous, keyframe, self.stride, self.interpolate):
                self._emit(frame)
        self._emit(keyframe)
        self._previous = keyframe

    def finish(self) -> None:
        if self._previous is None:
            raise RuntimeError("no generated frame received")
        while self.emitted < self.num_frames:
            self._emit(self._previous)
