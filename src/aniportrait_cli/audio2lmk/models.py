"""Audio2Mesh and Audio2Pose: a wav2vec2 backbone (transformers) plus the released heads.

Attribute names and registration order reproduce the state dicts of `audio2mesh.pt` / `audio2pose.pt`
(`audio_encoder.*`, `in_fn`, `out_fn`, `pose_map`, `PPE.pe`, `transformer_decoder.*`, `pose_map_r`, `id_embed`).
Long-audio handling and chunking live in `features.py` and `pipeline.py`; these modules only hold weights and
the per-clip maths.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from transformers import Wav2Vec2Config, Wav2Vec2Model

from aniportrait_cli.audio2lmk.configs import POSE_DECODER_HEADS, WAV2VEC2_BASE_960H


def build_wav2vec2(config: dict | None) -> Wav2Vec2Model:
    """A wav2vec2 backbone from a config dict (never from a hub), in eval mode."""
    return Wav2Vec2Model(Wav2Vec2Config(**(config or WAV2VEC2_BASE_960H))).eval()


def last_hidden_state(backbone: Wav2Vec2Model, input_values: torch.Tensor, num_frames: int) -> torch.Tensor:
    """The original's whole-clip pass: conv features resampled to `num_frames` before the projection.

    input_values (B, N) normalised samples -> (B, num_frames, hidden).
    """
    features = backbone.feature_extractor(input_values)  # (B, C, Tc)
    features = F.interpolate(features, size=num_frames, mode="linear", align_corners=True)
    hidden, _ = backbone.feature_projection(features.transpose(1, 2))
    return backbone.encoder(hidden).last_hidden_state


class Audio2MeshModel(ModelMixin, ConfigMixin):
    """wav2vec2 -> in_fn (hidden -> latent) -> out_fn (latent -> 468*3 vertex offsets), no activation between."""

    @register_to_config
    def __init__(self, wav2vec2_config: dict | None = None, latent_dim: int = 512, out_dim: int = 1404):
        super().__init__()
        self.audio_encoder = build_wav2vec2(wav2vec2_config)
        hidden = self.audio_encoder.config.hidden_size
        self.in_fn = nn.Linear(hidden, latent_dim)
        self.out_fn = nn.Linear(latent_dim, out_dim)

    def head(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.out_fn(self.in_fn(hidden_states))

    def forward(self, input_values: torch.Tensor, num_frames: int) -> torch.Tensor:
        """(B, N) normalised samples -> (B, num_frames, out_dim), the original's single pass."""
        return self.head(last_hidden_state(self.audio_encoder, input_values, num_frames))


class SinusoidalPositions(nn.Module):
    """The PPE table (1, max_len, dim): sin on even, cos on odd channels, frequency exp(-2i ln(10000) / dim)."""

    def __init__(self, dim: int, max_len: int):
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        pe = torch.zeros(max_len, dim)
        pe[:, 0::2] = torch.sin(position * frequency)
        pe[:, 1::2] = torch.cos(position * frequency)
        self.register_buffer("pe", pe.unsqueeze(0))


# Batch x latent size from which the decode loop keeps torch's intra-op threads (16 full-size sequences).
THREADED_STEP_WORK = 8192


def alibi_slopes(num_heads: int) -> torch.Tensor:
    """Per-head slopes 2^(-8/n), 2^(-16/n), ... (1/2 ... 1/256 for 8 heads)."""
    start = 2.0 ** (-8.0 / num_heads)
    return torch.tensor([start ** (h + 1) for h in range(num_heads)], dtype=torch.float32)


class Audio2PoseModel(ModelMixin, ConfigMixin):
    """wav2vec2 -> in_fn memory; an autoregressive post-norm transformer decoder emits [rx, ry, rz, tx, ty, tz].

    `num_decoder_heads` is hard-wired (8) in the original; it is an argument so tests could shrink it.
    """

    @register_to_config
    def __init__(
        self,
        wav2vec2_config: dict | None = None,
        latent_dim: int = 512,
        out_dim: int = 6,
        num_decoder_layers: int = 8,
        num_decoder_heads: int = POSE_DECODER_HEADS,
        decoder_ffn_dim: int | None = None,
        num_styles: int = 100,
        max_positions: int = 600,
    ):
        super().__init__()
        self.audio_encoder = build_wav2vec2(wav2vec2_config)
        hidden = self.audio_encoder.config.hidden_size
        self.pose_map = nn.Linear(out_dim, latent_dim)
        self.in_fn = nn.Linear(hidden, latent_dim)
        self.PPE = SinusoidalPositions(latent_dim, max_positions)
        layer = nn.TransformerDecoderLayer(
            d_model=latent_dim,
            nhead=num_decoder_heads,
            dim_feedforward=decoder_ffn_dim or 2 * latent_dim,
            batch_first=True,
        )
        self.transformer_decoder = nn.TransformerDecoder(layer, num_layers=num_decoder_layers)
        self.pose_map_r = nn.Linear(latent_dim, out_dim)
        self.id_embed = nn.Embedding(num_styles, latent_dim)

    def self_attention_bias(self, length: int) -> torch.Tensor:
        """(heads, length, length) additive mask: -slope_h * (q - k) for k <= q, -inf for k > q."""
        distance = torch.arange(length).unsqueeze(1) - torch.arange(length).unsqueeze(0)  # q - k
        bias = -alibi_slopes(self.config.num_decoder_heads).view(-1, 1, 1) * distance.float()
        return bias.masked_fill(distance < 0, float("-inf"))

    @torch.inference_mode()
    def generate(
        self,
        memory: torch.Tensor,
        style_ids: torch.Tensor,
        step_callback: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """The `infer` loop for a batch of independent sequences, with a key/value cache.

        memory (B, T, latent) = in_fn(audio features), style_ids (B,) -> (B, T, out_dim) raw poses. Equal (up to
        float rounding) to re-running the whole decoder on the growing sequence at every step, because both
        masks are causal: self-attention never looks ahead, and output step q only sees audio frame q.

        On CPU, batches of fewer than 16 full-size sequences run the loop on one intra-op thread: a step is then
        ~130 small ops bound by reading the decoder weights from memory; a second thread gained at most 1.2x on
        an idle 2-core machine and made the loop 4-25x slower as soon as another process kept a core busy
        (threads waiting for each other at every op). Bigger batches are compute-bound and keep all threads.
        """
        length = memory.shape[1]
        if length > self.config.max_positions:
            raise ValueError(f"pose sequence of {length} frames exceeds the {self.config.max_positions} positions")
        # The loop runs in the decoder's own dtype (bfloat16 once `precision` converted it), never under autocast,
        # which would re-cast every weight at every step.
        memory = memory.to(self.PPE.pe.dtype)
        with torch.autocast(memory.device.type, enabled=False):
            return self._generate(memory, style_ids, step_callback)

    def _generate(self, memory, style_ids, step_callback):
        # With a single visible key the cross-attention softmax is exactly 1, so each layer's cross-attention
        # output at step q is out_proj(v_proj(memory[q])): batched matmuls over all frames, before the loop.
        cross = [_attended_values(layer.multihead_attn, memory) for layer in self.transformer_decoder.layers]
        if memory.device.type != "cpu" or memory.shape[0] * memory.shape[2] >= THREADED_STEP_WORK:
            return self._decode_loop(memory, cross, style_ids, step_callback)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._decode_loop(memory, cross, style_ids, step_callback)
        finally:
            torch.set_num_threads(threads)

    def _decode_loop(self, memory, cross, style_ids, step_callback):
        batch, length, dim = memory.shape
        heads = self.config.num_decoder_heads
        layers = self.transformer_decoder.layers
        bias = self.self_attention_bias(length).to(memory)
        cache_shape = (len(layers), batch, heads, length, dim // heads)
        keys, values = memory.new_empty(cache_shape), memory.new_empty(cache_shape)
        offset = self.id_embed(style_ids.to(memory.device)).unsqueeze(1)  # (B, 1, D)
        positions = self.PPE.pe[:, :length]
        token = self.pose_map(memory.new_zeros(batch, 1, self.config.out_dim))  # start token
        poses = memory.new_empty(batch, length, self.config.out_dim)
        for step in range(length):
            x = token + positions[:, step : step + 1] + offset
            for index, layer in enumerate(layers):
                attended = _cached_self_attention(
                    layer.self_attn, x, keys[index], values[index], bias[:, step : step + 1, : step + 1], step
                )
                x = layer.norm1(x + attended)
                x = layer.norm2(x + cross[index][:, step : step + 1])
                x = layer.norm3(x + layer.linear2(F.relu(layer.linear1(x))))
            pose = self.pose_map_r(x)
            poses[:, step : step + 1] = pose
            token = self.pose_map(pose)
            if step_callback is not None:
                step_callback(step + 1, length)
        return poses


def _attended_values(attention: nn.MultiheadAttention, memory: torch.Tensor) -> torch.Tensor:
    dim = attention.embed_dim
    value = F.linear(memory, attention.in_proj_weight[2 * dim :], attention.in_proj_bias[2 * dim :])
    return attention.out_proj(value)


def _cached_self_attention(
    attention: nn.MultiheadAttention,
    x: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    bias: torch.Tensor,
    step: int,
) -> torch.Tensor:
    """One new token (B, 1, D) attending to itself and the cached earlier tokens; updates the cache in place."""
    batch, _, dim = x.shape
    heads = attention.num_heads
    int8 = getattr(attention, "step_projections", None)  # int8 copies of both projections (precision.py)
    qkv = int8["qkv"](x) if int8 is not None else F.linear(x, attention.in_proj_weight, attention.in_proj_bias)
    q, k, v = qkv.view(batch, 3, heads, dim // heads).unbind(1)  # (B, H, hd) each
    keys[:, :, step] = k
    values[:, :, step] = v
    out = F.scaled_dot_product_attention(
        q.unsqueeze(2), keys[:, :, : step + 1], values[:, :, : step + 1], attn_mask=bias.unsqueeze(0)
    )
    out_proj = int8["out"] if int8 is not None else attention.out_proj
    return out_proj(out.reshape(batch, 1, dim))
