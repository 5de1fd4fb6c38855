"""Spatial transformer of the denoising UNet, with the reference-attention mechanism.

Reference attention: the reference UNet runs once on the reference image latents; every transformer block's
first-LayerNorm output (its self-attention input) is kept in a *bank*. The denoising UNet's block at the same
module path then lets the frames of the conditional CFG half attend to their own tokens concatenated with the
bank tokens; the unconditional half keeps plain self-attention.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from torch import nn


class ReferenceTransformerBlock(nn.Module):
    """SD1.5 transformer block (self-attn, cross-attn to the CLIP token, GEGLU FF) + reference tokens.

    Submodules are registered in the original's order (attn1, norm1, attn2, norm2, ff, norm3) so the state dict
    lists keys exactly like the release.
    """

    def __init__(self, dim: int, num_heads: int, head_dim: int, cross_attention_dim: int):
        super().__init__()
        self.attn1 = Attention(query_dim=dim, heads=num_heads, dim_head=head_dim, bias=False)
        self.norm1 = nn.LayerNorm(dim)
        self.attn2 = Attention(
            query_dim=dim, cross_attention_dim=cross_attention_dim, heads=num_heads, dim_head=head_dim, bias=False
        )
        self.norm2 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, activation_fn="geglu")
        self.norm3 = nn.LayerNorm(dim)
        # Set by UNet3DConditionModel.reference_attention(): bank tokens (1, L_ref, dim) and, per batch element
        # of the UNet input, whether its frames attend to them.
        self.reference_tokens: torch.Tensor | None = None
        self.reference_batch_mask: tuple[bool, ...] = ()
        self.ff_chunk_size: int | None = None  # feed-forward over this many images at a time (low-VRAM mode)

    def _self_attention(self, norm_hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
        if self.reference_tokens is None:
            return self.attn1(norm_hidden_states)
        batch = norm_hidden_states.shape[0] // num_frames
        if len(self.reference_batch_mask) != batch:
            raise ValueError(f"reference_batch_mask has {len(self.reference_batch_mask)} entries, batch is {batch}")
        outputs = []
        for b, use_reference in enumerate(self.reference_batch_mask):
            frames = norm_hidden_states[b * num_frames : (b + 1) * num_frames]
            if use_reference:
                bank = self.reference_tokens.to(frames.dtype).expand(num_frames, -1, -1)
                outputs.append(self.attn1(frames, encoder_hidden_states=torch.cat([frames, bank], dim=1)))
            else:
                outputs.append(self.attn1(frames))
        return torch.cat(outputs) if len(outputs) > 1 else outputs[0]

    def forward(
        self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor, num_frames: int
    ) -> torch.Tensor:
        hidden_states = self._self_attention(self.norm1(hidden_states), num_frames) + hidden_states
        hidden_states = (
            self.attn2(self.norm2(hidden_states), encoder_hidden_states=encoder_hidden_states) + hidden_states
        )
        return feed_forward(self.ff, self.norm3(hidden_states), self.ff_chunk_size) + hidden_states


def feed_forward(ff: nn.Module, x: torch.Tensor, chunk_size: int | None) -> torch.Tensor:
    """ff(x), optionally in chunks along the batch axis: same result, a fraction of the 4x-wide intermediate."""
    if not chunk_size or x.shape[0] <= chunk_size:
        return ff(x)
    return torch.cat([ff(part) for part in x.split(chunk_size)])


class SpatialTransformer(nn.Module):
    """Per-frame spatial transformer (the original's Transformer3DModel): GroupNorm (eps 1e-6), 1x1 conv in,
    transformer blocks over the h*w tokens, 1x1 conv out, + input."""

    def __init__(
        self,
        channels: int,
        num_heads: int,
        cross_attention_dim: int,
        num_layers: int = 1,
        norm_num_groups: int = 32,
    ):
        super().__init__()
        head_dim = channels // num_heads
        self.norm = nn.GroupNorm(norm_num_groups, channels, eps=1e-6, affine=True)
        self.proj_in = nn.Conv2d(channels, channels, kernel_size=1)
        self.transformer_blocks = nn.ModuleList(
            [ReferenceTransformerBlock(channels, num_heads, head_dim, cross_attention_dim) for _ in range(num_layers)]
        )
        self.proj_out = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor, encoder_hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
        """x (b*f, c, h, w); encoder_hidden_states (b*f, S, D) (already repeated per frame)."""
        n, c, h, w = x.shape
        hidden = self.proj_in(self.norm(x))
        hidden = hidden.permute(0, 2, 3, 1).reshape(n, h * w, c)
        for block in self.transformer_blocks:
            hidden = block(hidden, encoder_hidden_states, num_frames)
        hidden = hidden.reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous()
        return self.proj_out(hidden) + x
