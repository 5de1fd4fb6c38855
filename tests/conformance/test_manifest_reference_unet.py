"""reference_unet.pth: diffusers' SD1.5 UNet2DConditionModel without output head (kit manifest)."""

from __future__ import annotations

import json

from aniportrait_cli.lmk2video.configs import ModelConfigs
from aniportrait_cli.lmk2video.loading import build_reference_unet_from
from tests.conformance.conftest import manifest
from tests.conftest import KIT_DIR, require_shared
from tests.lmk2video.manifest_checks import (
    assert_mismatches_are_named,
    assert_same_keys_and_shapes,
    assert_strict_round_trip,
    element_count,
)


def build():
    return build_reference_unet_from(ModelConfigs(), "meta")


def test_keys_and_shapes():
    assert_same_keys_and_shapes(build(), manifest("reference_unet.pth"))


def test_no_output_head():
    keys = manifest("reference_unet.pth")
    assert not any(k.startswith(("conv_norm_out", "conv_out")) for k in keys)


def test_counts_match_index():
    entry = json.loads(require_shared(KIT_DIR / "manifests" / "index.json").read_text())["reference_unet.pth"]
    assert len(manifest("reference_unet.pth")) == entry["num_keys"]
    assert element_count(manifest("reference_unet.pth")) == entry["float_elements"]


def test_strict_round_trip():
    assert_strict_round_trip(build, manifest("reference_unet.pth"), "reference_unet.pth")


def test_missing_extra_or_misshapen_keys_fail_by_name():
    assert_mismatches_are_named(build, manifest("reference_unet.pth"), "reference_unet.pth")
