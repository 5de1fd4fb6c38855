"""AnimateDiff-style ("Vanilla") motion module: self-attention along the frame axis at every spatial position.

Works on frame-folded tensors (b*f, c, h, w); `num_frames` says how to unfold them. Key names follow the released
`motion_module.pth` (`temporal_transformer.transformer_blocks.0.attention_blocks.{0,1}...`).
"""

from __future__ import annotations

import math

import torch
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from torch import nn

from .attention import feed_forward


class SinusoidalPositionalEncoding(nn.Module):
    """Fixed sin/cos table `pe` (1, max_len, dim), stored in the checkpoint; added to the attention input."""

    def __init__(self, dim: int, max_len: int = 32):
        super().__init__()
        self.register_buffer("pe", torch.zeros(1, max_len, dim))
        self.reset_table()

    def reset_table(self) -> None:
        """(Re)compute the analytic table, e.g. after building on the meta device."""
        dim, max_len = self.pe.shape[2], self.pe.shape[1]
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        table = torch.zeros(1, max_len, dim, device=position.device)
        table[0, :, 0::2] = torch.sin(position * div_term)
        table[0, :, 1::2] = torch.cos(position * div_term)
        with torch.no_grad():
            self.pe.copy_(table.to(self.pe.device, self.pe.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[:, : x.shape[1]]


class TemporalSelfAttention(Attention):
    """Self-attention over the frames of each spatial position, with the sinusoidal position encoding."""

    def __init__(self, dim: int, num_heads: int, max_len: int = 32):
        super().__init__(query_dim=dim, heads=num_heads, dim_head=dim // num_heads, bias=False, out_bias=True)
        self.pos_encoder = SinusoidalPositionalEncoding(dim, max_len=max_len)

    def forward(self, hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:  # type: ignore[override]
        # (b*f, d, c) -> (b*d, f, c): frames become the sequence axis.
        bf, d, c = hidden_states.shape
        b = bf // num_frames
        x = hidden_states.reshape(b, num_frames, d, c).permute(0, 2, 1, 3).reshape(b * d, num_frames, c)
        x = super().forward(self.pos_encoder(x))
        return x.reshape(b, d, num_frames, c).permute(0, 2, 1, 3).reshape(bf, d, c)


class TemporalTransformerBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, num_attention_blocks: int = 2, max_len: int = 32):
        super().__init__()
        self.attention_blocks = nn.ModuleList(
            [TemporalSelfAttention(dim, num_heads, max_len) for _ in range(num_attention_blocks)]
        )
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(num_attention_blocks)])
        self.ff = FeedForward(dim, activation_fn="geglu")
        self.ff_norm = nn.LayerNorm(dim)
        self.ff_chunk_size: int | None = None  # feed-forward over this many images at a time (low-VRAM mode)

    def forward(self, hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
        for attention, norm in zip(self.attention_blocks, self.norms, strict=True):
            hidden_states = attention(norm(hidden_states), num_frames) + hidden_states
        return feed_forward(self.ff, self.ff_norm(hidden_states), self.ff_chunk_size) + hidden_states


class TemporalTransformer3DModel(nn.Module):
    def __init__(
        self,
        channels: int,
        num_heads: int,
        num_layers: int = 1,
        num_attention_blocks: int = 2,
        max_len: int = 32,
        norm_num_groups: int = 32,
    ):
        super().__init__()
        self.norm = nn.GroupNorm(norm_num_groups, channels, eps=1e-6, affine=True)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList(
            [TemporalTransformerBlock(channels, num_heads, num_attention_blocks, max_len) for _ in range(num_layers)]
        )
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        n, c, h, w = x.shape
        hidden = self.norm(x).permute(0, 2, 3, 1).reshape(n, h * w, c)
        hidden = self.proj_in(hidden)
        for block in self.transformer_blocks:
            hidden = block(hidden, num_frames)
        hidden = self.proj_out(hidden)
        return hidden.reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous() + x


class VanillaTemporalModule(nn.Module):
    """`motion_module_kwargs` of inference_v2.yaml: 8 heads (head dim = C/8), 1 block of two temporal
    self-attentions, position encoding length 32. `norm_num_groups` (32 in the original) is an argument so tiny
    models can shrink it."""

    def __init__(
        self,
        in_channels: int,
        num_attention_heads: int = 8,
        num_transformer_block: int = 1,
        attention_block_types: tuple[str, ...] = ("Temporal_Self", "Temporal_Self"),
        temporal_position_encoding: bool = True,
        temporal_position_encoding_max_len: int = 32,
        temporal_attention_dim_div: int = 1,
        norm_num_groups: int = 32,
    ):
        super().__init__()
        if any(kind != "Temporal_Self" for kind in attention_block_types) or not temporal_position_encoding:
            raise ValueError("only Temporal_Self attention blocks with position encoding are supported")
        if temporal_attention_dim_div != 1:
            raise ValueError("temporal_attention_dim_div != 1 is not supported")
        self.max_frames = temporal_position_encoding_max_len
        self.temporal_transformer = TemporalTransformer3DModel(
            in_channels,
            num_attention_heads,
            num_layers=num_transformer_block,
            num_attention_blocks=len(attention_block_types),
            max_len=temporal_position_encoding_max_len,
            norm_num_groups=norm_num_groups,
        )

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        return self.temporal_transformer(x, num_frames)
