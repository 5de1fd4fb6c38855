"""Long-audio feature machinery: exact chunked conv features, windows, cross-fades, frame counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from aniportrait_cli.audio2lmk import features
from aniportrait_cli.audio2lmk.configs import TINY_WAV2VEC2
from aniportrait_cli.audio2lmk.models import build_wav2vec2
from aniportrait_cli.audio2lmk.tiny import randomize_
from aniportrait_cli.errors import InputError


def _backbone(**overrides):
    return randomize_(build_wav2vec2({**TINY_WAV2VEC2, **overrides}), seed=3)


def _audio(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return (
        0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)
    ).astype(np.float32)


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_chunked_conv_features_equal_the_whole_clip_pass(norm):
    backbone = _backbone(feat_extract_norm=norm).eval()
    values = torch.from_numpy(features.normalise(_audio(1.3)))
    with torch.inference_mode():
        expected = backbone.feature_extractor(values[None])[0]
        for chunk in (7, 16, 1000):
            actual = features.conv_features(backbone, values, chunk_frames=chunk)
            torch.testing.assert_close(actual, expected, atol=2e-5, rtol=1e-4)


def test_conv_features_report_progress_in_frames():
    backbone = _backbone()
    values = torch.from_numpy(features.normalise(_audio(1.0)))
    steps = []
    with torch.inference_mode():
        out = features.conv_features(backbone, values, chunk_frames=10, progress=steps.append)
    assert sum(steps) == out.shape[1] and len(steps) == -(-out.shape[1] // 10)


def test_frame_count_is_ceil_of_seconds_times_fps():
    assert features.count_frames(17280) == 33
    assert features.count_frames(80000) == 150
    assert features.count_frames(80001) == 151
    assert features.count_frames(16000, fps=25) == 25
    assert features.count_frames(16001, fps=29.97) == 30


def test_normalise_is_whole_clip_zero_mean_unit_variance():
    x = _audio(0.5) * 5 + 1
    y = features.normalise(x)
    expected = (x.astype(np.float64) - x.mean()) / np.sqrt(x.var() + 1e-7)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert y.dtype == np.float32


@pytest.mark.parametrize(
    "samples, message",
    [
        (np.zeros((2, 16000), np.float32), "mono"),
        (np.zeros(399, np.float32), "too short"),
        (np.array([0.0, np.nan] * 400, np.float32), "NaN"),
    ],
)
def test_bad_samples_raise_input_error(samples, message):
    with pytest.raises(InputError, match=message):
        features.check_samples(samples, 400)


@pytest.mark.parametrize("total", [901, 1000, 1681, 2000, 18000])
def test_window_plan_covers_with_equal_windows_and_overlap(total):
    starts = features.plan_windows(total, 900, 120)
    assert starts[0] == 0 and starts[-1] + 900 == total
    assert all(b - a <= 900 - 119 for a, b in itertools.pairwise(starts))  # overlap >= 120 up to rounding
    assert features.plan_windows(900, 900, 120) == [0]


def test_stitch_cross_fades_and_ignores_trimmed_edges():
    starts = [0, 60, 120]
    # Each window is constant k, except its outer 5 frames, which carry a value that must get zero weight.
    pieces = []
    for k, start in enumerate(starts):
        piece = torch.full((100, 2), float(k))
        if k > 0:
            piece[:5] = 1e6
        if k < 2:
            piece[-5:] = 1e6
        pieces.append(piece)
    out = features.stitch(pieces, starts, 220, trim=5)
    assert out.abs().max() < 3
    values = out[:, 0]
    assert torch.all(values[1:] >= values[:-1] - 1e-6)  # monotonic cross-fade 0 -> 1 -> 2
    assert values[0] == 0 and values[-1] == 2
    assert torch.all((values[1:] - values[:-1]) <= 1 / 30 + 1e-6)  # 40-frame overlaps, 30-frame fades


def test_encoder_runs_on_bounded_windows_for_long_clips(monkeypatch):
    monkeypatch.setattr(features, "WHOLE_CLIP_MAX_FRAMES", 60)
    monkeypatch.setattr(features, "WINDOW_FRAMES", 60)
    monkeypatch.setattr(features, "WINDOW_OVERLAP", 20)
    monkeypatch.setattr(features, "WINDOW_TRIM", 4)
    backbone = _backbone().eval()
    seen = []
    original = backbone.encoder.forward
    monkeypatch.setattr(backbone.encoder, "forward", lambda h, **kw: seen.append(h.shape[1]) or original(h, **kw))
    frames = torch.randn(200, TINY_WAV2VEC2["conv_dim"][-1])
    with torch.inference_mode():
        hidden = features.encode(backbone, frames)
        assert hidden.shape == (200, TINY_WAV2VEC2["hidden_size"])
        assert max(seen) == 60 and len(seen) == len(features.plan_windows(200, 60, 20))
        # Away from the overlaps a frame is exactly its window's own output.
        proj, _ = backbone.feature_projection(frames[:60][None])
        first = backbone.encoder(proj).last_hidden_state[0]
    torch.testing.assert_close(hidden[:30], first[:30])


def test_groupnorm_statistics_from_patch_moments_accumulate_exactly_in_chunks():
    values = torch.from_numpy(features.normalise(_audio(0.2)))
    patches = values.unfold(0, 10, 5).double()
    mean, second = features._patch_moments(values, 10, 5, chunk=37)
    torch.testing.assert_close(mean, patches.mean(0))
    torch.testing.assert_close(second, patches.T @ patches / patches.shape[0])
