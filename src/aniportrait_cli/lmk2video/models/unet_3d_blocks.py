"""Down / mid / up blocks of the denoising UNet ("3D" = SD1.5 blocks applied per frame + motion modules).

Everything runs on frame-folded tensors (b*f, c, h, w): the original's inflated convolutions and inflated
GroupNorms act per frame, which is exactly a 2D op on the folded batch, so the diffusers 2D resnet / resampling
layers are reused as they are. Only the motion modules look across frames (they get `num_frames`).
Per layer the order is resnet -> spatial transformer -> motion module.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.models.downsampling import Downsample2D
from diffusers.models.resnet import ResnetBlock2D
from diffusers.models.upsampling import Upsample2D
from torch import nn

from .attention import SpatialTransformer
from .motion_module import VanillaTemporalModule


def _resnet(in_ch: int, out_ch: int, temb_ch: int, eps: float, groups: int, output_scale_factor: float = 1.0):
    return ResnetBlock2D(
        in_channels=in_ch,
        out_channels=out_ch,
        temb_channels=temb_ch,
        eps=eps,
        groups=groups,
        output_scale_factor=output_scale_factor,
    )


def _spatial_transformers(channels, count, num_heads, cross_attention_dim, groups) -> nn.ModuleList | None:
    if num_heads is None:
        return None
    return nn.ModuleList(
        [SpatialTransformer(channels, num_heads, cross_attention_dim, norm_num_groups=groups) for _ in range(count)]
    )


def _motion_modules(channels: int, count: int, kwargs: dict[str, Any] | None) -> nn.ModuleList | None:
    if kwargs is None:
        return None
    return nn.ModuleList([VanillaTemporalModule(channels, **kwargs) for _ in range(count)])


class _Block3D(nn.Module):
    """Shared per-layer step: resnet, optional spatial transformer, optional motion module."""

    def _layer(self, i: int, x, temb, encoder_hidden_states, num_frames):
        x = self.resnets[i](x, temb)
        if self.attentions is not None:
            x = self.attentions[i](x, encoder_hidden_states, num_frames)
        if self.motion_modules is not None:
            x = self.motion_modules[i](x, num_frames)
        return x


class DownBlock3D(_Block3D):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        temb_channels: int,
        num_layers: int,
        resnet_eps: float,
        resnet_groups: int,
        add_downsample: bool,
        downsample_padding: int = 1,
        num_attention_heads: int | None = None,
        cross_attention_dim: int | None = None,
        motion_module_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.attentions = _spatial_transformers(
            out_channels, num_layers, num_attention_heads, cross_attention_dim, resnet_groups
        )
        self.resnets = nn.ModuleList(
            [
                _resnet(in_channels if i == 0 else out_channels, out_channels, temb_channels, resnet_eps, resnet_groups)
                for i in range(num_layers)
            ]
        )
        self.motion_modules = _motion_modules(out_channels, num_layers, motion_module_kwargs)
        self.downsamplers = None
        if add_downsample:
            self.downsamplers = nn.ModuleList(
                [
                    Downsample2D(
                        out_channels, use_conv=True, out_channels=out_channels, padding=downsample_padding, name="op"
                    )
                ]
            )

    def forward(self, x, temb, encoder_hidden_states, num_frames):
        """Returns (output, skip tensors). The output of a downsampling block is its last skip tensor."""
        skips = []
        for i in range(len(self.resnets)):
            x = self._layer(i, x, temb, encoder_hidden_states, num_frames)
            skips.append(x)
        if self.downsamplers is not None:
            for downsampler in self.downsamplers:
                x = downsampler(x)
            skips.append(x)
        return x, skips


class CrossAttnDownBlock3D(DownBlock3D):
    def __init__(self, *args, num_attention_heads: int, cross_attention_dim: int, **kwargs):
        super().__init__(
            *args, num_attention_heads=num_attention_heads, cross_attention_dim=cross_attention_dim, **kwargs
        )


class UpBlock3D(_Block3D):
    def __init__(
        self,
        in_channels: int,
        prev_output_channels: int,
        out_channels: int,
        temb_channels: int,
        num_layers: int,
        resnet_eps: float,
        resnet_groups: int,
        add_upsample: bool,
        num_attention_heads: int | None = None,
        cross_attention_dim: int | None = None,
        motion_module_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__()
        self.attentions = _spatial_transformers(
            out_channels, num_layers, num_attention_heads, cross_attention_dim, resnet_groups
        )
        resnets = []
        for i in range(num_layers):
            skip_channels = in_channels if i == num_layers - 1 else out_channels
            resnet_in = prev_output_channels if i == 0 else out_channels
            resnets.append(_resnet(resnet_in + skip_channels, out_channels, temb_channels, resnet_eps, resnet_groups))
        self.resnets = nn.ModuleList(resnets)
        self.motion_modules = _motion_modules(out_channels, num_layers, motion_module_kwargs)
        self.upsamplers = None
        if add_upsample:
            self.upsamplers = nn.ModuleList([Upsample2D(out_channels, use_conv=True, out_channels=out_channels)])

    def forward(self, x, skips: list[torch.Tensor], temb, encoder_hidden_states, num_frames, upsample_size=None):
        """`skips` are consumed from the end (last skip first)."""
        for i in range(len(self.resnets)):
            x = torch.cat([x, skips.pop()], dim=1)
            x = self._layer(i, x, temb, encoder_hidden_states, num_frames)
        if self.upsamplers is not None:
            for upsampler in self.upsamplers:
                x = upsampler(x, upsample_size)
        return x


class CrossAttnUpBlock3D(UpBlock3D):
    def __init__(self, *args, num_attention_heads: int, cross_attention_dim: int, **kwargs):
        super().__init__(
            *args, num_attention_heads=num_attention_heads, cross_attention_dim=cross_attention_dim, **kwargs
        )


class UNetMidBlock3DCrossAttn(nn.Module):
    """resnet, then (spatial transformer -> motion module -> resnet)."""

    def __init__(
        self,
        in_channels: int,
        temb_channels: int,
        resnet_eps: float,
        resnet_groups: int,
        num_attention_heads: int,
        cross_attention_dim: int,
        output_scale_factor: float = 1.0,
        num_layers: int = 1,
        motion_module_kwargs: dict[str, Any] | None = None,
    ):
        super().__init__()
        c = in_channels
        self.attentions = nn.ModuleList(
            [
                SpatialTransformer(c, num_attention_heads, cross_attention_dim, norm_num_groups=resnet_groups)
                for _ in range(num_layers)
            ]
        )
        self.resnets = nn.ModuleList(
            [
                _resnet(c, c, temb_channels, resnet_eps, resnet_groups, output_scale_factor)
                for _ in range(num_layers + 1)
            ]
        )
        self.motion_modules = _motion_modules(c, num_layers, motion_module_kwargs)

    def forward(self, x, temb, encoder_hidden_states, num_frames):
        x = self.resnets[0](x, temb)
        for i, attention in enumerate(self.attentions):
            x = attention(x, encoder_hidden_states, num_frames)
            if self.motion_modules is not None:
                x = self.motion_modules[i](x, num_frames)
            x = self.resnets[i + 1](x, temb)
        return x


DOWN_BLOCKS = {"CrossAttnDownBlock3D": CrossAttnDownBlock3D, "DownBlock3D": DownBlock3D}
UP_BLOCKS = {"CrossAttnUpBlock3D": CrossAttnUpBlock3D, "UpBlock3D": UpBlock3D}
