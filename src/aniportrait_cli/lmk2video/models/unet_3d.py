"""The denoising UNet: SD1.5 UNet run per frame, plus motion modules, pose-feature injection and reference attention.

Input/output layout is (b, c, f, h, w) like the original; inside, frames are folded into the batch.
Key names equal the release (`denoising_unet.pth` + `motion_module.pth` = this module's state dict).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .attention import ReferenceTransformerBlock
from .layout import fold_frames, unfold_frames
from .unet_3d_blocks import DOWN_BLOCKS, UP_BLOCKS, UNetMidBlock3DCrossAttn

MOTION_MODULE_KEY = "motion_module"  # the release's motion_module.pth holds exactly the keys containing this


def is_motion_module_key(key: str) -> bool:
    return MOTION_MODULE_KEY in key


def to_3d_block_types(types: Sequence[str]) -> list[str]:
    """SD1.5 2D block names -> their 3D counterparts (the original rewrites the config the same way)."""
    return [t.replace("2D", "3D") for t in types]


class UNet3DConditionModel(ModelMixin, ConfigMixin):
    """Arguments are the SD1.5 UNet config (with 3D block types) plus inference_v2.yaml's `unet_additional_kwargs`.

    `attention_head_dim` follows the SD1.5/diffusers convention: it is the number of heads (head width =
    channels / heads). `motion_module_norm_num_groups` is hard-wired to 32 in the original.
    """

    @register_to_config
    def __init__(
        self,
        sample_size: int | None = None,
        in_channels: int = 4,
        out_channels: int = 4,
        center_input_sample: bool = False,
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        down_block_types: tuple[str, ...] = (
            "CrossAttnDownBlock3D",
            "CrossAttnDownBlock3D",
            "CrossAttnDownBlock3D",
            "DownBlock3D",
        ),
        mid_block_type: str = "UNetMidBlock3DCrossAttn",
        up_block_types: tuple[str, ...] = (
            "UpBlock3D",
            "CrossAttnUpBlock3D",
            "CrossAttnUpBlock3D",
            "CrossAttnUpBlock3D",
        ),
        block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
        layers_per_block: int = 2,
        downsample_padding: int = 1,
        mid_block_scale_factor: float = 1,
        act_fn: str = "silu",
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        cross_attention_dim: int = 768,
        attention_head_dim: int | tuple[int, ...] = 8,
        use_inflated_groupnorm: bool = True,
        unet_use_cross_frame_attention: bool = False,
        unet_use_temporal_attention: bool = False,
        use_motion_module: bool = True,
        motion_module_resolutions: tuple[int, ...] = (1, 2, 4, 8),
        motion_module_mid_block: bool = True,
        motion_module_decoder_only: bool = False,
        motion_module_type: str = "Vanilla",
        motion_module_kwargs: dict[str, Any] | None = None,
        motion_module_norm_num_groups: int = 32,
    ):
        super().__init__()
        if center_input_sample or act_fn != "silu" or mid_block_type != "UNetMidBlock3DCrossAttn":
            raise ValueError("only the SD1.5 UNet layout is supported")
        if unet_use_cross_frame_attention or unet_use_temporal_attention or not use_inflated_groupnorm:
            raise ValueError("only inference_v2 settings are supported (no cross-frame/temporal UNet attention)")
        if use_motion_module and motion_module_type != "Vanilla":
            raise ValueError(f"unsupported motion_module_type {motion_module_type!r}")
        heads = (
            [attention_head_dim] * len(down_block_types)
            if isinstance(attention_head_dim, int)
            else list(attention_head_dim)
        )
        mm_kwargs = dict(motion_module_kwargs or {})
        mm_kwargs["norm_num_groups"] = motion_module_norm_num_groups

        def motion(res: int, decoder: bool) -> dict[str, Any] | None:
            wanted = (
                use_motion_module and res in motion_module_resolutions and (decoder or not motion_module_decoder_only)
            )
            return mm_kwargs if wanted else None

        time_embed_dim = block_out_channels[0] * 4
        self.conv_in = nn.Conv2d(in_channels, block_out_channels[0], kernel_size=3, padding=1)
        self.time_proj = Timesteps(block_out_channels[0], flip_sin_to_cos, freq_shift)
        self.time_embedding = TimestepEmbedding(block_out_channels[0], time_embed_dim)

        self.down_blocks = nn.ModuleList([])
        self.up_blocks = nn.ModuleList([])  # registered before mid_block: the release lists up_blocks first

        output_channel = block_out_channels[0]
        for i, block_type in enumerate(down_block_types):
            input_channel, output_channel = output_channel, block_out_channels[i]
            kwargs: dict[str, Any] = dict(
                in_channels=input_channel,
                out_channels=output_channel,
                temb_channels=time_embed_dim,
                num_layers=layers_per_block,
                resnet_eps=norm_eps,
                resnet_groups=norm_num_groups,
                add_downsample=i < len(block_out_channels) - 1,
                downsample_padding=downsample_padding,
                motion_module_kwargs=motion(2**i, decoder=False),
            )
            if block_type.startswith("CrossAttn"):
                kwargs.update(num_attention_heads=heads[i], cross_attention_dim=cross_attention_dim)
            self.down_blocks.append(DOWN_BLOCKS[block_type](**kwargs))

        self.mid_block = UNetMidBlock3DCrossAttn(
            in_channels=block_out_channels[-1],
            temb_channels=time_embed_dim,
            resnet_eps=norm_eps,
            resnet_groups=norm_num_groups,
            num_attention_heads=heads[-1],
            cross_attention_dim=cross_attention_dim,
            output_scale_factor=mid_block_scale_factor,
            motion_module_kwargs=mm_kwargs if use_motion_module and motion_module_mid_block else None,
        )

        reversed_channels = list(reversed(block_out_channels))
        reversed_heads = list(reversed(heads))
        output_channel = reversed_channels[0]
        for i, block_type in enumerate(up_block_types):
            prev_output_channel, output_channel = output_channel, reversed_channels[i]
            input_channel = reversed_channels[min(i + 1, len(block_out_channels) - 1)]
            kwargs = dict(
                in_channels=input_channel,
                prev_output_channels=prev_output_channel,
                out_channels=output_channel,
                temb_channels=time_embed_dim,
                num_layers=layers_per_block + 1,
                resnet_eps=norm_eps,
                resnet_groups=norm_num_groups,
                add_upsample=i < len(block_out_channels) - 1,
                motion_module_kwargs=motion(2 ** (len(block_out_channels) - 1 - i), decoder=True),
            )
            if block_type.startswith("CrossAttn"):
                kwargs.update(num_attention_heads=reversed_heads[i], cross_attention_dim=cross_attention_dim)
            self.up_blocks.append(UP_BLOCKS[block_type](**kwargs))

        self.conv_norm_out = nn.GroupNorm(norm_num_groups, block_out_channels[0], eps=norm_eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(block_out_channels[0], out_channels, kernel_size=3, padding=1)

    def set_feed_forward_chunk_size(self, images: int | None) -> None:
        """Run every feed-forward over `images` frames at a time (None: all at once). Exact; saves memory."""
        for module in self.modules():
            if hasattr(module, "ff_chunk_size"):
                module.ff_chunk_size = images

    # --- reference attention -------------------------------------------------------------------------------

    def reference_blocks(self) -> dict[str, ReferenceTransformerBlock]:
        """Transformer blocks by module path (the same paths as in the reference UNet)."""
        return {name: m for name, m in self.named_modules() if isinstance(m, ReferenceTransformerBlock)}

    @contextmanager
    def reference_attention(self, bank: Mapping[str, torch.Tensor], batch_mask: Sequence[bool]) -> Iterator[None]:
        """Within the block, batch elements with `batch_mask[b]` True attend to the bank tokens of their block."""
        blocks = self.reference_blocks()
        missing = sorted(set(blocks) - set(bank))
        if missing:
            raise ValueError(f"reference bank lacks {len(missing)} transformer blocks, e.g. {missing[:3]}")
        for path, block in blocks.items():
            block.reference_tokens = bank[path]
            block.reference_batch_mask = tuple(bool(m) for m in batch_mask)
        try:
            yield
        finally:
            for block in blocks.values():
                block.reference_tokens = None
                block.reference_batch_mask = ()

    # --- forward -------------------------------------------------------------------------------------------

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | int,
        encoder_hidden_states: torch.Tensor,
        pose_cond_fea: Sequence[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """sample (b, c, f, h, w); encoder_hidden_states (b, S, D); pose_cond_fea: 5 tensors (b or 1, C_k, f,
        h_k, w_k) added after conv_in and after each down block (broadcast over b when their batch is 1).
        Returns the prediction (b, c_out, f, h, w)."""
        b, _, f, h, w = sample.shape
        dtype = self.conv_in.weight.dtype
        num_upsamplers = len(self.up_blocks) - 1
        forward_upsample_size = any(s % 2**num_upsamplers != 0 for s in (h, w))

        t = torch.as_tensor(timestep, device=sample.device)
        t = (t[None] if t.ndim == 0 else t).expand(b)
        emb = self.time_embedding(self.time_proj(t).to(dtype=dtype))
        emb = emb.repeat_interleave(f, dim=0)
        context = encoder_hidden_states.repeat_interleave(f, dim=0)

        x = self.conv_in(fold_frames(sample))
        if pose_cond_fea is not None:
            x = _add_pose_features(x, pose_cond_fea[0], b)
        skips = [x]
        for i, block in enumerate(self.down_blocks):
            x, block_skips = block(x, emb, context, f)
            skips.extend(block_skips)
            if pose_cond_fea is not None:
                # Added on the path to the next block only: the stored skips stay without it.
                x = _add_pose_features(x, pose_cond_fea[i + 1], b)

        x = self.mid_block(x, emb, context, f)

        for i, block in enumerate(self.up_blocks):
            n = len(block.resnets)
            block_skips, skips = skips[-n:], skips[:-n]
            upsample_size = skips[-1].shape[2:] if forward_upsample_size and i < len(self.up_blocks) - 1 else None
            x = block(x, block_skips, emb, context, f, upsample_size)

        x = self.conv_out(self.conv_act(self.conv_norm_out(x)))
        return unfold_frames(x, b)


def _add_pose_features(x: torch.Tensor, fea: torch.Tensor, batch: int) -> torch.Tensor:
    """x (b*f, C, h, w) + fea (b or 1, C, f, h, w), broadcasting fea over the CFG batch."""
    n, c, h, w = x.shape
    fea = fea.permute(0, 2, 1, 3, 4)  # (b', f, C, h, w)
    if fea.shape[1:] != (n // batch, c, h, w):
        raise ValueError(f"pose feature shape {tuple(fea.shape)} does not fit the UNet activation {tuple(x.shape)}")
    return (x.reshape(batch, n // batch, c, h, w) + fea.to(x.dtype)).reshape(n, c, h, w)
