"""pose_guider.pth: PoseGuider(320) with BatchNorm running stats and int64 counters (kit manifest)."""

from __future__ import annotations

import json

import torch

from aniportrait_cli.lmk2video.configs import ModelConfigs
from aniportrait_cli.lmk2video.loading import build_pose_guider
from tests.conformance.conftest import manifest
from tests.conftest import KIT_DIR, require_shared
from tests.lmk2video.manifest_checks import (
    assert_mismatches_are_named,
    assert_same_keys_and_shapes,
    assert_strict_round_trip,
    element_count,
)


def build():
    return build_pose_guider(ModelConfigs(), "meta")


def index_entry():
    return json.loads(require_shared(KIT_DIR / "manifests" / "index.json").read_text())["pose_guider.pth"]


def test_keys_and_shapes():
    assert_same_keys_and_shapes(build(), manifest("pose_guider.pth"))


def test_counts_and_integer_counters_match_index():
    entry = index_entry()
    assert len(manifest("pose_guider.pth")) == entry["num_keys"]
    assert element_count(manifest("pose_guider.pth")) == entry["float_elements"]
    state = build().state_dict()
    integer_keys = {k: str(v.dtype).removeprefix("torch.") for k, v in state.items() if not v.is_floating_point()}
    assert integer_keys == entry["non_float_keys"]


def test_real_sizes_are_the_defaults():
    guider = build()
    block = guider.cross_attn1.transformer_blocks[0]
    assert block.attn1.heads == 16 and block.attn1.inner_dim == 16 * 88
    assert guider.cross_attn1.norm.num_groups == 32


def test_strict_round_trip_keeps_counters_int64():
    guider = assert_strict_round_trip(build, manifest("pose_guider.pth"), "pose_guider.pth")
    assert guider.conv_layers[1].num_batches_tracked.dtype == torch.int64


def test_missing_extra_or_misshapen_keys_fail_by_name():
    assert_mismatches_are_named(build, manifest("pose_guider.pth"), "pose_guider.pth")
