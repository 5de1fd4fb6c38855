"""Case 03: the pose guider against the kit's goldens (training-mode and eval-mode BatchNorm)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from aniportrait_cli.lmk2video.models.pose_guider import PoseGuider
from aniportrait_cli.lmk2video.preprocess import pose_images_to_tensor
from tests.conformance.conftest import assert_matches_golden, case_dir

CASE = "03_pose_guider"


@pytest.fixture(scope="module")
def case():
    folder = case_dir(CASE)
    config = json.loads((folder / "config.json").read_text())
    guider = PoseGuider(
        noise_latent_channels=config["noise_latent_channels"],
        use_ca=config["use_ca"],
        transformer_num_attention_heads=config["transformer_num_attention_heads"],
        transformer_attention_head_dim=config["transformer_attention_head_dim"],
    )
    guider.load_state_dict(load_file(folder / "weights.safetensors"), strict=True)
    guider.eval()
    return guider, load_file(folder / "io.safetensors")


def test_pose_cond_is_2u8_minus_1(case):
    _, io = case
    pose_cond = pose_images_to_tensor(io["pose_images_u8"].numpy(), torch.float32)  # (f, 3, H, W)
    actual = pose_cond.permute(1, 0, 2, 3).unsqueeze(0)
    assert_matches_golden(CASE, "pose_cond", actual, io["pose_cond"])


@pytest.mark.parametrize("batch_statistics, prefix", [(True, "fea_"), (False, "fea_eval_")])
def test_feature_pyramid(case, batch_statistics, prefix):
    guider, io = case
    guider.set_batch_statistics(batch_statistics)
    running_before = guider.conv_layers[1].running_mean.clone()
    with torch.no_grad():
        features = guider(io["pose_cond"].contiguous())
    guider.set_batch_statistics(True)
    assert len(features) == 5
    for k, fea in enumerate(features):
        assert_matches_golden(CASE, f"{prefix}{k}", fea, io[f"{prefix}{k}"])
    # Batch statistics must never leak into the stored running statistics.
    assert torch.equal(guider.conv_layers[1].running_mean, running_before)


def test_eval_goldens_hold_the_stricter_tolerance(case):
    """tolerances.json gives fea_eval_* a tighter bound than fea_*; check it explicitly (wildcards overlap)."""
    guider, io = case
    tolerances = json.loads((case_dir(CASE).parents[1] / "tolerances.json").read_text())[CASE]
    atol, rtol = tolerances["fea_eval_*"]
    guider.set_batch_statistics(False)
    with torch.no_grad():
        features = guider(io["pose_cond"].contiguous())
    guider.set_batch_statistics(True)
    for k, fea in enumerate(features):
        torch.testing.assert_close(fea, io[f"fea_eval_{k}"], atol=atol, rtol=rtol)
