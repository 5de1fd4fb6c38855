"""Head pose <-> matrices, and projection of the canonical mesh into the image, as the original computes it.

A pose is 6 numbers: rx, ry, rz in degrees (rotations about the fixed x, then y, then z axis, i.e. SciPy's
`Rotation.from_euler('xyz')`) and a translation tx, ty, tz. A frame's camera-space points are
`ref_trans_mat @ pose_matrix @ [x, y, z, 1]`: the pose moves the face in canonical space, the reference face's
facial transformation matrix places it in front of the camera. The perspective step reproduces the original's
float32 constants and its `B * c_z` divisor, so `project_points` matches the original to float64 rounding.
"""

from __future__ import annotations

import numpy as np

VERTICAL_FOV_DEG = 63.0
NEAR = 1.0
FAR = 10000.0


def euler_to_matrix(angles_deg: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from extrinsic x-y-z Euler angles in degrees (..., 3): R = Rz @ Ry @ Rx."""
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    cx, cy, cz = np.cos(angles[..., 0]), np.cos(angles[..., 1]), np.cos(angles[..., 2])
    sx, sy, sz = np.sin(angles[..., 0]), np.sin(angles[..., 1]), np.sin(angles[..., 2])
    out = np.empty(angles.shape[:-1] + (3, 3))
    out[..., 0, 0] = cz * cy
    out[..., 0, 1] = cz * sy * sx - sz * cx
    out[..., 0, 2] = cz * sy * cx + sz * sx
    out[..., 1, 0] = sz * cy
    out[..., 1, 1] = sz * sy * sx + cz * cx
    out[..., 1, 2] = sz * sy * cx - cz * sx
    out[..., 2, 0] = -sy
    out[..., 2, 1] = cy * sx
    out[..., 2, 2] = cy * cx
    return out


def matrix_to_euler(rotation: np.ndarray) -> np.ndarray:
    """Extrinsic x-y-z Euler angles in degrees (..., 3) of rotation matrices (..., 3, 3); inverse of
    `euler_to_matrix` for |ry| < 90 degrees (at the gimbal lock rx absorbs the whole roll)."""
    r = np.asarray(rotation, dtype=np.float64)
    ry = np.arcsin(np.clip(-r[..., 2, 0], -1.0, 1.0))
    locked = np.abs(r[..., 2, 0]) > 1.0 - 1e-12
    rx = np.where(locked, np.arctan2(-r[..., 1, 2], r[..., 1, 1]), np.arctan2(r[..., 2, 1], r[..., 2, 2]))
    rz = np.where(locked, 0.0, np.arctan2(r[..., 1, 0], r[..., 0, 0]))
    return np.rad2deg(np.stack([rx, ry, rz], axis=-1))


def quaternion_from_matrix(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as (x, y, z, w) of 3x3 matrices (..., 3, 3) taken as they are, the way SciPy
    1.11 does it: MediaPipe's float32 matrices are orthonormal only to about 1e-7, and this (not an SVD
    re-orthonormalisation) is what the original's angles come from."""
    m = np.asarray(rotation, dtype=np.float64)
    flat = m.reshape(-1, 3, 3)
    out = np.empty((flat.shape[0], 4))
    for n, r in enumerate(flat):
        trace = r[0, 0] + r[1, 1] + r[2, 2]
        choice = int(np.argmax([r[0, 0], r[1, 1], r[2, 2], trace]))
        q = np.empty(4)
        if choice == 3:
            q[:] = (r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1], 1.0 + trace)
        else:
            i, j, k = choice, (choice + 1) % 3, (choice + 2) % 3
            q[i] = 1.0 - trace + 2.0 * r[i, i]
            q[j] = r[j, i] + r[i, j]
            q[k] = r[k, i] + r[i, k]
            q[3] = r[k, j] - r[j, k]
        out[n] = q / np.linalg.norm(q)
    return out.reshape(m.shape[:-2] + (4,))


def quaternion_to_matrix(quaternion: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) = (x, y, z, w)."""
    x, y, z, w = np.moveaxis(np.asarray(quaternion, dtype=np.float64), -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=-2)


def measured_rotation_to_euler(rotation: np.ndarray) -> np.ndarray:
    """Extrinsic x-y-z Euler angles in degrees (..., 3) of measured (nearly orthonormal) rotation matrices,
    through a quaternion as the original's SciPy computes them."""
    return matrix_to_euler(quaternion_to_matrix(quaternion_from_matrix(rotation)))


def pose_to_matrix(pose: np.ndarray) -> np.ndarray:
    """4x4 rigid transforms (..., 4, 4) from poses (..., 6) = rx, ry, rz (deg), tx, ty, tz."""
    pose = np.asarray(pose, dtype=np.float64)
    out = np.zeros(pose.shape[:-1] + (4, 4))
    out[..., :3, :3] = euler_to_matrix(pose[..., :3])
    out[..., :3, 3] = pose[..., 3:6]
    out[..., 3, 3] = 1.0
    return out


def matrix_to_pose(matrix: np.ndarray) -> np.ndarray:
    """Poses (..., 6) of rigid 4x4 transforms (..., 4, 4) (any scale in the 3x3 part is divided out)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    linear = matrix[..., :3, :3]
    scale = np.linalg.norm(linear[..., :, 0], axis=-1)[..., None, None]
    return np.concatenate([matrix_to_euler(linear / scale), matrix[..., :3, 3]], axis=-1)


def perspective_matrix(width: int, height: int) -> np.ndarray:
    """The original's 4x4 float32 projection matrix for row vectors (`[c_x, c_y, c_z, 1] @ P`).

    P00 = f / aspect, P11 = -f (y flipped), P22 = (far + near) / (near - far), P23 = near * far / (near - far),
    P32 = -1, all stored as float32 (f = 1 / tan(63 deg / 2) computed in float64 first).
    """
    f = 1.0 / np.tan(np.pi / 180.0 * VERTICAL_FOV_DEG / 2.0)
    aspect = width / height
    out = np.zeros((4, 4), dtype=np.float32)
    out[0, 0] = f / aspect
    out[1, 1] = -np.float32(f)
    out[2, 2] = (FAR + NEAR) / (NEAR - FAR)
    out[2, 3] = NEAR * FAR / (NEAR - FAR)
    out[3, 2] = -1.0
    return out


def project_points(
    points3d: np.ndarray,
    pose: np.ndarray,
    ref_trans_mat: np.ndarray,
    width: int,
    height: int,
) -> np.ndarray:
    """Pixel coordinates (x, y) of canonical-space points under a head pose, exactly as the original.

    points3d: (N, 3) or (T, N, 3) canonical mesh (reference mesh + expression offsets).
    pose: (6,) or (T, 6) rx, ry, rz in degrees, tx, ty, tz; a (4, 4) or (T, 4, 4) matrix is used as is.
    ref_trans_mat: (4, 4) facial transformation matrix of the reference face.
    Returns float64 (N, 2) or (T, N, 2) in pixels of a width x height image (may lie outside it).
    """
    points3d = np.asarray(points3d, dtype=np.float64)
    pose = np.asarray(pose)
    single = points3d.ndim == 2
    if single:
        points3d = points3d[None]
    matrices = pose.astype(np.float64) if pose.shape[-2:] == (4, 4) else pose_to_matrix(pose)
    if matrices.ndim == 2:
        matrices = np.broadcast_to(matrices, (points3d.shape[0], 4, 4))
    if matrices.shape[0] != points3d.shape[0]:
        raise ValueError(f"{points3d.shape[0]} meshes but {matrices.shape[0]} poses")

    camera = np.asarray(ref_trans_mat, dtype=np.float64) @ matrices  # (T, 4, 4)
    homogeneous = np.concatenate([points3d, np.ones(points3d.shape[:-1] + (1,))], axis=-1)
    c = homogeneous @ np.swapaxes(camera, -1, -2)  # (T, N, 4) camera-space points
    p = perspective_matrix(width, height).astype(np.float64)
    # Row-vector product [c] @ P: out_0 = P00 c_x, out_1 = P11 c_y, out_3 = P23 c_z (P33 = 0).
    w = c[..., 2] * p[2, 3]
    with np.errstate(divide="ignore", invalid="ignore"):  # points on the camera plane: inf/NaN, never drawn
        u = c[..., 0] * p[0, 0] / w
        v = c[..., 1] * p[1, 1] / w
    verts = np.stack([(u + 1.0) / 2.0 * width, (v + 1.0) / 2.0 * height], axis=-1)
    return verts[0] if single else verts
