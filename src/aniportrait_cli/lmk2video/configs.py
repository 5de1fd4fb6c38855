"""Model configurations, embedded so nothing is read from a hub or from the kit at run time.

Full size = the public SD1.5 UNet / sd-vae-ft-mse / CLIP ViT-L/14 vision configs plus the values of the original
`configs/inference/inference_v2.yaml` and the constants the original hard-codes. `TINY` mirrors the kit's case 04
sizes; the tiny release writer and the CPU tests use it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .models.unet_3d import to_3d_block_types

SD15_UNET_CONFIG: dict[str, Any] = {
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}

# unet_additional_kwargs of inference_v2.yaml.
INFERENCE_V2_UNET_KWARGS: dict[str, Any] = {
    "use_inflated_groupnorm": True,
    "unet_use_cross_frame_attention": False,
    "unet_use_temporal_attention": False,
    "use_motion_module": True,
    "motion_module_resolutions": [1, 2, 4, 8],
    "motion_module_mid_block": True,
    "motion_module_decoder_only": False,
    "motion_module_type": "Vanilla",
    "motion_module_kwargs": {
        "num_attention_heads": 8,
        "num_transformer_block": 1,
        "attention_block_types": ["Temporal_Self", "Temporal_Self"],
        "temporal_position_encoding": True,
        "temporal_position_encoding_max_len": 32,
        "temporal_attention_dim_div": 1,
    },
}

SD_VAE_FT_MSE_CONFIG: dict[str, Any] = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 256,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "scaling_factor": 0.18215,
}

# CLIP ViT-L/14 vision tower with the 768-d projection (sd-image-variations `image_encoder`).
CLIP_VISION_CONFIG: dict[str, Any] = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "image_size": 224,
    "patch_size": 14,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-05,
    "num_channels": 3,
    "attention_dropout": 0.0,
    "dropout": 0.0,
}

POSE_GUIDER_CONFIG: dict[str, Any] = {
    "noise_latent_channels": 320,
    "use_ca": True,
    "transformer_num_attention_heads": 16,
    "transformer_attention_head_dim": 88,
    "transformer_norm_num_groups": 32,
}

VAE_SCALING_FACTOR = 0.18215  # the pipeline hard-codes it (not read from the VAE config)


@dataclass
class ModelConfigs:
    """Everything needed to build the five networks. `unet` is the 2D (SD1.5-style) UNet config shared by the
    reference UNet and (with 3D block types and `unet_additional_kwargs`) the denoising UNet."""

    unet: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(SD15_UNET_CONFIG))
    unet_additional_kwargs: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(INFERENCE_V2_UNET_KWARGS))
    motion_module_norm_num_groups: int = 32
    pose_guider: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(POSE_GUIDER_CONFIG))
    vae: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(SD_VAE_FT_MSE_CONFIG))
    image_encoder: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(CLIP_VISION_CONFIG))

    def denoising_unet_kwargs(self) -> dict[str, Any]:
        kwargs = {k: v for k, v in self.unet.items() if not k.startswith("_")}
        kwargs["down_block_types"] = to_3d_block_types(kwargs["down_block_types"])
        kwargs["up_block_types"] = to_3d_block_types(kwargs["up_block_types"])
        kwargs.update(copy.deepcopy(self.unet_additional_kwargs))
        kwargs["motion_module_norm_num_groups"] = self.motion_module_norm_num_groups
        return kwargs

    def reference_unet_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in copy.deepcopy(self.unet).items() if not k.startswith("_")}

    @property
    def max_context_frames(self) -> int:
        return int(self.unet_additional_kwargs["motion_module_kwargs"]["temporal_position_encoding_max_len"])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json_file(cls, path: Path) -> ModelConfigs:
        data = json.loads(Path(path).read_text())
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown entries {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_kit_case_config(cls, config: dict[str, Any]) -> ModelConfigs:
        """Build from the kit's cases/04_lmk2video/config.json (tiny sizes)."""
        return cls(
            unet=copy.deepcopy(config["denoising_unet_base"]),
            unet_additional_kwargs=copy.deepcopy(config["denoising_unet_additional_kwargs"]),
            motion_module_norm_num_groups=config["motion_module_groupnorm_groups"],
            pose_guider=copy.deepcopy(config["pose_guider"]),
            vae=copy.deepcopy(config["vae"]),
            image_encoder=copy.deepcopy(config["image_encoder"]),
        )


def tiny_configs() -> ModelConfigs:
    """The kit's case-04 sizes: UNet channels 8/16/32/32, 2 heads, cross-attention width 16, GroupNorm 4 groups,
    motion modules 2 heads / 4 groups, pose guider C=8 with 2 heads x 4 and 4 groups, tiny VAE and CLIP."""
    unet = copy.deepcopy(SD15_UNET_CONFIG)
    unet.update(
        attention_head_dim=2,
        block_out_channels=[8, 16, 32, 32],
        cross_attention_dim=16,
        norm_num_groups=4,
        sample_size=16,
    )
    extra = copy.deepcopy(INFERENCE_V2_UNET_KWARGS)
    extra["motion_module_kwargs"]["num_attention_heads"] = 2
    vae = copy.deepcopy(SD_VAE_FT_MSE_CONFIG)
    vae.update(block_out_channels=[8, 16, 16, 16], layers_per_block=1, norm_num_groups=4, sample_size=128)
    clip = copy.deepcopy(CLIP_VISION_CONFIG)
    clip.update(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        patch_size=32,
        projection_dim=16,
    )
    return ModelConfigs(
        unet=unet,
        unet_additional_kwargs=extra,
        motion_module_norm_num_groups=4,
        pose_guider={
            "noise_latent_channels": 8,
            "use_ca": True,
            "transformer_num_attention_heads": 2,
            "transformer_attention_head_dim": 4,
            "transformer_norm_num_groups": 4,
        },
        vae=vae,
        image_encoder=clip,
    )
