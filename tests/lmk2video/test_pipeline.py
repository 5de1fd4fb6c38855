"""Pipeline behaviour beyond the kit goldens: seeding, pose-pyramid caching, chunked decoding, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aniportrait_cli.errors import InputError
from aniportrait_cli.lmk2video.pipeline import Lmk2VideoPipeline, Numerics
from aniportrait_cli.lmk2video.tiny import random_modules
from tests.lmk2video.conftest import CALL


def count_pose_guider_calls(pipe):
    """Counts runs of the pose guider's input conv stack (the pipeline calls `forward_frames`)."""
    calls = []
    handle = pipe.pose_guider.conv_layers.register_forward_pre_hook(lambda *_: calls.append(1))
    return calls, handle


def test_initial_noise_is_the_seeded_cpu_generator_in_the_weight_dtype(tiny_pipe):
    latents = tiny_pipe.initial_latents(5, 64, 48, seed=42)
    expected = torch.randn((1, 4, 5, 6, 8), generator=torch.Generator().manual_seed(42), dtype=torch.float32)
    assert torch.equal(latents, expected)


def test_same_seed_same_video_other_seed_other_video(tiny_pipe, inputs):
    ref, poses = inputs
    a = tiny_pipe(ref, poses, seed=1, **CALL)
    assert a.shape == (7, 64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, tiny_pipe(ref, iter(list(poses)), seed=1, **CALL))
    assert not np.array_equal(a, tiny_pipe(ref, poses, seed=2, **CALL))


def test_pose_pyramid_is_computed_once_per_window_and_caching_is_exact(inputs):
    ref, poses = inputs
    modules = random_modules(seed=3)
    cached = Lmk2VideoPipeline(**modules, device="cpu")
    uncached = Lmk2VideoPipeline(**modules, device="cpu", pose_cache_device_budget_mb=0)
    results = []
    for pipe, expected_calls in ((cached, 3), (uncached, 3 * CALL["steps"])):
        calls, handle = count_pose_guider_calls(pipe)
        results.append(pipe(ref, poses, **CALL))
        handle.remove()
        assert len(calls) == expected_calls
    assert np.array_equal(*results)


def test_decode_chunk_size_does_not_change_the_frames(inputs):
    ref, poses = inputs
    modules = random_modules(seed=3)
    one = Lmk2VideoPipeline(**modules, device="cpu", decode_chunk_size=1)(ref, poses, output_type="float", **CALL)
    three = Lmk2VideoPipeline(**modules, device="cpu", decode_chunk_size=3)(ref, poses, output_type="float", **CALL)
    assert one.shape == (1, 3, 7, 64, 64)
    torch.testing.assert_close(one, three, atol=1e-5, rtol=0)


def test_streamed_frames_arrive_in_order_and_nothing_is_returned(tiny_pipe, inputs):
    ref, poses = inputs
    received = []
    assert (
        tiny_pipe(ref, poses, on_frames=lambda start, frames: received.append((start, frames.copy())), **CALL) is None
    )
    starts = [start for start, _ in received]
    assert starts == sorted(starts) and starts[0] == 0
    streamed = np.concatenate([frames for _, frames in received])
    assert np.array_equal(streamed, tiny_pipe(ref, poses, **CALL))


def test_progress_reports_every_window_call_and_decoded_frame(tiny_pipe, inputs):
    ref, poses = inputs
    events = []
    tiny_pipe(ref, poses, progress=lambda stage, done, total: events.append((stage, done, total)), **CALL)
    denoise = [e for e in events if e[0] == "denoise"]
    # Announced at 0 before the first (slow) window call, then once per call: 2 steps x 3 windows.
    assert denoise[0] == ("denoise", 0, 6) and denoise[-1] == ("denoise", 6, 6) and len(denoise) == 7
    decode = [e for e in events if e[0] == "decode"]
    assert decode[0] == ("decode", 0, 7) and decode[-1] == ("decode", 7, 7)


def test_pose_images_of_another_size_are_resized_with_nearest_neighbour(tiny_pipe, inputs):
    ref, poses = inputs
    small = poses[:, ::2, ::2]  # 32x32: nearest upsampling x2 repeats every pixel
    upsampled = small.repeat(2, axis=1).repeat(2, axis=2)
    assert np.array_equal(tiny_pipe(ref, small, **CALL), tiny_pipe(ref, upsampled, **CALL))


def test_without_guidance_the_single_batch_reads_the_bank(tiny_pipe, inputs):
    ref, poses = inputs
    frames = tiny_pipe(ref, poses[:3], cfg=1.0, **{**CALL, "steps": 1})
    assert frames.shape == (3, 64, 64, 3)


def test_clean_numerics_options_change_the_result(inputs):
    ref, poses = inputs
    modules = random_modules(seed=3)
    compat = Lmk2VideoPipeline(**modules, device="cpu")(ref, poses, output_type="float", **CALL)
    for numerics in (Numerics(pose_guider_eval=True), Numerics(fp16_reference_bank=False)):
        other = Lmk2VideoPipeline(**modules, device="cpu", numerics=numerics)(ref, poses, output_type="float", **CALL)
        assert not torch.equal(compat, other)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(width=60), "multiples of 8"),
        (dict(steps=0), "steps"),
        (dict(context_frames=33), "between 1 and 32"),
        (dict(context_overlap=4), "context overlap"),
    ],
)
def test_bad_settings_are_input_errors(tiny_pipe, inputs, change, message):
    ref, poses = inputs
    with pytest.raises(InputError, match=message):
        tiny_pipe(ref, poses, **{**CALL, **change})


def test_bad_images_are_input_errors(tiny_pipe, inputs):
    ref, poses = inputs
    with pytest.raises(InputError, match="reference image"):
        tiny_pipe(ref.astype(np.float32), poses, **CALL)
    with pytest.raises(InputError, match="pose image 2"):
        tiny_pipe(ref, [poses[0], poses[1], poses[2][..., :2]], **CALL)
    with pytest.raises(InputError, match="no pose images"):
        tiny_pipe(ref, [], **CALL)


@pytest.mark.parametrize("dtype, mean_limit", [("fp16", 0.02), ("bf16", 0.05)])
def test_half_precision_runs_end_to_end_close_to_fp32(inputs, dtype, mean_limit):
    """Dtype plumbing of the CUDA modes (bank, pose features, timestep embedding, decode), checked on the CPU."""
    ref, poses = inputs
    latents = torch.randn(1, 4, 7, 8, 8, generator=torch.Generator().manual_seed(0))
    call = dict(latents=latents, output_type="float", **CALL)
    full = Lmk2VideoPipeline(**random_modules(seed=3), device="cpu", dtype="fp32")(ref, poses, **call)
    half = Lmk2VideoPipeline(**random_modules(seed=3), device="cpu", dtype=dtype)(ref, poses, **call)
    assert half.dtype == torch.float32 and torch.isfinite(half).all()
    assert (half - full).abs().mean().item() < mean_limit
