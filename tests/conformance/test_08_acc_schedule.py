"""Conformance case 08: --fast keyframes and the interpolation schedule, with the kit's fp16 linear stand-in for
FILM; and our deliberate difference: the clip keeps all N frames (the last ones repeat the last generated one)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from aniportrait_cli.lmk2video.film import KeyframeExpander, insertion_schedule, keyframe_indices
from tests.conformance.conftest import case_dir

CASE = "08_acc_schedule"
LENGTHS = (10, 11, 12, 31, 32, 33)
STRIDES = (2, 3, 4, 5, 6)


@pytest.fixture(scope="module")
def kit():
    folder = case_dir(CASE)
    return {"io": load_file(str(folder / "io.safetensors")), "config": json.loads((folder / "config.json").read_text())}


class StandIn:
    """The kit's stand-in interpolator: x0 * (1 - t) + x1 * t in the dtype it receives; logs every call."""

    def __init__(self):
        self.calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def __call__(self, x0, x1, t):
        self.calls.append((x0, x1, t))
        t = t.reshape(1, 1, 1, 1)
        return x0 * (1 - t) + x1 * t


def _expand(keyframes: torch.Tensor, stride: int, num_frames: int):
    """Run the expander on (1, 3, k, h, w) keyframes -> (frames (1, 3, n, h, w), stand-in)."""
    stand_in = StandIn()
    out: list[torch.Tensor] = []
    expander = KeyframeExpander(num_frames, stride, stand_in, out.append)
    for m in range(keyframes.shape[2]):
        expander(keyframes[0, :, m])
    expander.finish()
    return torch.stack(out, dim=1)[None], stand_in


def _check_calls(stand_in: StandIn, call_slots: torch.Tensor, call_t: torch.Tensor, frames: torch.Tensor, stride: int):
    """Each logged call has the golden slots' frames as fp16 inputs and the golden t, in the golden order."""
    assert len(stand_in.calls) == call_slots.shape[0]
    for (x0, x1, t), (pair, slot0, slot1, _), expected_t in zip(stand_in.calls, call_slots.tolist(), call_t):
        assert x0.dtype == x1.dtype == t.dtype == torch.float16 and t.shape == (1, 1)
        assert torch.equal(t.reshape(()), expected_t)
        assert torch.equal(x0[0], frames[0, :, pair * stride + slot0].half())
        assert torch.equal(x1[0], frames[0, :, pair * stride + slot1].half())


@pytest.mark.parametrize("stride", STRIDES)
def test_insertion_order(kit, stride):
    expected = kit["config"]["insertion_order"][str(stride)]["calls_[x0_slot,x1_slot,inserted_slot,t]"]
    got = [[c.x0_slot, c.x1_slot, c.slot, float(c.t)] for c in insertion_schedule(stride)]
    assert got == expected
    io = kit["io"]
    assert torch.equal(torch.stack([c.t for c in insertion_schedule(stride)]), io[f"fi{stride}_call_t"])


@pytest.mark.parametrize("stride", STRIDES)
def test_one_gap_frames_and_calls(kit, stride):
    io = kit["io"]
    frames, stand_in = _expand(io[f"fi{stride}_keyframes"], stride, stride + 1)
    assert torch.equal(frames, io[f"fi{stride}_frames"])
    _check_calls(stand_in, io[f"fi{stride}_call_slots"], io[f"fi{stride}_call_t"], io[f"fi{stride}_frames"], stride)


@pytest.mark.parametrize("n", LENGTHS)
def test_clip_schedule_frames_and_length(kit, n):
    io = kit["io"]
    stride = kit["config"]["fi_step"]
    keys = keyframe_indices(n, stride)
    assert keys == io[f"n{n}_keyframe_indices"].tolist()
    golden = io[f"n{n}_frames"]
    generated = int(io[f"n{n}_num_output_frames"])
    assert golden.shape[2] == generated == stride * (len(keys) - 1) + 1
    frames, stand_in = _expand(io[f"n{n}_keyframes"], stride, n)
    # The original's frames, exactly (fp16 stand-in), in the original's call order.
    assert torch.equal(frames[:, :, :generated], golden)
    _check_calls(stand_in, io[f"n{n}_call_slots"], io[f"n{n}_call_t"], golden, stride)
    # Output frame j is pose frame j: [pair, slot] = divmod(j, stride) for the generated part.
    source = io[f"n{n}_frame_source"].tolist()
    assert source == [list(divmod(j, stride)) for j in range(generated - 1)] + [[len(keys) - 1, 0]]
    # Ours: the video keeps all n frames (the original drops (n - 1) mod 3); the extra ones repeat the last.
    assert frames.shape[2] == n
    for j in range(generated, n):
        assert torch.equal(frames[:, :, j], golden[:, :, -1])


def test_float32_frames_pass_through_unchanged(kit):
    io = kit["io"]
    frames, _ = _expand(io["n31_keyframes"], 3, 31)
    assert frames.dtype == torch.float32
    assert torch.equal(frames[:, :, ::3], io["n31_keyframes"])
