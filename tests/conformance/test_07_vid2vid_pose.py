"""Conformance case 07: vid2vid retargeting (driving MediaPipe outputs -> head pose -> 2D landmarks -> pose images),
from the recorded MediaPipe values, plus the driving-video frame selection (60 fps halving, --fast keyframes)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from aniportrait_cli.landmarks.drawing import draw_pose_image
from aniportrait_cli.landmarks.extractor import FaceObservation, FaceTrack
from aniportrait_cli.landmarks.motion_tools import (
    driver_head_pose,
    most_neutral_frame,
    motion_from_face_track,
    pose_image,
    retargeted_meshes,
)
from aniportrait_cli.landmarks.projection import project_points
from aniportrait_cli.landmarks.driving_frames import driving_frame_step, selected_frame_indices
from tests.conformance.conftest import assert_image_equal, assert_matches_golden, case_dir

CASE = "07_vid2vid_pose"
SIZE = 512


@pytest.fixture(scope="module")
def kit():
    folder = case_dir(CASE)
    return {"io": load_file(str(folder / "io.safetensors")), "config": json.loads((folder / "config.json").read_text()),
            "dir": folder}


def _glue(io, frames: np.ndarray | slice):
    """The case's steps 3-8 on the selected driving frames: (neutral index, pose, smoothed, matrices, verts2d)."""
    transforms, meshes, blendshapes = io["drv_trans_mat"][frames], io["drv_lmks3d"][frames], io["drv_bs"][frames]
    neutral = most_neutral_frame(blendshapes)
    pose, smoothed, matrices = driver_head_pose(transforms, io["ref_trans_mat"])
    points = retargeted_meshes(meshes, neutral, io["ref_lmks3d"])
    # vid2vid projects with the retargeted camera transforms themselves (no reference matrix on top).
    verts = project_points(points, matrices, np.eye(4), SIZE, SIZE)
    return neutral, pose, smoothed, matrices, verts


@pytest.mark.parametrize("prefix,frames", [("", slice(None)), ("acc_", "acc"), ("from5_", slice(5, 40))])
def test_retarget_pose_and_landmarks(kit, prefix, frames):
    io = kit["io"]
    if frames == "acc":
        frames = io["acc_frame_indices"]
    neutral, pose, smoothed, matrices, verts = _glue(io, frames)
    assert neutral == int(io[f"{prefix}min_bs_idx"])
    assert_matches_golden(CASE, f"{prefix}pose_arr", pose, io[f"{prefix}pose_arr"])
    assert_matches_golden(CASE, f"{prefix}pose_arr_smooth", smoothed, io[f"{prefix}pose_arr_smooth"])
    if not prefix:
        assert_matches_golden(CASE, "pose_mat_smooth", matrices, io["pose_mat_smooth"])
    assert_matches_golden(CASE, f"{prefix}verts2d", verts, io[f"{prefix}verts2d"])


def test_pose_images_exact(kit):
    io = kit["io"]
    for i in range(io["verts2d"].shape[0]):
        assert_image_equal(draw_pose_image(io["verts2d"][i], SIZE, SIZE), kit["dir"] / "images" / f"pose_{i:02d}.png")
    for i in range(io["acc_verts2d"].shape[0]):
        assert_image_equal(draw_pose_image(io["acc_verts2d"][i], SIZE, SIZE), kit["dir"] / "images" / f"acc_pose_{i:02d}.png")


def test_pose_images_hashes_from_own_verts(kit):
    _, _, _, _, verts = _glue(kit["io"], slice(None))
    for i, expected in enumerate(kit["config"]["pose_image_raw_sha256"]):
        image = draw_pose_image(verts[i], SIZE, SIZE)
        assert hashlib.sha256(image.tobytes()).hexdigest() == expected, i


def _track(io, frames=slice(None)) -> FaceTrack:
    count = io["drv_trans_mat"][frames].shape[0]
    return FaceTrack(
        landmarks=np.zeros((count, 478, 3), np.float32), blendshapes=io["drv_bs"][frames].astype(np.float32),
        transforms=io["drv_trans_mat"][frames], mesh3d=io["drv_lmks3d"][frames].astype(np.float32),
        present=np.ones(count, bool), fps=25.0, image_size=(SIZE, SIZE),
    )


def _reference(io) -> FaceObservation:
    return FaceObservation(landmarks=np.zeros((478, 3), np.float32), blendshapes=np.zeros(52, np.float32),
                           transform=io["ref_trans_mat"], image_size=(SIZE, SIZE), mesh3d=io["ref_lmks3d"])


def test_motion_contract_carries_the_retargeted_pose(kit):
    """The vid2vid job's Motion (pose relative to the reference matrix, stored in float32) draws the same pose
    images as the original up to float32 storage: landmarks within 1e-3 px, and nearly every image identical."""
    io = kit["io"]
    motion = motion_from_face_track(_reference(io), _track(io))
    verts = project_points(motion.mesh, motion.pose, motion.ref_trans_mat, SIZE, SIZE)
    assert np.abs(verts - io["verts2d"]).max() < 1e-3
    same = sum(np.array_equal(pose_image(motion, i, SIZE, SIZE), draw_pose_image(io["verts2d"][i], SIZE, SIZE))
               for i in range(motion.num_frames))
    assert same >= motion.num_frames - 2


def test_relative_mode_keeps_the_portrait_angle(kit):
    io = kit["io"]
    motion = motion_from_face_track(_reference(io), _track(io), pose_mode="relative")
    np.testing.assert_allclose(motion.pose[0], np.zeros(6), atol=1e-5)
    driver = motion_from_face_track(_reference(io), _track(io))
    assert np.abs(driver.pose[0, :3]).max() > 1.0  # the portrait is turned to the driving head's angle


def test_frame_selection_60fps(kit):
    io = kit["io"]
    step = driving_frame_step(60.0)
    assert step == 2
    np.testing.assert_array_equal(selected_frame_indices(80, step), io["fps60_plain_kept_indices"])
    np.testing.assert_array_equal(selected_frame_indices(80, step, fast_stride=3), io["fps60_acc_kept_indices"])
    np.testing.assert_array_equal(selected_frame_indices(40, driving_frame_step(25.0), fast_stride=3), io["acc_frame_indices"])


def test_sixty_fps_file_is_read_at_sixty(kit):
    from aniportrait_cli.media import VideoReader

    reader = VideoReader(kit["dir"] / "drive_60fps.mp4")
    assert abs(reader.fps - 60.0) < 1e-6
    assert driving_frame_step(reader.fps) == 2


@pytest.mark.parametrize("fps,step", [(25, 1), (29.97, 1), (30, 1), (44, 1), (50, 2), (59.94, 2), (60, 2), (120, 4)])
def test_frame_rate_rule(fps, step):
    """Ours halves 50 and 59.94 fps too (the original only exactly 60): the motion modules saw ~30 fps."""
    assert driving_frame_step(fps) == step
