"""Conformance case 06: what the scripts do with the reference portrait (landmark image, reference pose drawing,
CLIP and VAE inputs), and that our jobs hand the pipeline the original-resolution square."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from aniportrait_cli.landmarks.drawing import draw_reference_pose
from aniportrait_cli.landmarks.reference import landmark_image
from aniportrait_cli.lmk2video.preprocess import clip_pixel_values, clip_resized, vae_pixel_values, vae_resized
from tests.conformance.conftest import assert_image_equal, assert_matches_golden, case_dir, read_png

CASE = "06_reference_prep"
VARIANTS = ("sq640", "sq384", "rect600x800", "rect600x800_w384_h512")


@pytest.fixture(scope="module")
def kit():
    folder = case_dir(CASE)
    return {"dir": folder, "config": json.loads((folder / "config.json").read_text()),
            "io": {v: load_file(str(folder / f"io_{v}.safetensors")) for v in VARIANTS}}


def _variant(kit, name):
    spec = kit["config"]["variants"][name]
    return spec, read_png(kit["dir"] / spec["input_png"])


def _sha256(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@pytest.mark.parametrize("name", VARIANTS)
def test_landmark_image(kit, name):
    spec, image = _variant(kit, name)
    # The original passes (-H, -W) as OpenCV's (width, height): 512 x 384 for -W 384 -H 512.
    height, width = spec["lmk_image_hw"]
    assert (width, height) == (spec["H"], spec["W"])
    actual = landmark_image(image, width, height)
    assert_image_equal(actual, kit["dir"] / "expected" / f"{name}_lmk_image.png")
    np.testing.assert_array_equal(actual.shape, kit["io"][name]["lmk_image_shape"])


@pytest.mark.parametrize("name", VARIANTS)
def test_reference_pose_drawing(kit, name):
    spec, _ = _variant(kit, name)
    height, width = spec["ref_pose_hw"]
    actual = draw_reference_pose(kit["io"][name]["ref_lmks"], width, height)
    assert_image_equal(actual, kit["dir"] / "expected" / f"{name}_ref_pose.png")


@pytest.mark.parametrize("name", VARIANTS)
def test_vae_input(kit, name):
    spec, image = _variant(kit, name)
    resized = vae_resized(image, spec["W"], spec["H"])
    assert_image_equal(resized, kit["dir"] / "expected" / f"{name}_vae_resized.png")
    pixels = vae_pixel_values(image, spec["W"], spec["H"])
    assert list(pixels.shape) == spec["vae_input_shape"] == kit["io"][name]["vae_input_shape"].tolist()
    assert _sha256(pixels.numpy()) == spec["vae_input_sha256_f32"]


@pytest.mark.parametrize("name", VARIANTS)
def test_clip_input(kit, name):
    spec, image = _variant(kit, name)
    stored = name if name != "rect600x800_w384_h512" else "rect600x800"
    assert_image_equal(clip_resized(image), kit["dir"] / "expected" / f"{stored}_clip_resized.png")
    pixels = clip_pixel_values(image)
    assert _sha256(pixels.numpy()) == spec["clip_pixel_values_sha256_f32"]
    if "clip_pixel_values" in kit["io"][name]:
        assert_matches_golden(CASE, "clip_pixel_values", pixels, torch.from_numpy(kit["io"][name]["clip_pixel_values"]))


def test_vae_size_rounds_down_to_multiples_of_8(kit):
    _, image = _variant(kit, "sq384")
    assert vae_resized(image, 517, 300).shape == (296, 512, 3)


class _Reporter:
    def __init__(self):
        self.notes = []

    def note_once(self, message: str) -> None:
        self.notes.append(message)


@pytest.mark.parametrize("name", ["sq640", "sq384"])
def test_job_reference_is_prepared_like_the_original(kit, name, tmp_path):
    """A square portrait: the pipeline gets the file's own pixels, the face is measured on the case's landmark
    image (recorded MediaPipe 0.10.11 values compared loosely: the installed MediaPipe is newer)."""
    from aniportrait_cli.jobs.common import load_reference

    spec, image = _variant(kit, name)
    reference = load_reference(kit["dir"] / spec["input_png"], 512, _Reporter())
    assert not reference.cropped
    np.testing.assert_array_equal(reference.pipeline_image, image)
    assert reference.face.image_size == (512, 512)
    recorded = kit["io"][name]["ref_lmks"]
    assert np.abs(reference.face.landmarks[:, :2] - recorded[:, :2]).max() < 0.01


def test_non_square_crop_is_cut_at_full_resolution(kit):
    """Our documented difference: a non-square photo is not squashed; the square crop around the face is cut
    from the full-resolution photo and then goes through the square path above (the pipeline resizes it)."""
    from aniportrait_cli.jobs.common import load_reference

    spec, image = _variant(kit, "rect600x800")
    reference = load_reference(kit["dir"] / spec["input_png"], 512, _Reporter())
    box = reference.prepared.crop_box
    assert reference.cropped and reference.pipeline_image.shape == (box.size, box.size, 3)
    np.testing.assert_array_equal(reference.pipeline_image, image[box.y0: box.y1, box.x0: box.x1])
