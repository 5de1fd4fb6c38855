"""Conformance case 05: pose post-processing, projection of mesh + pose, pose-image drawing (every golden)."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest
from safetensors.numpy import load_file

from aniportrait_cli.landmarks.drawing import (
    canvas_pixels,
    draw_canvas,
    draw_pose_image,
    draw_reference_pose,
    pixels_from_verts2d,
    pose_edges,
    render_canvas_from_verts2d,
    resize_linear,
)
from aniportrait_cli.landmarks.motion_tools import motion_from_offsets, pose_images
from aniportrait_cli.landmarks.extractor import FaceObservation
from aniportrait_cli.landmarks.pose_track import damp_rotations, moving_average
from aniportrait_cli.landmarks.projection import (
    euler_to_matrix,
    matrix_to_euler,
    perspective_matrix,
    pose_to_matrix,
    project_points,
)
from tests.conformance.conftest import assert_matches_golden, case_dir

CASE = "05_landmark_geometry"
NON_SQUARE = [(384, 512), (640, 480)]


@pytest.fixture(scope="module")
def kit():
    folder = case_dir(CASE)
    return {
        "io": load_file(str(folder / "io.safetensors")),
        "extra": load_file(str(folder / "io_extra.safetensors")),
        "config": json.loads((folder / "config.json").read_text()),
        "images": folder / "images",
    }


def golden_image(kit, name: str) -> np.ndarray:
    """A golden PNG as the raw array (PNG red = array channel 0, so no BGR swap of the meaning)."""
    image = cv2.imread(str(kit["images"] / name), cv2.IMREAD_UNCHANGED)
    assert image is not None, name
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def expected_hash(kit, name: str) -> str:
    hashes = dict(kit["config"]["png_raw_array_sha256"])
    hashes.update(kit["config"]["extra"]["png_raw_array_sha256"])
    return hashes[name]


def assert_image_exact(kit, name: str, actual: np.ndarray) -> None:
    expected = golden_image(kit, name)
    assert actual.dtype == np.uint8 and actual.shape == expected.shape, (name, actual.shape, expected.shape)
    differing = int(np.any(actual != expected, axis=-1).sum())
    assert differing == 0, f"{name}: {differing} pixels differ"
    assert hashlib.sha256(np.ascontiguousarray(actual).tobytes()).hexdigest() == expected_hash(kit, name), name


# --- pose post-processing and geometry ------------------------------------------------------------------


def test_pose_seq_is_damped_then_smoothed(kit):
    io = kit["io"]
    cfg = kit["config"]
    pose_seq = moving_average(damp_rotations(io["pose_raw"], cfg["rotation_scale_applied_before_smoothing"]), cfg["smooth_window"])
    assert pose_seq.dtype == np.float32
    assert_matches_golden(CASE, "pose_seq", pose_seq, io["pose_seq"])


def test_points3d_are_offsets_plus_reference_mesh(kit):
    io = kit["io"]
    np.testing.assert_array_equal(io["mesh_offsets"] + io["ref_mesh3d"], io["points3d"])


def test_pose_matrices_follow_scipy_xyz_euler(kit):
    io = kit["io"]
    # pose_matrices has no tolerance entry; the rotation formulas differ from SciPy's quaternion path by rounding only.
    np.testing.assert_allclose(pose_to_matrix(io["pose_seq"]), io["pose_matrices"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(matrix_to_euler(euler_to_matrix(io["pose_seq"][:, :3])), io["pose_seq"][:, :3], atol=1e-10)


def test_perspective_matrix_is_bit_exact(kit):
    np.testing.assert_array_equal(perspective_matrix(512, 512), kit["io"]["perspective_matrix"])
    for width, height in NON_SQUARE:
        name = f"perspective_matrix_w{width}_h{height}"
        matrix = perspective_matrix(width, height)
        assert matrix.dtype == np.float32
        assert_matches_golden(CASE, name, matrix, kit["extra"][name])
    assert perspective_matrix(384, 512)[0, 0] == np.float32(2.175802230834961)
    assert perspective_matrix(640, 480)[0, 0] == np.float32(1.2238887548446655)


def test_verts2d(kit):
    io = kit["io"]
    verts = project_points(io["points3d"], io["pose_seq"], io["ref_trans_mat"], 512, 512)
    assert verts.dtype == np.float64 and verts.shape == (8, 468, 2)
    assert_matches_golden(CASE, "verts2d", verts, io["verts2d"])


def test_verts2d_accepts_pose_matrices(kit):
    io = kit["io"]
    verts = project_points(io["points3d"], io["pose_matrices"], io["ref_trans_mat"], 512, 512)
    assert_matches_golden(CASE, "verts2d", verts, io["verts2d"])


def test_identity_pose_reprojects_onto_mediapipe_landmarks(kit):
    io = kit["io"]
    verts = project_points(io["ref_mesh3d"], np.zeros(6), io["ref_trans_mat"], 512, 512)
    assert_matches_golden(CASE, "verts2d_identity_pose", verts, io["verts2d_identity_pose"])
    assert np.abs(verts - io["ref_lmks_normed"][:468, :2] * 512).max() < 0.02


@pytest.mark.parametrize("width,height", NON_SQUARE)
def test_non_square_verts2d_and_pixels(kit, width, height):
    io, extra = kit["io"], kit["extra"]
    verts = project_points(io["points3d"], io["pose_seq"], io["ref_trans_mat"], width, height)
    assert_matches_golden(CASE, f"verts2d_w{width}_h{height}", verts, extra[f"verts2d_w{width}_h{height}"])
    pixels, _ = pixels_from_verts2d(extra[f"verts2d_w{width}_h{height}"], width, height)
    np.testing.assert_array_equal(pixels, extra[f"px_w{width}_h{height}"])


def test_oob_points_verts_and_pixels(kit):
    io, extra = kit["io"], kit["extra"]
    np.testing.assert_array_equal(io["points3d"][np.arange(8) % 8], extra["oob_points3d"])
    verts = project_points(extra["oob_points3d"], extra["oob_pose"], io["ref_trans_mat"], 512, 512)
    assert_matches_golden(CASE, "oob_verts2d", verts, extra["oob_verts2d"])
    pixels, _ = pixels_from_verts2d(extra["oob_verts2d"], 512, 512)
    np.testing.assert_array_equal(pixels, extra["oob_px"])


def test_oob_per_frame_statistics(kit):
    extra = kit["extra"]
    stats = kit["config"]["extra"]["out_of_image"]["per_frame"]
    edges = np.array([(a, b) for a, b, _, _ in pose_edges()])
    for frame, expected in enumerate(stats):
        verts = extra["oob_verts2d"][frame]
        u = (verts[:, 0] / 512).astype(np.float32)
        v = (verts[:, 1] / 512).astype(np.float32)
        _, kept = canvas_pixels(u, v)
        assert int((~kept).sum()) == expected["points_dropped"], frame
        assert int((kept[edges[:, 0]] & kept[edges[:, 1]]).sum()) == expected["edges_drawn"], frame
        assert int((kept[edges[:, 0]] ^ kept[edges[:, 1]]).sum()) == expected["edges_with_one_endpoint_outside"], frame
        assert int((u < 0).sum()) == expected["u_below_0"] and int((u > 1).sum()) == expected["u_above_1"], frame
        assert int((v < 0).sum()) == expected["v_below_0"] and int((v > 1).sum()) == expected["v_above_1"], frame


def test_f32floor_points_verts_and_pixels(kit):
    io, extra = kit["io"], kit["extra"]
    np.testing.assert_array_equal(extra["f32floor_mesh_offsets"] + io["ref_mesh3d"], extra["f32floor_points3d"])
    for row, (width, height) in enumerate([(512, 512), (384, 512)]):
        verts = project_points(extra["f32floor_points3d"][row], extra["f32floor_pose"][row], io["ref_trans_mat"], width, height)
        assert_matches_golden(CASE, "f32floor_verts2d", verts, extra["f32floor_verts2d"][row])
        pixels, _ = pixels_from_verts2d(extra["f32floor_verts2d"][row], width, height)
        np.testing.assert_array_equal(pixels, extra["f32floor_px"][row])
    # The documented critical points: float32 rounding lifts them onto the next pixel.
    assert extra["f32floor_px"][0, 13, 1] == 284 and extra["f32floor_px"][1, 288, 0] == 460


# --- drawing -------------------------------------------------------------------------------------------


def test_edges_match_the_kit(kit):
    expected = [(a, b, tuple(color), thickness) for a, b, color, thickness in kit["config"]["edges_in_draw_order"]]
    assert pose_edges() == expected
    assert len(expected) == 114


def test_reference_pose_image(kit):
    assert_image_exact(kit, "ref_pose.png", draw_reference_pose(kit["io"]["ref_lmks_normed"]))


@pytest.mark.parametrize("frame", range(8))
def test_frame_images(kit, frame):
    assert_image_exact(kit, f"frame_{frame:02d}.png", draw_pose_image(kit["io"]["verts2d"][frame], 512, 512))


@pytest.mark.parametrize("width,height", NON_SQUARE)
def test_non_square_canvas_and_frame_images(kit, width, height):
    verts = kit["extra"][f"verts2d_w{width}_h{height}"]
    for frame in range(8):
        canvas = render_canvas_from_verts2d(verts[frame], width, height)
        assert_image_exact(kit, f"extra_w{width}_h{height}_canvas_{frame:02d}.png", canvas)
        assert_image_exact(kit, f"extra_w{width}_h{height}_frame_{frame:02d}.png", resize_linear(canvas, width, height))
        assert_image_exact(kit, f"extra_w{width}_h{height}_frame_{frame:02d}.png", draw_pose_image(verts[frame], width, height))


@pytest.mark.parametrize("frame", range(8))
def test_oob_images(kit, frame):
    assert_image_exact(kit, f"extra_oob_frame_{frame:02d}.png", draw_pose_image(kit["extra"]["oob_verts2d"][frame], 512, 512))


def test_whole_face_out_is_a_black_image(kit):
    image = draw_pose_image(kit["extra"]["oob_verts2d"][5], 512, 512)
    assert not image.any()


@pytest.mark.parametrize("row,width,height,differing", [(0, 512, 512, 20), (1, 384, 512, 84)])
def test_f32floor_images(kit, row, width, height, differing):
    verts = kit["extra"]["f32floor_verts2d"][row]
    image = draw_pose_image(verts, width, height)
    assert_image_exact(kit, f"extra_f32floor_{row:02d}_w{width}_h{height}.png", image)
    # A float64 floor (no float32 rounding of x / W) draws a different image: the rounding matters.
    u64, v64 = verts[:, 0] / width, verts[:, 1] / height
    kept = (u64 >= 0) & (u64 <= 1) & (v64 >= 0) & (v64 <= 1)
    pixels = np.stack([np.minimum(np.floor(u64 * 512), 511), np.minimum(np.floor(v64 * 512), 511)], axis=1).astype(np.int32)
    float64_image = resize_linear(draw_canvas(pixels, kept), width, height)
    assert int(np.any(float64_image != image, axis=-1).sum()) == differing


def test_motion_pose_images_reproduce_the_frames(kit):
    """The streaming path (Motion -> pose images) draws the golden frames; the Motion stores float32 meshes,
    which for these frames projects to the same pixels."""
    io = kit["io"]
    reference = FaceObservation(
        landmarks=io["ref_lmks_normed"], blendshapes=np.zeros(52, np.float32), transform=io["ref_trans_mat"],
        image_size=(512, 512), mesh3d=io["ref_mesh3d"],
    )
    motion = motion_from_offsets(reference, io["mesh_offsets"], io["pose_seq"], fps=30.0)
    for frame, image in enumerate(pose_images(motion, 512, 512)):
        assert_image_exact(kit, f"frame_{frame:02d}.png", image)
