"""Full-size Audio2PoseModel against the kit manifest of the released `audio2pose.pt` (built on the meta device)."""

from __future__ import annotations

import json

from aniportrait_cli.audio2lmk.configs import POSE_CONFIG, infer_pose_config
from aniportrait_cli.audio2lmk.models import Audio2PoseModel
from tests.audio2lmk import manifest_checks
from tests.conformance.conftest import KIT_DIR, manifest, require_shared

NAME = "audio2pose.pt"


def test_layout_matches_manifest():
    index = json.loads(require_shared(KIT_DIR / "manifests" / "index.json").read_text())
    manifest_checks.check_layout(Audio2PoseModel, POSE_CONFIG, manifest(NAME), index[NAME])


def test_config_inferred_from_shapes_is_the_full_size():
    shapes = manifest_checks.unfilled_tensors(manifest(NAME))
    assert infer_pose_config(shapes) == POSE_CONFIG


def test_strict_round_trip():
    manifest_checks.check_strict_round_trip(Audio2PoseModel, POSE_CONFIG, manifest(NAME))


def test_current_torch_weight_norm_names_load_too():
    manifest_checks.check_new_weight_norm_names_accepted(Audio2PoseModel, POSE_CONFIG, manifest(NAME))


def test_missing_extra_or_misshapen_keys_fail_with_their_names():
    manifest_checks.check_missing_and_extra_keys_fail(Audio2PoseModel, POSE_CONFIG, manifest(NAME))
