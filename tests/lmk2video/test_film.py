"""--fast plumbing with a stand-in TorchScript module of FILM's call signature (a linear cross-fade).
The original's schedule itself is kit case 08 (tests/conformance/test_08_acc_schedule.py)."""

import torch

from aniportrait_cli.lmk2video.film import FrameInterpolator, KeyframeExpander, keyframe_indices


class CrossFade(torch.nn.Module):
    def forward(self, x0: torch.Tensor, x1: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        return x0 * (1 - dt[:, :, None, None]) + x1 * dt[:, :, None, None]


def test_keyframes_are_the_originals():
    assert keyframe_indices(10, 3) == [0, 3, 6, 9]
    assert keyframe_indices(11, 3) == [0, 3, 6, 9]
    assert keyframe_indices(1, 3) == [0]


def test_expanded_sequence_has_every_frame_at_its_own_time(tmp_path):
    path = tmp_path / "film_stand_in.pt"
    torch.jit.script(CrossFade()).save(str(path))
    interpolator = FrameInterpolator.from_file(path)
    num_frames = 11
    indices = keyframe_indices(num_frames, 3)
    # Frame i of the "true" video has brightness i / 16: the interpolated frames land on the same ramp (up to
    # fp16 inputs), and the frame after the last keyframe repeats it (the video keeps its length).
    out = []
    expander = KeyframeExpander(num_frames, 3, interpolator, out.append)
    for index in indices:
        expander(torch.full((3, 4, 4), index / 16))
    expander.finish()
    assert len(out) == num_frames
    values = [float(frame[0, 0, 0]) for frame in out]
    expected = [i / 16 for i in range(10)] + [9 / 16]
    assert max(abs(a - b) for a, b in zip(values, expected)) < 2e-3
