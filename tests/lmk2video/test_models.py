"""Unit checks of the lmk2video networks that the end-to-end goldens cannot isolate."""

from __future__ import annotations

import pytest
import torch
from diffusers.models.attention import BasicTransformerBlock
from safetensors.torch import load_file

from aniportrait_cli.lmk2video.configs import ModelConfigs, tiny_configs
from aniportrait_cli.lmk2video.context import context_windows
from aniportrait_cli.lmk2video.loading import build_denoising_unet, build_reference_unet_from
from aniportrait_cli.lmk2video.models.layout import fold_frames, unfold_frames
from aniportrait_cli.lmk2video.models.motion_module import SinusoidalPositionalEncoding
from aniportrait_cli.lmk2video.models.reference_unet import capture_reference_bank
from aniportrait_cli.lmk2video.tiny import randomize_
from tests.conformance.conftest import case_dir


def test_fold_unfold_round_trip():
    x = torch.randn(2, 3, 5, 4, 6)
    folded = fold_frames(x)
    assert folded.shape == (10, 3, 4, 6) and torch.equal(folded[7], x[1, :, 2])
    assert torch.equal(unfold_frames(folded, 2), x)


def test_position_table_is_the_analytic_one_stored_in_the_release():
    stored = load_file(case_dir("04_lmk2video") / "weights" / "motion_module.safetensors")
    key = next(k for k in stored if k.endswith("pos_encoder.pe"))
    table = SinusoidalPositionalEncoding(stored[key].shape[2], max_len=stored[key].shape[1]).pe
    torch.testing.assert_close(table, stored[key], atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "frames, size, overlap, expected",
    [
        (16, 16, 4, [list(range(16))]),
        (17, 16, 4, [list(range(16)), [12, 13, 14, 15, 16] + list(range(11))]),
        (8, 4, 0, [[0, 1, 2, 3], [4, 5, 6, 7]]),
        (9, 4, 1, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 0]]),
    ],
)
def test_context_windows(frames, size, overlap, expected):
    assert context_windows(frames, size, overlap) == expected


def test_bank_paths_are_the_denoising_unet_block_paths_at_full_size():
    configs = ModelConfigs()
    reference = build_reference_unet_from(configs, "meta")
    denoising = build_denoising_unet(configs, "meta")
    reference_paths = {n for n, m in reference.named_modules() if isinstance(m, BasicTransformerBlock)}
    assert reference_paths == set(denoising.reference_blocks()) and len(reference_paths) == 16


@pytest.fixture(scope="module")
def tiny_unets():
    configs = tiny_configs()
    generator = torch.Generator().manual_seed(0)
    reference = randomize_(build_reference_unet_from(configs), generator).eval()
    denoising = randomize_(build_denoising_unet(configs), generator).eval()
    return reference, denoising


@torch.no_grad()
def test_only_the_conditional_half_reads_the_bank(tiny_unets):
    reference, denoising = tiny_unets
    latents = torch.randn(1, 4, 8, 8)
    token = torch.randn(1, 1, 16)
    bank = capture_reference_bank(reference, latents, token)
    assert set(bank) == set(denoising.reference_blocks())
    assert all(t.dtype == torch.float16 and t.shape[0] == 1 for t in bank.values())
    other_bank = capture_reference_bank(reference, torch.randn(1, 4, 8, 8), token)

    sample = torch.randn(1, 4, 3, 8, 8).repeat(2, 1, 1, 1, 1)
    text = torch.cat([torch.zeros_like(token), token])
    with denoising.reference_attention(bank, (False, True)):
        first = denoising(sample, 999, text)
    with denoising.reference_attention(other_bank, (False, True)):
        second = denoising(sample, 999, text)
    plain = denoising(sample, 999, text)
    # Unconditional half: independent of the bank and equal to plain self-attention (up to batching rounding).
    assert torch.equal(first[0], second[0])
    torch.testing.assert_close(first[0], plain[0], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(first[1], second[1], atol=1e-3)  # the conditional half follows the reference
    with denoising.reference_attention(bank, (False, False)):
        torch.testing.assert_close(denoising(sample, 999, text), plain, atol=1e-5, rtol=1e-5)
    assert all(b.reference_tokens is None for b in denoising.reference_blocks().values())


@torch.no_grad()
def test_bank_must_cover_every_block_and_mask_must_fit_the_batch(tiny_unets):
    reference, denoising = tiny_unets
    bank = capture_reference_bank(reference, torch.randn(1, 4, 8, 8), torch.randn(1, 1, 16))
    partial = dict(list(bank.items())[1:])
    with pytest.raises(ValueError, match="lacks 1 transformer blocks"):
        with denoising.reference_attention(partial, (False, True)):
            pass
    with pytest.raises(ValueError, match="reference_batch_mask"):
        with denoising.reference_attention(bank, (True,)):
            denoising(torch.randn(2, 4, 3, 8, 8), 999, torch.randn(2, 1, 16))


def test_all_five_full_size_networks_build():
    """The benchmark's full-size path: every network builds from the embedded configs (on the meta device) with
    the release's parameter counts."""
    import json

    from aniportrait_cli.lmk2video.tiny import BUILDERS
    from tests.conftest import KIT_DIR

    index = json.loads((KIT_DIR / "manifests" / "index.json").read_text())
    modules = {name: build(ModelConfigs(), "meta") for name, build in BUILDERS.items()}

    def floats(module):
        return sum(t.numel() for t in module.state_dict().values() if t.is_floating_point())

    unet = modules["denoising_unet"]
    assert floats(unet) == index["denoising_unet.pth"]["float_elements"] + index["motion_module.pth"]["float_elements"]
    assert floats(modules["reference_unet"]) == index["reference_unet.pth"]["float_elements"]
    assert floats(modules["pose_guider"]) == index["pose_guider.pth"]["float_elements"]
    assert 83e6 < floats(modules["vae"]) < 84e6  # sd-vae-ft-mse: 83.65 M
    assert 303e6 < floats(modules["image_encoder"]) < 305e6  # CLIP ViT-L/14 vision tower + 768-d projection
    with torch.device("meta"):
        embeds = modules["image_encoder"](torch.empty(1, 3, 224, 224)).image_embeds
        latents = modules["vae"].encode(torch.empty(1, 3, 512, 512)).latent_dist.mean
        frames = modules["vae"].decode(torch.empty(2, 4, 64, 64)).sample
    assert embeds.shape == (1, 768) and latents.shape == (1, 4, 64, 64) and frames.shape == (2, 3, 512, 512)

    # Reference bank at 512x512 and one CFG window of 16 frames reading it.
    bank = capture_reference_bank(modules["reference_unet"], latents, embeds[:, None])
    assert len(bank) == 16 and bank["down_blocks.0.attentions.0.transformer_blocks.0"].shape == (1, 4096, 320)
    with torch.device("meta"), unet.reference_attention(bank, (False, True)):
        features = [
            f.unsqueeze(0).transpose(1, 2) for f in modules["pose_guider"].forward_frames(torch.empty(16, 3, 512, 512))
        ]
        prediction = unet(torch.empty(2, 4, 16, 64, 64), torch.tensor(999), torch.empty(2, 1, 768), features)
    assert prediction.shape == (2, 4, 16, 64, 64)


@torch.no_grad()
def test_feed_forward_chunking_is_exact(tiny_unets):
    _, denoising = tiny_unets
    sample, text = torch.randn(2, 4, 3, 8, 8), torch.randn(2, 1, 16)
    whole = denoising(sample, 500, text)
    denoising.set_feed_forward_chunk_size(1)
    try:
        chunked = denoising(sample, 500, text)
    finally:
        denoising.set_feed_forward_chunk_size(None)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)  # GEMM batch-size rounding only
