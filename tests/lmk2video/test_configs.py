"""The configs embedded in the package equal the public base-model configs recorded in the kit."""

from __future__ import annotations

import json

from aniportrait_cli.lmk2video.configs import (
    CLIP_VISION_CONFIG,
    INFERENCE_V2_UNET_KWARGS,
    SD15_UNET_CONFIG,
    SD_VAE_FT_MSE_CONFIG,
    ModelConfigs,
    tiny_configs,
)
from aniportrait_cli.lmk2video.scheduler import DDIM_CONFIG
from tests.conftest import KIT_DIR, require_shared


def kit_base_configs():
    return json.loads(require_shared(KIT_DIR / "manifests" / "base_model_configs.json").read_text())


def test_full_size_configs_equal_the_kit():
    kit = kit_base_configs()
    assert SD15_UNET_CONFIG == kit["stable-diffusion-v1-5/unet"]
    assert SD_VAE_FT_MSE_CONFIG == kit["sd-vae-ft-mse"]
    assert CLIP_VISION_CONFIG == kit["sd-image-variations image_encoder (CLIPVisionModelWithProjection, ViT-L/14)"]
    runtime = kit["runtime"]["inference_v2.yaml"]
    assert INFERENCE_V2_UNET_KWARGS == runtime["unet_additional_kwargs"]
    assert {k: v for k, v in DDIM_CONFIG.items() if k != "set_alpha_to_one"} == runtime["noise_scheduler_kwargs"]
    assert DDIM_CONFIG["set_alpha_to_one"] is True


def test_3d_block_types_follow_the_original_rewrite():
    rewrite = kit_base_configs()["denoising_unet_3d_rewrite"]
    kwargs = ModelConfigs().denoising_unet_kwargs()
    assert kwargs["down_block_types"] == rewrite["down_block_types"]
    assert kwargs["up_block_types"] == rewrite["up_block_types"]


def test_tiny_configs_equal_kit_case_04():
    config = json.loads(require_shared(KIT_DIR / "cases" / "04_lmk2video" / "config.json").read_text())
    kit = ModelConfigs.from_kit_case_config(config)
    tiny = tiny_configs()
    assert tiny.denoising_unet_kwargs() == kit.denoising_unet_kwargs()
    assert tiny.pose_guider == kit.pose_guider
    assert {k: v for k, v in tiny.vae.items() if k != "scaling_factor"} == kit.vae
    assert {
        k: v for k, v in tiny.image_encoder.items() if k not in ("attention_dropout", "dropout")
    } == kit.image_encoder
