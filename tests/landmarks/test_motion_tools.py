import cv2
import numpy as np

from aniportrait_cli.landmarks.drawing import draw_reference_pose
from aniportrait_cli.landmarks.extractor import FaceObservation, detect_reference_face
from aniportrait_cli.landmarks.motion_tools import (
    most_neutral_frame,
    motion_from_face_track,
    pose_image,
    pose_images,
    reference_pose_image,
    relative_poses,
    with_pose,
)
from aniportrait_cli.landmarks.projection import measured_rotation_to_euler, pose_to_matrix, project_points
from aniportrait_cli.motion import Motion


def test_relative_poses_start_at_zero_and_reproduce_the_track(driving_track):
    pose = relative_poses(driving_track.transforms)
    np.testing.assert_allclose(pose[0], 0, atol=1e-9)
    # Applying frame t's relative pose on top of frame 0's matrix re-projects frame t's own face.
    for t in (10, 60, 120):
        verts = project_points(driving_track.mesh3d[t], pose[t], driving_track.transforms[0], 512, 512)
        assert np.abs(verts - driving_track.landmarks[t, :468, :2] * 512).max() < 0.05


def test_driving_video_transferred_onto_itself_is_reproduced(driving_track):
    """vid2vid with the video's own first frame as the reference (and its neutral mesh as the identity)
    re-draws every frame where the landmarker saw it."""
    track = driving_track
    neutral = most_neutral_frame(track.blendshapes, track.blendshape_names)
    reference = FaceObservation(
        track.landmarks[0], track.blendshapes[0], track.transforms[0], track.image_size,
        track.blendshape_names, mesh3d=track.mesh3d[neutral].astype(np.float64),
    )
    motion = motion_from_face_track(reference, track, pose_mode="relative")
    driver = motion_from_face_track(reference, track)  # the same, but the head pose smoothed over 3 frames
    assert motion.num_frames == 125 and motion.fps == 25.0
    np.testing.assert_allclose(motion.mesh, track.mesh3d, atol=1e-5)
    for t in (0, 45, 100):
        verts = project_points(motion.mesh[t], motion.pose[t], motion.ref_trans_mat, 512, 512)
        assert np.abs(verts - track.landmarks[t, :468, :2] * 512).max() < 0.05
        verts = project_points(driver.mesh[t], driver.pose[t], driver.ref_trans_mat, 512, 512)
        assert np.abs(verts - track.landmarks[t, :468, :2] * 512).max() < 2.0
    blink = motion.extra["blink"]
    assert blink.shape == (125,) and 0 <= blink.min() and blink.max() <= 1 and blink.max() > 0.3


def test_neutral_frame_has_the_least_expression(driving_track):
    neutral = most_neutral_frame(driving_track.blendshapes, driving_track.blendshape_names)
    activity = driving_track.blendshapes[:, 1:].sum(axis=1)
    assert activity[neutral] == activity.min()


def test_pose_images_of_the_driving_video_follow_the_head(driving_frames, driving_track, astronaut, tmp_path):
    reference = detect_reference_face(astronaut, "astronaut")
    driver = motion_from_face_track(reference, driving_track)
    # Driver mode (the original's): the portrait's head takes the driving head's camera-space rotation.
    for t in (0, 60):
        camera = driver.ref_trans_mat @ pose_to_matrix(driver.pose[t])
        mean = np.mean([measured_rotation_to_euler(driving_track.transforms[i, :3, :3]) for i in (t - 1, t, t + 1) if i >= 0], axis=0)
        np.testing.assert_allclose(measured_rotation_to_euler(camera[:3, :3]), mean, atol=1e-3)
    motion = motion_from_face_track(reference, driving_track, pose_mode="relative").resampled(30.0)
    assert motion.num_frames == 150
    images = pose_images(motion, 512, 512, start=40, stop=43)
    assert len(list(images)) == 3
    # Frame 0 has pose zero and the reference mesh plus the driving face's expression: it sits on the
    # astronaut's own landmark drawing.
    first = pose_image(motion, 0, 512, 512)
    own = reference_pose_image(motion, 512, 512)
    drawn, own_drawn = first.any(-1), own.any(-1)
    assert (drawn & own_drawn).sum() / own_drawn.sum() > 0.3
    # The head turns: later frames leave the reference pose.
    moved = max(np.abs(motion.pose[t, :3]).max() for t in range(motion.num_frames))
    assert moved > 3.0
    # A sheet to look at: the driving frames with their own landmarks, and the transferred pose images.
    rows = []
    for t in (0, 8, 40, 100):
        frame = cv2.addWeighted(driving_frames[t], 0.6, draw_reference_pose(driving_track.landmarks[t]), 1.0, 0)
        transferred = cv2.addWeighted(astronaut, 0.5, pose_image(motion, round(t * 30 / 25), 512, 512), 1.0, 0)
        rows.append(np.concatenate([frame, transferred], axis=1))
    assert cv2.imwrite(str(tmp_path / "vid2vid_pose_images.png"), cv2.cvtColor(np.concatenate(rows), cv2.COLOR_RGB2BGR))


def test_with_pose_keeps_the_expression(driving_track, astronaut):
    reference = detect_reference_face(astronaut, "astronaut")
    motion = motion_from_face_track(reference, driving_track)
    still = with_pose(motion, np.zeros((motion.num_frames, 6)))
    assert isinstance(still, Motion)
    np.testing.assert_array_equal(still.mesh, motion.mesh)
    assert not still.pose.any() and still.extra.keys() == motion.extra.keys()
