"""Build `Motion`s from landmarks, and turn a `Motion` into pose images.

A frame's pose image is the projection of its canonical mesh under its head pose through the reference face's
facial transformation matrix (see `projection`), drawn as the original draws it (see `drawing`).

Driving videos (vid2vid), as the original retargets them (kit case 07):
* expression: the driving face's canonical mesh minus its mesh in its most neutral frame (the lowest total
  blendshape activation), added to the reference face's mesh, so the reference keeps its own face shape;
* head pose ("driver" mode, the default): the driving head's absolute rotation, and its translation since the
  first frame added to the reference's position; width-3 moving average, no damping. The reference head's own
  rotation is discarded: the portrait looks where the driving face looks.
* "relative" mode (our earlier behaviour): the portrait keeps its own angle and only the driving head's motion
  since the first frame, `inverse(T_0) @ T_t`, is applied on top of it, unsmoothed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from aniportrait_cli.landmarks.drawing import draw_pose_image, draw_reference_pose
from aniportrait_cli.landmarks.extractor import FaceObservation, FaceTrack
from aniportrait_cli.landmarks.pose_track import DRIVER_SMOOTH_WINDOW, moving_average
from aniportrait_cli.landmarks.projection import matrix_to_pose, measured_rotation_to_euler, pose_to_matrix, project_points
from aniportrait_cli.motion import NUM_MESH_VERTICES, Motion

BLINK_BLENDSHAPES = ("eyeBlinkLeft", "eyeBlinkRight")
POSE_MODES = ("driver", "relative")


def motion_from_meshes(
    reference: FaceObservation,
    meshes: np.ndarray,
    pose: np.ndarray,
    fps: float,
    extra: dict[str, np.ndarray] | None = None,
) -> Motion:
    """A Motion from per-frame canonical meshes (T, 468, 3) and poses (T, 6) for a reference face."""
    return Motion(
        mesh=meshes,
        pose=pose,
        fps=fps,
        ref_trans_mat=reference.transform,
        ref_landmarks=reference.landmarks,
        extra=extra or {},
    )


def motion_from_offsets(
    reference: FaceObservation,
    offsets: np.ndarray,
    pose: np.ndarray,
    fps: float,
    extra: dict[str, np.ndarray] | None = None,
) -> Motion:
    """A Motion from expression offsets (T, 468, 3) added to the reference's canonical mesh (audio2mesh output)."""
    offsets = np.asarray(offsets)
    if offsets.ndim != 3 or offsets.shape[1:] != (NUM_MESH_VERTICES, 3):
        raise ValueError(f"mesh offsets have shape {offsets.shape}, expected (T, {NUM_MESH_VERTICES}, 3)")
    return motion_from_meshes(reference, offsets + reference.mesh3d[None], pose, fps, extra)


def pose_images(
    motion: Motion,
    width: int,
    height: int,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[np.ndarray]:
    """Pose images (height, width, 3) uint8 of frames start .. stop-1, one at a time (for streaming)."""
    stop = motion.num_frames if stop is None else min(stop, motion.num_frames)
    for t in range(start, stop):
        yield pose_image(motion, t, width, height)


def pose_image(motion: Motion, index: int, width: int, height: int) -> np.ndarray:
    """The pose image (height, width, 3) uint8 of one frame."""
    verts = project_points(motion.mesh[index], motion.pose[index], motion.ref_trans_mat, width, height)
    return draw_pose_image(verts, width, height)


def reference_pose_image(motion: Motion, width: int, height: int) -> np.ndarray:
    """The reference face's own pose image, drawn from its MediaPipe landmarks as the original does."""
    return draw_reference_pose(motion.ref_landmarks, width, height)


def relative_poses(transforms: np.ndarray, base_index: int = 0) -> np.ndarray:
    """Poses (T, 6) of facial transformation matrices (T, 4, 4) relative to frame `base_index`:
    pose_t = inverse(T_base) @ T_t as rx, ry, rz (deg), tx, ty, tz, so that `ref_trans_mat @ pose_t`
    moves another face the way this one moved."""
    transforms = np.asarray(transforms, dtype=np.float64)
    relative = np.linalg.inv(transforms[base_index])[None] @ transforms
    return np.concatenate([measured_rotation_to_euler(relative[:, :3, :3]), relative[:, :3, 3]], axis=-1)


def most_neutral_frame(blendshapes: np.ndarray, names: tuple[str, ...] = ()) -> int:
    """Index of the frame with the least expression: lowest sum of blendshape scores (the `_neutral`
    category, when named, is left out since it is not an expression)."""
    scores = np.asarray(blendshapes, dtype=np.float64)
    if names and "_neutral" in names:
        scores = np.delete(scores, names.index("_neutral"), axis=1)
    return int(np.argmin(scores.sum(axis=1)))


def blink_channel(blendshapes: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
    """Mean of the two eye-blink blendshapes per frame, or None when the names are unknown."""
    if not all(name in names for name in BLINK_BLENDSHAPES):
        return None
    columns = [names.index(name) for name in BLINK_BLENDSHAPES]
    return np.asarray(blendshapes, dtype=np.float32)[:, columns].mean(axis=1)


def driver_head_pose(transforms: np.ndarray, ref_trans_mat: np.ndarray,
                     smooth: int = DRIVER_SMOOTH_WINDOW) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The original's vid2vid head pose of the driving frames' facial transformation matrices (F, 4, 4).

    Returns (pose, smoothed, matrices), float64: pose (F, 6) = the driving head's absolute rotation (extrinsic
    x, y, z degrees of the measured matrix) and its translation since frame 0 added to the reference's
    translation; smoothed = centred moving average of width `smooth` (no damping, angles averaged as numbers);
    matrices (F, 4, 4) = the smoothed poses as camera transforms (used without `ref_trans_mat`).
    """
    transforms = np.asarray(transforms, dtype=np.float64)
    translation = transforms[:, :3, 3]
    pose = np.empty((transforms.shape[0], 6))
    pose[:, :3] = measured_rotation_to_euler(transforms[:, :3, :3])
    pose[:, 3:] = (translation - translation[0]) + np.asarray(ref_trans_mat, dtype=np.float64)[:3, 3]
    smoothed = moving_average(pose, smooth, dtype=np.float64)
    return pose, smoothed, pose_to_matrix(smoothed)


def retargeted_meshes(meshes: np.ndarray, neutral: int, ref_mesh: np.ndarray) -> np.ndarray:
    """(F, 468, 3) float64: each driving mesh minus the neutral one, plus the reference mesh (in this order)."""
    meshes = np.asarray(meshes, dtype=np.float64)
    return (meshes - meshes[neutral]) + np.asarray(ref_mesh, dtype=np.float64)


def motion_from_face_track(reference: FaceObservation, track: FaceTrack, pose_mode: str = "driver") -> Motion:
    """vid2vid motion: the driving face's expression and head pose transferred onto the reference face.

    Frames are the track's (at its fps); resample with `Motion.resampled` for another rate. `pose_mode`:
    'driver' (the original's, see the module docstring) or 'relative'.
    """
    if pose_mode not in POSE_MODES:
        raise ValueError(f"pose_mode must be one of {POSE_MODES}, got {pose_mode!r}")
    neutral = most_neutral_frame(track.blendshapes, track.blendshape_names)
    meshes = retargeted_meshes(track.mesh3d, neutral, reference.mesh3d)
    if pose_mode == "driver":
        _, _, cameras = driver_head_pose(track.transforms, reference.transform)
        # The Motion contract projects through the reference's matrix: express the camera transforms relative to it.
        pose = matrix_to_pose(np.linalg.inv(reference.transform)[None] @ cameras)
    else:
        pose = relative_poses(track.transforms, 0)
    extra = {}
    blink = blink_channel(track.blendshapes, track.blendshape_names)
    if blink is not None:
        extra["blink"] = blink
    return motion_from_meshes(reference, meshes, pose, track.fps, extra)


def with_pose(motion: Motion, pose: np.ndarray) -> Motion:
    """The same expression with another head-pose track (same number of frames)."""
    return Motion(
        mesh=motion.mesh,
        pose=pose,
        fps=motion.fps,
        ref_trans_mat=motion.ref_trans_mat,
        ref_landmarks=motion.ref_landmarks,
        extra=motion.extra,
    )
