"""motion_module.pth: exactly the motion-module keys of the full-size inference UNet (kit manifest)."""

from __future__ import annotations

import json

import pytest

from aniportrait_cli.lmk2video.configs import ModelConfigs
from aniportrait_cli.lmk2video.loading import WeightsMismatch, build_denoising_unet, merge_denoising_state_dicts
from aniportrait_cli.lmk2video.models.unet_3d import is_motion_module_key
from tests.conformance.conftest import manifest
from tests.conftest import KIT_DIR, require_shared
from tests.lmk2video.manifest_checks import element_count, meta_state_dict


@pytest.fixture(scope="module")
def unet():
    return build_denoising_unet(ModelConfigs(), "meta")


def test_motion_keys_and_shapes(unet):
    expected = manifest("motion_module.pth")
    actual = {k: list(v.shape) for k, v in unet.state_dict().items() if is_motion_module_key(k)}
    assert actual == expected and list(actual) == list(expected)


def test_counts_match_index():
    entry = json.loads(require_shared(KIT_DIR / "manifests" / "index.json").read_text())["motion_module.pth"]
    expected = manifest("motion_module.pth")
    assert len(expected) == entry["num_keys"]
    assert element_count(expected) == entry["float_elements"]


def test_mid_block_and_position_tables_are_included():
    expected = manifest("motion_module.pth")
    assert any(k.startswith("mid_block.motion_modules.0.") for k in expected)
    tables = [k for k in expected if k.endswith("pos_encoder.pe")]
    assert len(tables) == 42 and all(expected[k][:2] == [1, 32] for k in tables)


def test_a_non_motion_key_in_the_motion_file_is_rejected_by_name():
    motion = meta_state_dict(manifest("motion_module.pth"))
    motion["conv_out.bias"] = motion.pop("down_blocks.0.motion_modules.0.temporal_transformer.norm.bias")
    denoising = meta_state_dict(manifest("denoising_unet.pth"))
    del denoising["conv_out.bias"]
    with pytest.raises(WeightsMismatch, match="conv_out.bias"):
        merge_denoising_state_dicts(denoising, motion)
