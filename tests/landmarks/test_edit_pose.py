import cv2
import numpy as np
import pytest

from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.edit_pose import (
    PoseEdits,
    apply_pose_edits,
    fit_pose_length,
    load_pose_template,
    mirror_pose,
    parse_pose_offset,
    pose_template_from_track,
    preview_frames,
    resolve_pose_source,
    save_pose_template,
    still_pose,
    template_pose_track,
)
from aniportrait_cli.landmarks.extractor import detect_reference_face
from aniportrait_cli.landmarks.motion_tools import motion_from_offsets
from aniportrait_cli.landmarks.projection import euler_to_matrix
from tests.conftest import MEDIA_DIR, require_shared


@pytest.fixture(scope="module")
def shared_template():
    return load_pose_template(require_shared(MEDIA_DIR / "pose_temp.npy"))


def test_original_template_loads(shared_template):
    assert shared_template.shape == (165, 6) and shared_template.dtype == np.float64


def test_template_save_load_round_trip(shared_template, tmp_path):
    path = save_pose_template(tmp_path / "pose.npy", shared_template)
    assert path == tmp_path / "pose.npy" and sorted(p.name for p in tmp_path.iterdir()) == ["pose.npy"]
    raw = np.load(path)
    assert raw.dtype == np.float64 and raw.shape == (165, 6)
    np.testing.assert_array_equal(load_pose_template(path), shared_template)
    # float32 tracks are stored in the original's float64 format
    save_pose_template(tmp_path / "f32.npy", shared_template.astype(np.float32))
    assert np.load(tmp_path / "f32.npy").dtype == np.float64


def test_bad_templates_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_pose_template(tmp_path / "missing.npy")
    np.save(tmp_path / "wrong.npy", np.zeros((10, 3)))
    with pytest.raises(InputError, match=r"shape \(10, 3\)"):
        load_pose_template(tmp_path / "wrong.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="junk.npy"):
        load_pose_template(tmp_path / "junk.npy")
    with pytest.raises(InputError, match=r"\.npy"):
        save_pose_template(tmp_path / "pose.txt", np.zeros((3, 6)))


def test_pingpong_tiling_mirrors_without_end_frames():
    template = np.arange(4, dtype=np.float64)[:, None] * np.ones(6)
    tiled = fit_pose_length(template, 11, "pingpong")
    assert tiled[:, 0].tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2]
    wrapped = fit_pose_length(template, 6, "wrap")
    assert wrapped[:, 0].tolist() == [0, 1, 2, 3, 0, 1]
    with pytest.raises(InputError, match="--loop"):
        fit_pose_length(template, 6, "bounce")


def test_template_at_another_fps_keeps_its_speed(shared_template):
    at_60 = template_pose_track(shared_template, 330, fps=60.0)
    np.testing.assert_allclose(at_60[::2][:165], shared_template)
    at_30 = template_pose_track(shared_template, 400)
    np.testing.assert_array_equal(at_30[:165], shared_template)
    np.testing.assert_array_equal(at_30[165:328], shared_template[-2:0:-1])


def test_edits():
    pose = np.tile(np.float64([[1, 2, 3, 0.1, 0.2, 0.3]]), (5, 1))
    scaled = apply_pose_edits(pose, 5, PoseEdits(scale=2.0))
    np.testing.assert_allclose(scaled, pose * 2)
    shifted = apply_pose_edits(pose, 5, PoseEdits(offset=(10.0, -5.0, 3.0)))  # yaw, pitch, roll
    np.testing.assert_allclose(shifted[0, :3], [1 - 5, 2 + 10, 3 + 3])
    mirrored = apply_pose_edits(pose, 5, PoseEdits(mirror=True))
    np.testing.assert_allclose(mirrored[0], [1, -2, -3, -0.1, 0.2, 0.3])
    ramp = np.arange(9, dtype=np.float64)[:, None] * np.ones(6)
    smooth = apply_pose_edits(ramp, 9, PoseEdits(smooth=3))
    np.testing.assert_allclose(smooth[1:-1], ramp[1:-1], atol=1e-6)  # a ramp is its own moving average
    assert smooth[0, 0] == pytest.approx(0.5)
    with pytest.raises(InputError):
        apply_pose_edits(pose, 5, PoseEdits(smooth=0))


def test_mirror_is_a_left_right_reflection():
    rng = np.random.default_rng(1)
    pose = rng.normal(0, 10, (4, 6))
    reflection = np.diag([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(euler_to_matrix(mirror_pose(pose)[:, :3]), reflection @ euler_to_matrix(pose[:, :3]) @ reflection, atol=1e-12)


def test_parse_pose_offset():
    assert parse_pose_offset("10, -2.5,0") == (10.0, -2.5, 0.0)
    with pytest.raises(InputError, match="yaw,pitch,roll"):
        parse_pose_offset("10,2")


def test_still_and_template_sources(tmp_path, shared_template):
    assert not resolve_pose_source("still", 7, 30.0).any()
    assert still_pose(3).shape == (3, 6)
    save_pose_template(tmp_path / "t.npy", shared_template[:10])
    np.testing.assert_array_equal(resolve_pose_source(tmp_path / "t.npy", 10, 30.0), shared_template[:10])
    with pytest.raises(InputError, match="not found"):
        resolve_pose_source(tmp_path / "nothing.mp4", 10, 30.0)


def test_template_from_the_driving_video(driving_track):
    template = pose_template_from_track(driving_track)
    assert template.shape == (150, 6) and template.dtype == np.float64  # 5 s at 30 fps
    # Relative to frame 0, then smoothed: starts near zero, and the video's head motion is a few degrees.
    assert np.abs(template[0, :3]).max() < 1.0
    assert 2.0 < np.abs(template[:, :3]).max() < 30.0
    raw = pose_template_from_track(driving_track, smooth=1)
    np.testing.assert_allclose(raw[0], 0, atol=1e-9)
    assert np.abs(np.diff(template, axis=0)).max() < np.abs(np.diff(raw, axis=0)).max()


def test_template_time_axis_and_smoothing_are_the_originals():
    """Template extraction as the original: the source frames spread over [0, N / fps] end to end,
    int(N * 30 / fps) output frames on the same span, linear interpolation, then a width-5 moving average."""
    from aniportrait_cli.landmarks.edit_pose import template_from_relative_poses
    from aniportrait_cli.landmarks.pose_track import template_time_resample

    ramp = np.repeat(np.arange(165, dtype=np.float64)[:, None], 6, axis=1)
    resampled = template_time_resample(ramp, 29.97, 30.0)
    assert resampled.shape == (165, 6)  # int(165 * 30 / 29.97) = 165, not ceil(...) = 166
    np.testing.assert_allclose(resampled[:, 0], np.linspace(0, 164, 165))  # end frames map onto each other
    assert template_time_resample(ramp[:125], 25.0, 30.0).shape == (150, 6)
    spike = np.zeros((20, 6))
    spike[10] = 5.0
    smoothed = template_from_relative_poses(spike, 30.0)
    np.testing.assert_allclose(smoothed[8:13, 0], 1.0)  # width 5: the spike is spread over frames 8..12
    assert smoothed[7, 0] == 0 and smoothed[13, 0] == 0


def test_template_from_video_file(driving_video_path, tmp_path):
    template = resolve_pose_source(driving_video_path, 200, 30.0)
    assert template.shape == (200, 6)
    np.testing.assert_array_equal(template[150:], template[148:98:-1])  # ping-pong after the 150 frames


def test_preview_is_side_by_side(astronaut):
    reference = detect_reference_face(astronaut, "astronaut")
    motion = motion_from_offsets(reference, np.zeros((3, 468, 3), np.float32), still_pose(3), 30.0)
    frames = list(preview_frames(motion, astronaut, 256, 256))
    assert len(frames) == 3 and frames[0].shape == (256, 512, 3) and frames[0].dtype == np.uint8
    assert frames[0][:, 256:].any()  # the landmark drawing on the right
    np.testing.assert_array_equal(frames[0][:, :256], cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA))
