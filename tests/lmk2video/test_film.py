"""--fast plumbing with a stand-in TorchScript module of FILM's call signature (a linear cross-fade)."""

import numpy as np
import torch

from aniportrait_cli.lmk2video.film import FrameInterpolator, KeyframeExpander, keyframe_indices


class CrossFade(torch.nn.Module):
    def forward(self, x0: torch.Tensor, x1: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        return x0 * (1 - dt[:, :, None, None]) + x1 * dt[:, :, None, None]


def test_keyframes_cover_every_frame():
    assert keyframe_indices(10, 3) == [0, 3, 6, 9]
    assert keyframe_indices(11, 3) == [0, 3, 6, 9, 10]
    assert keyframe_indices(1, 3) == [0]


def test_expanded_sequence_has_every_frame_at_its_own_time(tmp_path):
    path = tmp_path / "film_stand_in.pt"
    torch.jit.script(CrossFade()).save(str(path))
    interpolator = FrameInterpolator.from_file(path)
    num_frames = 11
    indices = keyframe_indices(num_frames, 3)
    # Frame i of the "true" video has brightness 20 * i: the interpolated frames must land on the same ramp.
    out = []
    expander = KeyframeExpander(indices, interpolator, out.append)
    for index in indices:
        expander(np.full((8, 8, 3), 20 * index, np.uint8))
    assert len(out) == num_frames
    assert [int(frame[0, 0, 0]) for frame in out] == [20 * i for i in range(num_frames)]
