"""Conformance case 09: audio2vid glue (audio -> mesh offsets + head pose -> 2D landmarks -> pose images), with a
pose template (back-and-forth loop, used as is) and with audio2pose (x0.5 rotations, width-7 average); from the
stored network outputs (exact) and end to end through our audio networks (kit tolerances)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from aniportrait_cli.audio2lmk import features, pose_chunks
from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
from aniportrait_cli.landmarks.drawing import draw_pose_image
from aniportrait_cli.landmarks.edit_pose import load_pose_template, resolve_pose_source
from aniportrait_cli.landmarks.extractor import FaceObservation
from aniportrait_cli.landmarks.motion_tools import motion_from_offsets, pose_image
from aniportrait_cli.landmarks.pose_track import damp_rotations, moving_average
from aniportrait_cli.landmarks.projection import project_points
from tests.conformance.conftest import assert_image_equal, assert_matches_golden, case_dir
from tests.conftest import MEDIA_DIR, require_shared

pytestmark = pytest.mark.usefixtures("single_torch_thread")

CASE = "09_audio2vid_glue"
SIZE = 512
STORED_FRAMES = 24
STORED_IMAGES = 8


@pytest.fixture(scope="module")
def kit():
    folder = case_dir(CASE)
    reference = load_file(str(case_dir("06_reference_prep") / "io_sq640.safetensors"))
    return {"dir": folder, "io": load_file(str(folder / "io.safetensors")), "ref": reference,
            "config": json.loads((folder / "config.json").read_text())}


@pytest.fixture(scope="module")
def pipeline():
    """Our audio pipeline with the tiny networks of cases 01 and 02 (their configs, strict loading)."""
    mesh_dir, pose_dir = case_dir("01_audio2mesh"), case_dir("02_audio2pose")
    mesh, pose = (json.loads((d / "config.json").read_text()) for d in (mesh_dir, pose_dir))
    mesh_config = {"wav2vec2_config": mesh["wav2vec2_config"], "latent_dim": mesh["latent_dim"], "out_dim": mesh["out_dim"]}
    pose_config = {"wav2vec2_config": pose["wav2vec2_config"], "latent_dim": pose["latent_dim"], "out_dim": pose["out_dim"],
                   "num_decoder_layers": pose["decoder_layers"], "num_decoder_heads": pose["decoder_heads"],
                   "decoder_ffn_dim": pose["decoder_ffn"], "num_styles": pose["id_embeddings"],
                   "max_positions": pose["positional_encoding_max_len"]}
    return Audio2LmkPipeline.from_pretrained(mesh_dir / "weights.safetensors", pose_dir / "weights.safetensors",
                                             mesh_config=mesh_config, pose_config=pose_config)


@pytest.fixture(scope="module")
def predicted(kit, pipeline):
    from aniportrait_cli.media import load_audio

    clip = load_audio(kit["dir"] / "audio_6p5s_16k.wav")
    return clip, pipeline.predict(clip.samples, kit["config"]["audio2pose_id"], 30.0)


def _reference_face(kit) -> FaceObservation:
    ref = kit["ref"]
    return FaceObservation(landmarks=ref["ref_lmks"], blendshapes=np.zeros(52, np.float32),
                           transform=ref["ref_trans_mat"], image_size=(SIZE, SIZE), mesh3d=ref["ref_lmks3d"])


def _template_pose(kit) -> np.ndarray:
    """The audio2vid job's --pose-from path for a template .npy at 30 fps."""
    seq_len = int(kit["io"]["seq_len"][0])
    return resolve_pose_source(require_shared(MEDIA_DIR / "pose_temp.npy"), seq_len, 30.0)


def _points(kit) -> np.ndarray:
    offsets = kit["io"]["mesh_offsets"].reshape(-1, 468, 3)
    return offsets + kit["ref"]["ref_lmks3d"]  # float32 + float64 -> float64, as the script


def _variant_pose(kit, variant: str) -> np.ndarray:
    return _template_pose(kit) if variant == "temp" else kit["io"]["a2p_pose_seq"]


# --- the glue, from the stored tensors -------------------------------------------------------------------------


def test_template_is_looped_back_and_forth_and_used_as_is(kit):
    pose = _template_pose(kit)
    assert pose.dtype == np.float64
    np.testing.assert_array_equal(pose, kit["io"]["temp_pose_seq"])
    template = load_pose_template(MEDIA_DIR / "pose_temp.npy")
    np.testing.assert_array_equal(pose[:165], template)
    np.testing.assert_array_equal(pose[165:195], template[-2:-32:-1])


def test_audio2pose_pieces_and_post_processing(kit):
    io = kit["io"]
    num_samples, seq_len = io["input_values"].shape[0], int(io["seq_len"][0])
    assert features.count_frames(num_samples) == seq_len
    pieces = pose_chunks.compat_pieces(num_samples, seq_len)
    assert [p.sample_stop - p.sample_start for p in pieces] == io["a2p_chunk_num_samples"].tolist()
    assert [p.num_frames for p in pieces] == io["a2p_chunk_seq_lens"].tolist()
    assert pose_chunks.continuity_chunks(seq_len) == [(0, seq_len)]  # our default decodes the same single piece
    pose = moving_average(damp_rotations(io["a2p_pose_raw_concat"]))
    assert pose.dtype == np.float32
    torch.testing.assert_close(torch.from_numpy(pose), torch.from_numpy(io["a2p_pose_seq"]), atol=1e-6, rtol=0)


@pytest.mark.parametrize("variant", ["temp", "a2p"])
def test_landmarks_and_pose_images(kit, variant):
    points = _points(kit)[:STORED_FRAMES]
    verts = project_points(points, _variant_pose(kit, variant)[:STORED_FRAMES], kit["ref"]["ref_trans_mat"], SIZE, SIZE)
    assert_matches_golden(CASE, f"{variant}_verts2d_first24", verts, kit["io"][f"{variant}_verts2d_first24"])
    for i in range(STORED_IMAGES):
        assert_image_equal(draw_pose_image(verts[i], SIZE, SIZE), kit["dir"] / "images" / f"{variant}_pose_{i:02d}.png")


@pytest.mark.parametrize("variant", ["temp", "a2p"])
def test_all_pose_image_hashes(kit, variant):
    verts = project_points(_points(kit), _variant_pose(kit, variant), kit["ref"]["ref_trans_mat"], SIZE, SIZE)
    expected = kit["config"]["variants"][variant]["pose_image_raw_sha256"]
    assert len(expected) == verts.shape[0]
    for i, digest in enumerate(expected):
        assert hashlib.sha256(draw_pose_image(verts[i], SIZE, SIZE).tobytes()).hexdigest() == digest, i


@pytest.mark.parametrize("variant", ["temp", "a2p"])
def test_motion_contract_draws_the_same_images(kit, variant):
    """The audio2vid job's Motion (stored float32) draws the original's first pose images."""
    offsets = kit["io"]["mesh_offsets"].reshape(-1, 468, 3)
    motion = motion_from_offsets(_reference_face(kit), offsets, _variant_pose(kit, variant), 30.0)
    for i in range(STORED_IMAGES):
        assert_image_equal(pose_image(motion, i, SIZE, SIZE), kit["dir"] / "images" / f"{variant}_pose_{i:02d}.png")


# --- end to end through our audio networks -----------------------------------------------------------------------


def test_audio_loading_and_normalisation(kit, predicted):
    clip, _ = predicted
    assert clip.samples.shape == kit["io"]["input_values"].shape
    assert_matches_golden(CASE, "input_values", features.normalise(clip.samples), kit["io"]["input_values"])


def test_networks_end_to_end(kit, predicted):
    _, out = predicted
    io = kit["io"]
    assert_matches_golden(CASE, "mesh_offsets", out.mesh_offsets.reshape(out.mesh_offsets.shape[0], -1), io["mesh_offsets"])
    assert_matches_golden(CASE, "a2p_pose_raw_concat", out.head_pose_raw, io["a2p_pose_raw_concat"])
    assert_matches_golden(CASE, "a2p_pose_seq", out.head_pose, io["a2p_pose_seq"])


def test_end_to_end_landmarks(kit, predicted):
    """With our own network outputs the landmarks are within the kit's end-to-end bound (1.2e-3 px for the float64
    rerun of the original; we allow 1e-2 px)."""
    _, out = predicted
    points = out.mesh_offsets[:STORED_FRAMES] + kit["ref"]["ref_lmks3d"]
    for variant, pose in (("temp", _template_pose(kit)), ("a2p", out.head_pose)):
        verts = project_points(points, pose[:STORED_FRAMES], kit["ref"]["ref_trans_mat"], SIZE, SIZE)
        assert np.abs(verts - kit["io"][f"{variant}_verts2d_first24"]).max() < 1e-2, variant
