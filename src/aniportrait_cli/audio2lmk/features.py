"""wav2vec2 features for clips of any length, with working memory bounded by a window, not by the clip.

What the original does (and what this reproduces for clips up to `WHOLE_CLIP_MAX_FRAMES`):
normalise the whole clip, run the conv feature extractor, resample its time axis linearly (align_corners) to the
video frame count, then feature projection + transformer encoder over the whole clip at once.

How long clips stay bounded:
* Conv features are computed exactly, in chunks of `CNN_CHUNK_FRAMES` output frames with the receptive-field
  overlap. The only clip-wide step, layer 0's GroupNorm (per channel over all time), gets exact statistics from
  the 10x10 second-moment matrix of the input patches (the conv is linear), and is folded into that conv.
* The transformer attends over the whole sequence (O(T^2)); past `WHOLE_CLIP_MAX_FRAMES` (30 s at 30 fps) it runs
  on overlapping windows of `WINDOW_FRAMES`, and the overlaps are cross-faded (`stitch`).
Arrays that grow with the clip are only the per-frame results (~0.1 MB per second of features).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from transformers import Wav2Vec2Model

from aniportrait_cli.errors import InputError

SAMPLE_RATE = 16000
MODEL_FPS = 30
NORMALISE_EPS = 1e-7

# Conv features per chunk: 100 frames = 2 s of audio; keeps the 512-channel intermediates cache-sized.
CNN_CHUNK_FRAMES = 100
# Exact whole-clip transformer up to 30 s; longer clips use windows of the same size.
WHOLE_CLIP_MAX_FRAMES = 900
WINDOW_FRAMES = 900
# Consecutive windows share at least 4 s: 1 s at each side is dropped (edge effects of the +-2 s positional
# conv), the middle 2 s are cross-faded linearly.
WINDOW_OVERLAP = 120
WINDOW_TRIM = 30

Progress = Callable[[int], None]


def count_frames(num_samples: int, fps: float = MODEL_FPS) -> int:
    """Video frames covering the audio: ceil(seconds * fps), exact in integers for integer fps."""
    if float(fps).is_integer():
        return max(1, -(-num_samples * int(fps) // SAMPLE_RATE))
    return max(1, math.ceil(num_samples * fps / SAMPLE_RATE - 1e-9))


def check_samples(samples: np.ndarray, min_samples: int) -> np.ndarray:
    """Mono float32 samples, or InputError saying what is wrong."""
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise InputError(f"audio must be mono 1-D samples at 16 kHz, got an array of shape {samples.shape}")
    if not np.issubdtype(samples.dtype, np.floating) and not np.issubdtype(samples.dtype, np.integer):
        raise InputError(f"audio samples must be numbers, got dtype {samples.dtype}")
    if samples.size < min_samples:
        raise InputError(
            f"audio is too short: {samples.size} samples ({samples.size / SAMPLE_RATE * 1000:.0f} ms); "
            f"the audio models need at least {min_samples} samples ({min_samples / SAMPLE_RATE * 1000:.0f} ms) at 16 kHz"
        )
    samples = samples.astype(np.float32, copy=False)
    if not np.isfinite(samples).all():
        raise InputError("audio contains NaN or infinite samples; re-export the file")
    return samples


def normalise(samples: np.ndarray) -> np.ndarray:
    """Whole-clip zero mean / unit variance as wav2vec2's feature extractor: (x - mean) / sqrt(var + 1e-7)."""
    samples = np.asarray(samples, dtype=np.float32)
    return (samples - samples.mean()) / np.sqrt(samples.var() + NORMALISE_EPS)


# ---------------------------------------------------------------------------------------------------------------
# Conv feature extractor


def receptive_field(backbone: Wav2Vec2Model) -> tuple[int, int]:
    """(receptive field, hop) of the conv stack in samples: 400 and 320 for wav2vec2."""
    field, hop = 1, 1
    for layer in backbone.feature_extractor.conv_layers:
        field += (layer.conv.kernel_size[0] - 1) * hop
        hop *= layer.conv.stride[0]
    return field, hop


def min_samples(backbone: Wav2Vec2Model) -> int:
    return receptive_field(backbone)[0]


def conv_features(
    backbone: Wav2Vec2Model,
    input_values: torch.Tensor,
    chunk_frames: int | None = None,
    progress: Progress | None = None,
) -> torch.Tensor:
    """(N,) normalised samples -> (C, Tc) conv features, equal to `backbone.feature_extractor` on the whole clip."""
    chunk_frames = chunk_frames or CNN_CHUNK_FRAMES
    layers = backbone.feature_extractor.conv_layers
    field, hop = receptive_field(backbone)
    total = (input_values.shape[0] - field) // hop + 1
    if total < 1:
        raise InputError(f"audio is too short: {input_values.shape[0]} samples, need at least {field}")
    first = _fold_group_norm(layers[0], input_values) if backbone.config.feat_extract_norm == "group" else None
    out = None
    for start in range(0, total, chunk_frames):
        stop = min(total, start + chunk_frames)
        segment = input_values[start * hop : (stop - 1) * hop + field].unsqueeze(0).unsqueeze(0)
        if first is not None:
            weight, bias = first
            hidden = layers[0].activation(F.conv1d(segment, weight, bias, stride=layers[0].conv.stride))
            rest = layers[1:]
        else:
            hidden, rest = segment, layers
        for layer in rest:
            hidden = layer(hidden)
        if out is None:
            out = hidden.new_empty(hidden.shape[1], total)
        out[:, start:stop] = hidden[0]
        if progress is not None:
            progress(stop - start)
    return out


def _fold_group_norm(layer: torch.nn.Module, input_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer 0 conv + its clip-wide GroupNorm as a single conv (weight, bias).

    Each channel y_c = w_c . p (+ b_c) is linear in the input patches p, so its mean and variance over the whole
    clip follow exactly from the patches' mean vector and second-moment matrix (float64, on the CPU).
    """
    conv, norm = layer.conv, layer.layer_norm
    patch_mean, second_moment = _patch_moments(input_values.cpu(), conv.kernel_size[0], conv.stride[0])
    weight = conv.weight[:, 0, :].detach().cpu().double()
    bias = conv.bias.detach().cpu().double() if conv.bias is not None else torch.zeros_like(weight[:, 0])
    mean = weight @ patch_mean + bias
    variance = ((weight @ second_moment) * weight).sum(1) + 2 * bias * (weight @ patch_mean) + bias**2 - mean**2
    scale = norm.weight.detach().cpu().double() / torch.sqrt(variance.clamp_min(0) + norm.eps)
    folded_weight = (weight * scale.unsqueeze(1)).unsqueeze(1)
    folded_bias = (bias - mean) * scale + norm.bias.detach().cpu().double()
    return folded_weight.to(conv.weight), folded_bias.to(conv.weight)


def _patch_moments(values: torch.Tensor, kernel: int, stride: int, chunk: int = 1 << 18):
    """Mean (k,) and second moment (k, k) of the conv input patches, accumulated in float64 chunk by chunk."""
    count = (values.shape[0] - kernel) // stride + 1
    total = torch.zeros(kernel, dtype=torch.float64)
    outer = torch.zeros(kernel, kernel, dtype=torch.float64)
    for start in range(0, count, chunk):
        stop = min(count, start + chunk)
        patches = values[start * stride : (stop - 1) * stride + kernel].unfold(0, kernel, stride).double()
        total += patches.sum(0)
        outer += patches.T @ patches
    return total / count, outer / count


def resample_frames(features: torch.Tensor, num_frames: int) -> torch.Tensor:
    """(C, Tc) -> (num_frames, C): linear, align_corners=True, as the original."""
    resampled = F.interpolate(features.unsqueeze(0), size=num_frames, mode="linear", align_corners=True)
    return resampled[0].T


# ---------------------------------------------------------------------------------------------------------------
# Transformer encoder, whole clip or windows


def encoder_windows(total: int) -> tuple[list[int], int]:
    """(start frames, window length) the transformer runs on for a clip of `total` frames."""
    if total <= WHOLE_CLIP_MAX_FRAMES:
        return [0], total
    return plan_windows(total, WINDOW_FRAMES, WINDOW_OVERLAP), WINDOW_FRAMES


def encode(backbone: Wav2Vec2Model, frames: torch.Tensor, progress: Progress | None = None) -> torch.Tensor:
    """(T, C) resampled conv features -> (T, hidden) last hidden state (windowed past WHOLE_CLIP_MAX_FRAMES)."""
    total = frames.shape[0]
    starts, length = encoder_windows(total)
    blend = CrossFade(starts, [length] * len(starts), total, trim=WINDOW_TRIM)
    for k, start in enumerate(starts):
        hidden, _ = backbone.feature_projection(frames[start : start + length].unsqueeze(0))
        hidden = backbone.encoder(hidden).last_hidden_state[0]
        if progress is not None:
            progress(length)
        if len(starts) == 1:
            return hidden
        blend.add(k, hidden)
    return blend.result()


def plan_windows(total: int, length: int, min_overlap: int) -> list[int]:
    """Start frames of equal-length windows covering [0, total), consecutive ones overlapping >= min_overlap."""
    if total <= length:
        return [0]
    if not 0 <= min_overlap < length:
        raise ValueError(f"overlap {min_overlap} must be in [0, {length})")
    count = -(-(total - length) // (length - min_overlap)) + 1
    return [math.floor(k * (total - length) / (count - 1) + 0.5) for k in range(count)]


class CrossFade:
    """Overlap-add of per-window results (L_k, ...) placed at `starts`, cross-faded linearly in the overlaps.

    In each overlap the first/last `trim` frames (near a window edge) get no weight; across the rest the weight
    moves linearly from the earlier window to the later one. Weights are normalised, so they always sum to 1.
    Windows are added one at a time, so only the output buffer stays in memory.
    """

    def __init__(self, starts: Sequence[int], lengths: Sequence[int], total: int, trim: int = 0):
        self.starts, self.lengths, self.total, self.trim = list(starts), list(lengths), total, trim
        self.ends = [s + n for s, n in zip(self.starts, self.lengths)]
        self.out: torch.Tensor | None = None
        self.weight_sum: torch.Tensor | None = None

    def weights(self, k: int) -> torch.Tensor:
        length = self.lengths[k]
        weights = torch.ones(length, dtype=torch.float64)
        if k > 0 and self.ends[k - 1] > self.starts[k]:
            weights *= _ramp(self.ends[k - 1] - self.starts[k], length, self.trim, rising=True)
        if k + 1 < len(self.starts) and self.ends[k] > self.starts[k + 1]:
            weights *= _ramp(self.ends[k] - self.starts[k + 1], length, self.trim, rising=False)
        return weights

    def add(self, k: int, piece: torch.Tensor) -> None:
        if self.out is None:
            self.out = piece.new_zeros((self.total,) + tuple(piece.shape[1:]))
            self.weight_sum = piece.new_zeros(self.total)
        weights = self.weights(k).to(piece)
        start, end = self.starts[k], self.ends[k]
        self.out[start:end] += piece * weights.view((-1,) + (1,) * (piece.dim() - 1))
        self.weight_sum[start:end] += weights

    def result(self) -> torch.Tensor:
        return self.out.div_(self.weight_sum.view((-1,) + (1,) * (self.out.dim() - 1)))


def stitch(pieces: Sequence[torch.Tensor], starts: Sequence[int], total: int, trim: int = 0) -> torch.Tensor:
    """`CrossFade` of a list of pieces."""
    blend = CrossFade(starts, [p.shape[0] for p in pieces], total, trim)
    for k, piece in enumerate(pieces):
        blend.add(k, piece)
    return blend.result()


def _ramp(overlap: int, length: int, trim: int, rising: bool) -> torch.Tensor:
    """Weights over a window of `length` frames for an overlap of `overlap` frames at its start (rising) or end."""
    trim = min(trim, (overlap - 1) // 2)
    middle = overlap - 2 * trim
    ramp = torch.ones(length, dtype=torch.float64)
    fade = torch.arange(1, middle + 1, dtype=torch.float64) / (middle + 1)
    head = torch.cat([torch.zeros(trim, dtype=torch.float64), fade])
    ramp[: head.shape[0]] = head
    return ramp if rising else ramp.flip(0)
