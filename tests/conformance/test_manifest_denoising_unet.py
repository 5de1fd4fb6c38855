"""denoising_unet.pth + motion_module.pth = the full-size inference UNet (kit manifests)."""

from __future__ import annotations

import json

import pytest
import torch

from aniportrait_cli.lmk2video.configs import ModelConfigs
from aniportrait_cli.lmk2video.loading import WeightsMismatch, build_denoising_unet, merge_denoising_state_dicts
from aniportrait_cli.lmk2video.models.unet_3d import is_motion_module_key
from tests.conformance.conftest import manifest
from tests.conftest import KIT_DIR, require_shared
from tests.lmk2video.manifest_checks import (
    assert_mismatches_are_named,
    assert_same_keys_and_shapes,
    assert_strict_round_trip,
    element_count,
    meta_state_dict,
)


def build():
    return build_denoising_unet(ModelConfigs(), "meta")


@pytest.fixture(scope="module")
def unet():
    return build()


def test_denoising_unet_file_is_the_non_motion_part(unet):
    expected = manifest("denoising_unet.pth")
    state = unet.state_dict()
    actual = {k: list(v.shape) for k, v in state.items() if not is_motion_module_key(k)}
    assert actual == expected and list(actual) == list(expected)


def test_merged_inference_set_is_the_whole_unet(unet):
    assert_same_keys_and_shapes(unet, manifest("denoising_unet_merged_inference"))


def test_counts_match_index():
    index = json.loads(require_shared(KIT_DIR / "manifests" / "index.json").read_text())
    entry = index["denoising_unet.pth"]
    assert len(manifest("denoising_unet.pth")) == entry["num_keys"]
    assert element_count(manifest("denoising_unet.pth")) == entry["float_elements"]
    assert len(manifest("denoising_unet_merged_inference")) == index["_merged_denoising_unet"]["num_keys"]


def test_merge_then_strict_round_trip():
    merged = merge_denoising_state_dicts(
        meta_state_dict(manifest("denoising_unet.pth")), meta_state_dict(manifest("motion_module.pth"))
    )
    assert list(merged) == list(manifest("denoising_unet.pth")) + list(manifest("motion_module.pth"))
    assert set(merged) == set(manifest("denoising_unet_merged_inference"))
    assert_strict_round_trip(
        build, manifest("denoising_unet_merged_inference"), "denoising_unet.pth + motion_module.pth"
    )


def test_missing_extra_or_misshapen_keys_fail_by_name():
    assert_mismatches_are_named(
        build, manifest("denoising_unet_merged_inference"), "denoising_unet.pth + motion_module.pth"
    )


def test_denoising_file_alone_is_missing_every_motion_key():
    with pytest.raises(WeightsMismatch, match=r"588 missing keys \(down_blocks\.0\.motion_modules\.0"):
        assert_strict_round_trip(build, manifest("denoising_unet.pth"), "denoising_unet.pth")


def test_overlapping_files_are_rejected():
    denoising = meta_state_dict(manifest("denoising_unet.pth"))
    motion = meta_state_dict(manifest("motion_module.pth"))
    motion["conv_in.weight"] = denoising["conv_in.weight"]
    with pytest.raises(WeightsMismatch, match="conv_in.weight"):
        merge_denoising_state_dicts(denoising, motion)


def test_full_size_forward_shapes_on_meta(unet):
    """The full-size network wires up: a 16-frame CFG window at 512x512 flows through on the meta device."""
    from aniportrait_cli.lmk2video.models.pose_guider import PoseGuider

    with torch.device("meta"):
        guider = PoseGuider()
        poses = torch.empty(16, 3, 512, 512)
        features = [f.reshape(1, *f.shape).permute(0, 2, 1, 3, 4) for f in guider.forward_frames(poses)]
        out = unet(torch.empty(2, 4, 16, 64, 64), torch.tensor(999), torch.empty(2, 1, 768), features)
    assert out.shape == (2, 4, 16, 64, 64)
