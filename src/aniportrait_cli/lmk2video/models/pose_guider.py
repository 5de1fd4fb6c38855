"""Pose guider: turns landmark drawings into a 5-level feature pyramid added to the denoising UNet.

Layout and key names follow the released `pose_guider.pth`. Despite their names the `cross_attn*` blocks are
spatial self-attention transformers (no cross-attention).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import FeedForward
from diffusers.models.attention_processor import Attention
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .layout import fold_frames, unfold_frames

# Channel widths of the fixed input conv stack (hard-wired in the original).
CONV_STACK_CHANNELS = (3, 16, 32, 64, 128)


class BatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose statistics source is chosen explicitly instead of by train()/eval().

    The original runs the pose guider in training mode, so every call normalises with the batch statistics of
    that call. Doing it here with `use_batch_statistics` keeps the rest of the model in eval mode and never
    updates the running statistics (which training mode would do as a side effect).
    """

    use_batch_statistics: bool = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_batch_statistics:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


def _conv_bn_relu(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=1), BatchNorm2d(out_ch), nn.ReLU()]


class PoseTransformerBlock(nn.Module):
    """LayerNorm -> self-attention -> residual -> LayerNorm -> GEGLU feed-forward -> residual (no norm2/attn2)."""

    def __init__(self, dim: int, num_heads: int, head_dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(query_dim=dim, heads=num_heads, dim_head=head_dim, bias=False, out_bias=True)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, activation_fn="geglu")

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.attn1(self.norm1(hidden_states)) + hidden_states
        return self.ff(self.norm3(hidden_states)) + hidden_states


class PoseAttentionBlock(nn.Module):
    """GroupNorm -> 1x1 conv in -> one transformer block over the h*w tokens -> 1x1 conv out -> + input."""

    def __init__(self, channels: int, num_heads: int, head_dim: int, norm_num_groups: int):
        super().__init__()
        inner_dim = num_heads * head_dim
        self.norm = nn.GroupNorm(norm_num_groups, channels, eps=1e-6, affine=True)
        self.proj_in = nn.Conv2d(channels, inner_dim, kernel_size=1)
        self.transformer_blocks = nn.ModuleList([PoseTransformerBlock(inner_dim, num_heads, head_dim)])
        self.proj_out = nn.Conv2d(inner_dim, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        hidden = self.proj_in(self.norm(x))
        inner = hidden.shape[1]
        hidden = hidden.permute(0, 2, 3, 1).reshape(n, h * w, inner)
        for block in self.transformer_blocks:
            hidden = block(hidden)
        hidden = hidden.reshape(n, h, w, inner).permute(0, 3, 1, 2).contiguous()
        return self.proj_out(hidden) + x


class PoseGuider(ModelMixin, ConfigMixin):
    """Multi-scale pose encoder (strides 8, 16, 32, 64, 64 with C, C, 2C, 4C, 4C channels).

    `transformer_num_attention_heads`, `transformer_attention_head_dim` and `transformer_norm_num_groups` are
    hard-wired in the original (16, 88, 32); they are arguments here so tiny test models can shrink them.
    """

    @register_to_config
    def __init__(
        self,
        noise_latent_channels: int = 320,
        use_ca: bool = True,
        transformer_num_attention_heads: int = 16,
        transformer_attention_head_dim: int = 88,
        transformer_norm_num_groups: int = 32,
    ):
        super().__init__()
        c = noise_latent_channels
        c3, c16, c32, c64, c128 = CONV_STACK_CHANNELS
        self.scale = nn.Parameter(torch.ones(1))
        self.conv_layers = nn.Sequential(
            *_conv_bn_relu(c3, c3, 3),
            *_conv_bn_relu(c3, c16, 4, stride=2),
            *_conv_bn_relu(c16, c16, 3),
            *_conv_bn_relu(c16, c32, 4, stride=2),
            *_conv_bn_relu(c32, c32, 3),
            *_conv_bn_relu(c32, c64, 4, stride=2),
            *_conv_bn_relu(c64, c64, 3),
            *_conv_bn_relu(c64, c128, 3),
        )
        self.final_proj = nn.Conv2d(c128, c, kernel_size=1)
        self.conv_layers_1 = nn.Sequential(*_conv_bn_relu(c, c, 3), *_conv_bn_relu(c, c, 3, stride=2))
        self.conv_layers_2 = nn.Sequential(*_conv_bn_relu(c, c, 3), *_conv_bn_relu(c, 2 * c, 3, stride=2))
        self.conv_layers_3 = nn.Sequential(*_conv_bn_relu(2 * c, 2 * c, 3), *_conv_bn_relu(2 * c, 4 * c, 3, stride=2))
        self.conv_layers_4 = nn.Sequential(*_conv_bn_relu(4 * c, 4 * c, 3))
        if use_ca:
            heads, head_dim = transformer_num_attention_heads, transformer_attention_head_dim
            groups = transformer_norm_num_groups
            self.cross_attn1 = PoseAttentionBlock(c, heads, head_dim, groups)
            self.cross_attn2 = PoseAttentionBlock(2 * c, heads, head_dim, groups)
            self.cross_attn3 = PoseAttentionBlock(4 * c, heads, head_dim, groups)
            self.cross_attn4 = PoseAttentionBlock(4 * c, heads, head_dim, groups)

    def set_batch_statistics(self, enabled: bool) -> None:
        """True (the original's behaviour): BatchNorm uses each call's batch statistics; False: running stats."""
        for module in self.modules():
            if isinstance(module, BatchNorm2d):
                module.use_batch_statistics = enabled

    def forward_frames(self, pose_images: torch.Tensor) -> list[torch.Tensor]:
        """(n, 3, H, W) pose tensors -> 5 feature maps (n, C_k, H/s_k, W/s_k); BN statistics span all n images."""
        fea = self.scale * self.final_proj(self.conv_layers(pose_images))
        features = [fea]
        stages = [self.conv_layers_1, self.conv_layers_2, self.conv_layers_3, self.conv_layers_4]
        for k, convs in enumerate(stages, start=1):
            fea = convs(fea)
            if self.config.use_ca:
                fea = getattr(self, f"cross_attn{k}")(fea)
            features.append(fea)
        return features

    def forward(self, pose_cond: torch.Tensor) -> list[torch.Tensor]:
        """(b, 3, f, H, W) -> 5 tensors (b, C_k, f, h_k, w_k), the layout the denoising UNet takes."""
        return [unfold_frames(fea, pose_cond.shape[0]) for fea in self.forward_frames(fold_frames(pose_cond))]
