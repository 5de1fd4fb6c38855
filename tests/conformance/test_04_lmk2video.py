"""Case 04: the whole lmk2video pipeline against the kit's goldens (single window and 4 wrapping windows)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from aniportrait_cli.lmk2video.context import context_windows
from aniportrait_cli.lmk2video.pipeline import Lmk2VideoPipeline
from tests.conformance.conftest import assert_matches_golden, case_dir, tolerance

pytestmark = pytest.mark.usefixtures("single_torch_thread")

CASE = "04_lmk2video"


@pytest.fixture(scope="module")
def config():
    return json.loads((case_dir(CASE) / "config.json").read_text())


@pytest.fixture(scope="module")
def pipe():
    return Lmk2VideoPipeline.from_kit_case(case_dir(CASE), device="cpu", dtype=torch.float32)


def run_variant(pipe, config, variant):
    io = load_file(case_dir(CASE) / f"io_{variant}.safetensors")
    settings = config["variants"][variant]
    height, width = config["image_size"]
    recorded = []
    video = pipe(
        io["ref_image_u8"].numpy(),
        iter(io["pose_images_u8"].numpy()),  # an iterator, as a streaming caller would pass
        width,
        height,
        steps=config["num_inference_steps"],
        cfg=config["guidance_scale"],
        context_frames=settings["context_frames"],
        context_overlap=settings["context_overlap"],
        latents=io["init_latents"],
        on_step=lambda i, t, latents: recorded.append((t.item(), latents.clone())),
        output_type="float",
    )
    return io, video, recorded


@pytest.fixture(scope="module")
def short(pipe, config):
    return run_variant(pipe, config, "short")


@pytest.fixture(scope="module")
def long(pipe, config):
    return run_variant(pipe, config, "long")


@pytest.mark.parametrize("variant", ["short", "long"])
def test_window_schedule(config, variant):
    settings = config["variants"][variant]
    windows = context_windows(settings["F"], settings["context_frames"], settings["context_overlap"])
    assert windows == settings["windows"]


def check_run(io, video, recorded):
    assert_matches_golden(CASE, "timesteps", torch.tensor([t for t, _ in recorded]), io["timesteps"])
    for k, (_, latents) in enumerate(recorded):
        assert_matches_golden(CASE, f"latents_after_step_{k}", latents, io[f"latents_after_step_{k}"])
    assert_matches_golden(CASE, "video", video, io["video"])
    mean_abs_limit = json.loads((case_dir(CASE).parents[1] / "tolerances.json").read_text())[CASE]["video_mean_abs_max"]
    assert (video - io["video"]).abs().mean().item() <= mean_abs_limit


def test_short_single_window(short):
    check_run(*short)


def test_long_four_wrapping_windows(long):
    # Also the only variant that detects a missing float16 rounding of the reference bank.
    check_run(*long)


def test_preprocessing_checkpoints(pipe):
    io = load_file(case_dir(CASE) / "io_short.safetensors")
    reference = pipe.encode_reference(io["ref_image_u8"].numpy(), 128, 128)
    assert_matches_golden(CASE, "clip_pixel_values", reference.clip_pixel_values, io["clip_pixel_values"])
    assert_matches_golden(CASE, "clip_image_embeds", reference.image_embeds, io["clip_image_embeds"])
    assert_matches_golden(CASE, "ref_image_latents", reference.latents, io["ref_image_latents"])


def test_uint8_frames_and_streaming(pipe, short):
    """Default output: the float video x 255 truncated as the original converts it, (F, H, W, 3); `on_frames` gets
    the same frames in chunks."""
    io, _, recorded = short
    final_latents = recorded[-1][1]
    frames = pipe.decode(final_latents)
    expected = io["video"][0].permute(1, 2, 3, 0).numpy() * 255  # (F, H, W, 3)
    atol, _ = tolerance(CASE, "video")
    assert frames.shape == expected.shape and frames.dtype.name == "uint8"
    difference = frames.astype("float64") - expected
    assert difference.max() <= 255 * atol and difference.min() >= -1 - 255 * atol
    chunks = []
    pipe.decode(final_latents, on_frames=lambda start, chunk: chunks.append((start, chunk)))
    assert [start for start, _ in chunks] == list(range(0, len(frames), pipe.decode_chunk_size))
    assert (torch.from_numpy(frames) == torch.cat([torch.from_numpy(c) for _, c in chunks])).all()
