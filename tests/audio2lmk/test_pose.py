"""The pose decoder (KV cache vs the literal loop), the original's chunking and its fixed bugs, continuity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aniportrait_cli.audio2lmk import pose_chunks
from aniportrait_cli.audio2lmk.configs import TINY_MESH_CONFIG, TINY_POSE_CONFIG
from aniportrait_cli.audio2lmk.models import Audio2PoseModel, alibi_slopes
from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
from aniportrait_cli.audio2lmk.tiny import randomize_
from aniportrait_cli.errors import InputError


@pytest.fixture(scope="module")
def pipe():
    return Audio2LmkPipeline.from_config(TINY_MESH_CONFIG, TINY_POSE_CONFIG, seed=0)


def _audio(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(round(seconds * 16000))).astype(np.float32)


def literal_infer(model: Audio2PoseModel, memory: torch.Tensor, style: int) -> torch.Tensor:
    """The spec's loop: rerun the whole decoder on the growing sequence, append pose_map(last output)."""
    length = memory.shape[1]
    tokens = model.pose_map(torch.zeros(1, 1, 6))
    offset = model.id_embed(torch.tensor([style])).unsqueeze(1)
    bias = model.self_attention_bias(length)
    out = None
    for i in range(length):
        t = tokens.shape[1]
        x = tokens + model.PPE.pe[:, :t] + offset
        cross_mask = torch.ones(t, length, dtype=torch.bool)
        cross_mask[torch.arange(t), torch.arange(t)] = False
        hidden = model.transformer_decoder(x, memory, tgt_mask=bias[:, :t, :t], memory_mask=cross_mask)
        out = model.pose_map_r(hidden)
        tokens = torch.cat([tokens, model.pose_map(out[:, -1:])], dim=1)
    return out


def test_kv_cache_decoder_equals_the_literal_loop():
    model = randomize_(Audio2PoseModel(**TINY_POSE_CONFIG), seed=5).eval()
    memory = torch.randn(3, 24, TINY_POSE_CONFIG["latent_dim"])
    with torch.inference_mode():
        fast = model.generate(memory, torch.tensor([7, 7, 7]))
        for row in range(3):
            slow = literal_infer(model, memory[row : row + 1], 7)
            torch.testing.assert_close(fast[row : row + 1], slow, atol=2e-5, rtol=1e-4)


def test_alibi_bias():
    torch.testing.assert_close(alibi_slopes(8), torch.tensor([2.0**-k for k in range(1, 9)]))
    model = Audio2PoseModel(**TINY_POSE_CONFIG)
    bias = model.self_attention_bias(4)
    assert bias.shape == (8, 4, 4)
    assert bias[0, 3, 1] == -0.5 * 2 and bias[7, 2, 0] == -2 / 256 and bias[3, 2, 2] == 0
    assert torch.isinf(bias[:, 1, 2]).all()


def test_padded_batches_do_not_change_real_frames():
    model = randomize_(Audio2PoseModel(**TINY_POSE_CONFIG), seed=6).eval()
    memories = [torch.randn(n, TINY_POSE_CONFIG["latent_dim"]) for n in (10, 17, 13)]
    together = pose_chunks.decode(model, memories, 3, batch_size=3)
    alone = [pose_chunks.decode(model, [m], 3)[0] for m in memories]
    for a, b in zip(together, alone):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "num_samples, frames",
    [
        (16000, [30]),  # <= 5 s: the original crashes (nothing to merge into)
        (80000, [150]),
        (80001, [151]),  # 5 s < clip <= 10 s: one merged piece
        (160000, [300]),  # 300 frames = 2 x 150: the original gives the last piece 0 frames
        (159990, [300]),
        (177234, [150, 183]),  # the kit's long clip
        (240000, [150, 300]),
        (400001, [150, 150, 150, 150, 151]),
        (470000, [150, 150, 150, 150, 282]),
    ],
)
def test_compat_pieces(num_samples, frames):
    total = -(-num_samples * 30 // 16000)
    pieces = pose_chunks.compat_pieces(num_samples, total)
    assert [p.num_frames for p in pieces] == frames
    assert pieces[0].start == 0 and pieces[-1].stop == total and pieces[-1].sample_stop == num_samples
    assert all(p.sample_start == i * 80000 and p.start == i * 150 for i, p in enumerate(pieces))


@pytest.mark.parametrize("seconds", [3.0, 10.0, 9.999375])  # <= 5 s, and 300 frames (multiple of 150)
def test_original_crash_cases_run(pipe, seconds):
    samples = _audio(seconds)
    expected = pipe.frame_count(samples.size)
    for compat in (True, False):
        pose = pipe.head_pose(samples, pose_style=1, compat=compat)
        assert pose.shape == (expected, 6) and np.isfinite(pose).all()


def test_pose_style_is_explicit_and_deterministic(pipe):
    samples = _audio(2.0)
    a = pipe.head_pose(samples, pose_style=11)
    b = pipe.head_pose(samples, pose_style=11)
    c = pipe.head_pose(samples, pose_style=12)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3
    for bad in (-1, 100, 1.5, True, "3"):
        with pytest.raises(InputError, match="pose style"):
            pipe.head_pose(samples, pose_style=bad)


def _position_clock(seed: int = 0) -> Audio2PoseModel:
    """A pose model whose output is a smooth function of the decoder position only.

    All decoder sublayers output zero, so the decoder returns LayerNorm(PPE[t]); pose_map_r reads a channel whose
    sinusoid turns slowly (minus a nearly constant one, which cancels LayerNorm's mean). Each restart from
    position 0 therefore shows as a jump, like a real model going back to its start-token pose.
    """
    model = randomize_(Audio2PoseModel(**TINY_POSE_CONFIG), seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith(("transformer_decoder", "pose_map.", "id_embed")):
                param.fill_(1.0 if "norm" in name and name.endswith("weight") else 0.0)
        model.pose_map_r.weight.zero_()
        model.pose_map_r.bias.zero_()
        model.pose_map_r.weight[:, 18] = 10.0  # frequency 10000^(-18/32) = 0.0056 rad per frame
        model.pose_map_r.weight[:, 30] = -10.0
    return model.eval()


def test_default_mode_has_no_jump_at_chunk_boundaries():
    pipe = Audio2LmkPipeline(
        Audio2LmkPipeline.from_config(TINY_MESH_CONFIG, TINY_POSE_CONFIG).mesh_model, _position_clock()
    )
    samples = _audio(20.0)  # 600 frames: compat pieces of 150, 150, 300 frames restart at 150 and 300
    compat = pipe.predict(samples, 0, compat=True, mesh=False).head_pose_raw
    default = pipe.predict(samples, 0, mesh=False).head_pose_raw
    compat_steps = np.abs(np.diff(compat[:, 0]))
    default_steps = np.abs(np.diff(default[:, 0]))
    inside = compat_steps[np.r_[0:148, 151:298, 301:599]].max()
    assert compat_steps[[149, 299]].min() > 5 * inside  # the original's jumps
    assert default_steps.max() < 1.5 * inside  # continuous: no step beyond the model's own frame-to-frame motion
