"""MediaPipe's canonical face mesh and its face-geometry step, recomputed from screen landmarks.

The Python Tasks API returns the 4x4 facial transformation matrix but not the face in MediaPipe's canonical
metric space (468 x 3), which AniPortrait animates. Both come from the same computation (MediaPipe's
`geometry_pipeline`): landmarks are placed in a metric 3D space seen by a 63-degree perspective camera, and a
weighted orthogonal Procrustes fit against the canonical mesh gives the pose; the runtime landmarks brought
back through the inverse pose are the canonical-space mesh. We re-implement it in float64 from the metadata
shipped inside the landmarker bundle (`geometry_pipeline_metadata_landmarks.binarypb`).
"""

from __future__ import annotations

import functools
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.landmarks.protobuf_wire import Message

GEOMETRY_METADATA_MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"
NUM_MESH_VERTICES = 468

# MediaPipe's face-landmarker geometry camera (environment: top-left origin).
VERTICAL_FOV_DEG = 63.0
NEAR = 1.0
FAR = 10000.0


@dataclass(frozen=True)
class GeometryMetadata:
    """The canonical face model of MediaPipe's face geometry pipeline.

    canonical_mesh      (468, 3) float64  metric canonical face (cm), y up, z towards the viewer
    uv                  (468, 2) float64  texture coordinates of the canonical mesh
    triangles           (898, 3) int64    0-based vertex indices, counter-clockwise
    procrustes_weights  (468,)   float64  landmark weights of the Procrustes fit (33 non-zero)
    input_source        int               1 = FACE_LANDMARK_PIPELINE
    """

    canonical_mesh: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    procrustes_weights: np.ndarray
    input_source: int


def parse_geometry_metadata(data: bytes) -> GeometryMetadata:
    """Decode a `GeometryPipelineMetadata` protobuf (packed or unpacked repeated fields)."""
    root = Message(data)
    mesh = root.message(1)
    vertex_type = mesh.varint(1)
    primitive_type = mesh.varint(2)
    if vertex_type != 0 or primitive_type != 0:
        raise ValueError(f"unsupported canonical mesh (vertex_type {vertex_type}, primitive_type {primitive_type})")
    vertices = np.asarray(mesh.floats(3), dtype=np.float32).astype(np.float64)
    if vertices.size % 5:
        raise ValueError(f"vertex buffer of {vertices.size} floats is not a multiple of 5 (x, y, z, u, v)")
    vertices = vertices.reshape(-1, 5)
    indices = np.asarray(mesh.varints(4), dtype=np.int64)
    if indices.size % 3:
        raise ValueError(f"index buffer of {indices.size} entries is not a list of triangles")

    weights = np.zeros(vertices.shape[0], dtype=np.float64)
    for entry in root.messages(2):
        weights[entry.varint(1)] = np.float32(entry.float(2))
    return GeometryMetadata(
        canonical_mesh=vertices[:, :3].copy(),
        uv=vertices[:, 3:].copy(),
        triangles=indices.reshape(-1, 3),
        procrustes_weights=weights,
        input_source=root.varint(3),
    )


def default_model_path() -> Path:
    """The face landmarker bundle shipped inside the package."""
    return Path(__file__).resolve().parent / "assets" / "face_landmarker.task"


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> GeometryMetadata:
    with zipfile.ZipFile(path) as bundle:
        return parse_geometry_metadata(bundle.read(GEOMETRY_METADATA_MEMBER))


def load_geometry_metadata(task_path: str | os.PathLike | None = None) -> GeometryMetadata:
    """Read the canonical face model from a `.task` bundle (default: the packaged landmarker)."""
    return _load_cached(str(Path(task_path) if task_path is not None else default_model_path()))


def canonical_mesh() -> np.ndarray:
    """MediaPipe's canonical metric face mesh, (468, 3) float64."""
    return load_geometry_metadata().canonical_mesh.copy()


def mesh_triangles() -> np.ndarray:
    """Triangles of the canonical mesh, (898, 3) int64 vertex indices."""
    return load_geometry_metadata().triangles.copy()


# ---------------------------------------------------------------------------------------------------------
# The face-geometry step.


def _frustum(width: int, height: int) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of the camera's near plane."""
    height_at_near = 2.0 * NEAR * np.tan(0.5 * np.deg2rad(VERTICAL_FOV_DEG))
    width_at_near = width * height_at_near / height
    return -0.5 * width_at_near, 0.5 * width_at_near, -0.5 * height_at_near, 0.5 * height_at_near


def solve_weighted_procrustes(source: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """4x4 similarity transform (scale * rotation, translation) that maps `source` (N,3) onto `target` (N,3)
    minimising the weighted squared error, MediaPipe's `SolveWeightedOrthogonalProblem`."""
    sqrt_w = np.sqrt(weights)
    ws = source.T * sqrt_w  # (3, N) weighted sources
    wt = target.T * sqrt_w
    total_weight = float(np.sum(weights))
    source_center = (ws * sqrt_w).sum(axis=1) / total_weight
    centered_ws = ws - np.outer(source_center, sqrt_w)

    design = wt @ centered_ws.T
    u, _, vt = np.linalg.svd(design)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        u[:, 2] *= -1.0
    rotation = u @ vt

    scale = np.sum((rotation @ centered_ws) * wt) / np.sum(centered_ws * ws)
    rotation_and_scale = scale * rotation
    translation = ((wt - rotation_and_scale @ ws) * sqrt_w).sum(axis=1) / total_weight

    transform = np.eye(4)
    transform[:3, :3] = rotation_and_scale
    transform[:3, 3] = translation
    return transform


def estimate_face_geometry(
    landmarks_normed: np.ndarray,
    image_size: tuple[int, int],
    metadata: GeometryMetadata | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Canonical-space mesh and facial transformation matrix of one face, like MediaPipe's face geometry.

    landmarks_normed: (>=468, 3) normalised image landmarks of the face landmarker (x, y in [0, 1] of the
        width/height, z on the scale of x). Only the first 468 (the mesh, no irises) are used.
    image_size: (width, height) of the image the landmarks were measured on.
    Returns (mesh3d (468, 3) float64, transform (4, 4) float64); `transform` maps canonical metric
    coordinates to the camera space, `mesh3d` is the face brought back into the canonical pose.
    """
    metadata = metadata or load_geometry_metadata()
    canonical = metadata.canonical_mesh
    weights = metadata.procrustes_weights
    width, height = image_size
    left, right, bottom, top = _frustum(width, height)

    screen = np.asarray(landmarks_normed, dtype=np.float64)[:NUM_MESH_VERTICES, :3].copy()
    if screen.shape != (NUM_MESH_VERTICES, 3):
        raise ValueError(f"need {NUM_MESH_VERTICES} landmarks, got shape {np.shape(landmarks_normed)}")

    # ProjectXY: top-left origin -> bottom-left, then onto the near plane (z keeps the x scale).
    screen[:, 1] = 1.0 - screen[:, 1]
    screen *= np.array([right - left, top - bottom, right - left])
    screen[:, :2] += np.array([left, bottom])
    depth_offset = screen[:, 2].mean()

    def scale_of(points: np.ndarray) -> float:
        return float(np.linalg.norm(solve_weighted_procrustes(canonical, points, weights)[:3, 0]))

    def to_metric(points: np.ndarray, scale: float) -> np.ndarray:
        points = points.copy()
        points[:, 2] = (points[:, 2] - depth_offset + NEAR) / scale  # MoveAndRescaleZ
        points[:, :2] *= points[:, 2:3] / NEAR  # UnprojectXY
        points[:, 2] *= -1.0  # ChangeHandedness
        return points

    # Two passes: the first scale comes from the flat projection (its z is only relative), the second
    # from the unprojected points; their product fixes the metric scale.
    flat = screen * np.array([1.0, 1.0, -1.0])
    first_scale = scale_of(flat)
    second_scale = scale_of(to_metric(screen, first_scale))
    metric = to_metric(screen, first_scale * second_scale)

    transform = solve_weighted_procrustes(canonical, metric, weights)
    homogeneous = np.concatenate([metric, np.ones((NUM_MESH_VERTICES, 1))], axis=1)
    mesh3d = (np.linalg.inv(transform) @ homogeneous.T).T[:, :3]
    return mesh3d, transform
