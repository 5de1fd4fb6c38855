"""Motion -> frames for the classic engine: the reference photo itself, warped by the moving face mesh.

Per frame the reference mesh and the frame's mesh are both projected into the image exactly as the neural
engine's landmark images are (reference pose = zero pose), and the photo is warped piecewise-affinely over:

* the 898 triangles of MediaPipe's face mesh (drawn far to near, so a turning face hides its far side),
* a "halo" band around the face outline (hair, ears, the neck just under the chin) that follows the outline,
* an outer band from the halo to a ring of fixed anchors (background above and beside the head, the torso
  below it), outside which nothing moves.

Where the lips part, the mouth interior is painted (`mouth.MouthPainter`). The renderer is built once and then
renders one frame per call, so a video is produced as a stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from aniportrait_cli.classic import topology as topo
from aniportrait_cli.classic.mouth import MouthPainter
from aniportrait_cli.classic.warp import PiecewiseAffineWarp
from aniportrait_cli.landmarks.face_geometry import mesh_triangles
from aniportrait_cli.landmarks.projection import pose_to_matrix, project_points
from aniportrait_cli.motion import Motion

ProgressCallback = Callable[[int, int | None], None]

# Ring radii, as multiples of each outline point's distance from the face centre, towards the top of the head
# and towards the chin (blended in between). The halo moves with the outline; the anchors never move.
HALO_SCALE = {"top": 1.4, "bottom": 1.1}
ANCHOR_SCALE = {"top": 2.1, "bottom": 1.45}
# How much of the outline's motion the halo follows (the neck under the chin follows the head only partly).
HALO_FOLLOW = {"top": 1.0, "bottom": 0.6}


def _ring_triangles(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Triangles of the band between two closed rings of equal length whose points correspond."""
    n = len(inner)
    nxt = np.roll(np.arange(n), -1)
    first = np.stack([inner, inner[nxt], outer], axis=1)
    second = np.stack([outer, inner[nxt], outer[nxt]], axis=1)
    return np.concatenate([first, second])


class ClassicRenderer:
    """Renders frames of one reference portrait.

    image: (H, W, 3) uint8 RGB reference photo; frames come out at this size.
    ref_mesh: (468, 3) the reference face in canonical space (`FaceObservation.mesh3d`).
    ref_trans_mat: (4, 4) its facial transformation matrix (`FaceObservation.transform`), measured on `image`
        (or on a copy with the same aspect ratio).
    """

    def __init__(self, image: np.ndarray, ref_mesh: np.ndarray, ref_trans_mat: np.ndarray):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"reference image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
        self.image = np.ascontiguousarray(image)
        self.height, self.width = image.shape[:2]
        self.ref_mesh = np.asarray(ref_mesh, dtype=np.float64)
        self.ref_trans_mat = np.asarray(ref_trans_mat, dtype=np.float64)
        self.ref_points = self.project(self.ref_mesh, np.zeros(6))

        oval = np.array(topo.FACE_OVAL)
        self._oval = oval
        outline = self.ref_points[oval]
        center = outline.mean(axis=0)
        radial = outline - center
        # 0 towards the top of the head, 1 towards the chin (the image's vertical; the face is upright enough).
        downness = np.clip(0.5 + 0.5 * radial[:, 1] / np.maximum(np.linalg.norm(radial, axis=1), 1e-6), 0.0, 1.0)
        blend = downness**2 * (3.0 - 2.0 * downness)

        def mix(values: dict[str, float]) -> np.ndarray:
            return values["top"] * (1.0 - blend) + values["bottom"] * blend

        self._halo_ref = center + radial * mix(HALO_SCALE)[:, None]
        self._anchors = center + radial * mix(ANCHOR_SCALE)[:, None]
        self._halo_follow = mix(HALO_FOLLOW)[:, None]

        n_mesh = self.ref_mesh.shape[0]
        n_ring = len(oval)
        halo_ids = n_mesh + np.arange(n_ring)
        anchor_ids = n_mesh + n_ring + np.arange(n_ring)
        self._face_triangles = mesh_triangles()
        corners = self.ref_points[self._face_triangles]
        edge1, edge2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        self._ref_winding = np.sign(edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0])
        all_front = np.ones(len(self._face_triangles), dtype=bool)
        self._ref_reach = np.clip(self._outline_reach(self.ref_points, all_front)[2], 0.5, None)
        band_triangles = np.concatenate([_ring_triangles(oval, halo_ids), _ring_triangles(halo_ids, anchor_ids)])
        triangles = np.concatenate([band_triangles, self._face_triangles])
        self._num_band = len(band_triangles)

        source_points = np.concatenate([self.ref_points, self._halo_ref, self._anchors])
        x0, y0 = np.floor(self._anchors.min(axis=0)).astype(int) - 1
        x1, y1 = np.ceil(self._anchors.max(axis=0)).astype(int) + 2
        self.warp = PiecewiseAffineWarp(self.image, source_points, triangles, (x0, y0, x1, y1))
        self.painter = MouthPainter(self.image, self.ref_points)

    @classmethod
    def from_face(cls, image: np.ndarray, face) -> ClassicRenderer:
        """From a reference image and its `landmarks.extractor.FaceObservation` (measured on that image)."""
        return cls(image, face.mesh3d, face.transform)

    @property
    def anchors(self) -> np.ndarray:
        """(36, 2) pixel positions of the fixed anchor ring; nothing outside it ever changes."""
        return self._anchors.copy()

    # --- geometry -------------------------------------------------------------------------------------

    def project(self, mesh: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """Pixel positions (468, 2) of a canonical mesh under a head pose, in this image."""
        return project_points(mesh, pose, self.ref_trans_mat, self.width, self.height)

    def _front_facing(self, points: np.ndarray) -> np.ndarray:
        """Per face triangle: whether it still faces the camera (same winding as in the reference)."""
        corners = points[self._face_triangles]
        edge1 = corners[:, 1] - corners[:, 0]
        edge2 = corners[:, 2] - corners[:, 0]
        area = edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0]
        return np.sign(area) == self._ref_winding

    def target_points(self, mesh: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All warp vertices of a frame (mesh with its outline moved onto the silhouette, halo, anchors) and
        the face triangles' front-facing flags."""
        points = self.project(mesh, pose)
        front = self._front_facing(points)
        points[self._oval] = self._silhouette_outline(points, front)
        self._tuck_hidden_vertices(points, front)
        halo = self._halo_ref + self._halo_follow * (points[self._oval] - self.ref_points[self._oval])
        return np.concatenate([points, halo, self._anchors]), front

    def _outline_reach(self, points: np.ndarray, front: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(centre, outline offsets from it, per outline vertex: the farthest visible face vertex in its angular
        sector, measured along its ray, as a multiple of the outline vertex's own distance)."""
        visible = np.zeros(points.shape[0], dtype=bool)
        visible[self._face_triangles[front].ravel()] = True
        outline = points[self._oval]
        center = outline.mean(axis=0)
        rel_outline = outline - center
        radius_outline = np.maximum(np.linalg.norm(rel_outline, axis=1), 1e-6)
        angle_outline = np.arctan2(rel_outline[:, 1], rel_outline[:, 0])
        rel = points[visible] - center
        radius = np.linalg.norm(rel, axis=1)
        angle = np.arctan2(rel[:, 1], rel[:, 0])
        delta = np.abs((angle[None, :] - angle_outline[:, None] + np.pi) % (2.0 * np.pi) - np.pi)  # (36, V)
        in_sector = delta < np.pi / len(self._oval)
        reach = np.where(in_sector, radius[None, :] * np.cos(np.minimum(delta, np.pi / 2)), 0.0).max(axis=1)
        return center, rel_outline, reach / radius_outline

    def _silhouette_outline(self, points: np.ndarray, front: np.ndarray) -> np.ndarray:
        """The outline vertices moved along their rays from the face centre onto the silhouette of the visible
        (front-facing) mesh, keeping their reference margin to it.

        MediaPipe's outline runs around the side of the head. When the head turns, cheek vertices project
        beyond it on one side, and on the other side the strip next to it turns away from the camera; either
        way the mesh would fold over the surrounding band and leave a hard cut between face and hair.
        Following the silhouette stretches the band instead; the back-facing strip is then drawn under it.
        """
        center, rel_outline, reach = self._outline_reach(points, front)
        scale = np.clip(reach / self._ref_reach, 0.6, 2.0)
        scale[reach <= 0.0] = 1.0  # nothing visible in that sector: leave the vertex where it projects
        return center + rel_outline * scale[:, None]

    def _tuck_hidden_vertices(self, points: np.ndarray, front: np.ndarray) -> None:
        """Pull vertices that only touch back-facing triangles inside the outline (in place), so the turned-away
        strip of the face never shows through beside the silhouette."""
        visible = np.zeros(points.shape[0], dtype=bool)
        visible[self._face_triangles[front].ravel()] = True
        visible[self._oval] = True
        hidden = np.flatnonzero(~visible)
        if hidden.size == 0:
            return
        outline = points[self._oval]
        center = outline.mean(axis=0)
        rel = outline - center
        angles = np.arctan2(rel[:, 1], rel[:, 0])
        order = np.argsort(angles)
        ring_angles = np.concatenate([angles[order][-1:] - 2 * np.pi, angles[order], angles[order][:1] + 2 * np.pi])
        radii = np.linalg.norm(rel, axis=1)[order]
        ring_radii = np.concatenate([radii[-1:], radii, radii[:1]])
        rel_hidden = points[hidden] - center
        radius = np.linalg.norm(rel_hidden, axis=1)
        limit = 0.97 * np.interp(np.arctan2(rel_hidden[:, 1], rel_hidden[:, 0]), ring_angles, ring_radii)
        scale = np.minimum(1.0, limit / np.maximum(radius, 1e-6))
        points[hidden] = center + rel_hidden * scale[:, None]

    def _draw_order(self, mesh: np.ndarray, pose: np.ndarray, front: np.ndarray) -> np.ndarray:
        """Back-facing face triangles, the bands, then the front-facing face triangles; far to near within
        each group (the camera looks down -z)."""
        camera = self.ref_trans_mat @ pose_to_matrix(np.asarray(pose, dtype=np.float64))
        depth = np.asarray(mesh, dtype=np.float64) @ camera[2, :3] + camera[2, 3]
        face_order = np.argsort(depth[self._face_triangles].mean(axis=1), kind="stable")
        facing = front[face_order]
        return np.concatenate([
            self._num_band + face_order[~facing],
            np.arange(self._num_band),
            self._num_band + face_order[facing],
        ])

    # --- rendering ------------------------------------------------------------------------------------

    def render(self, mesh: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """One frame (H, W, 3) uint8 for a canonical mesh (468, 3) and a head pose (6,)."""
        mesh = np.asarray(mesh, dtype=np.float64)
        pose = np.asarray(pose, dtype=np.float64)
        points, front = self.target_points(mesh, pose)
        frame = self.warp.warp(points, self._draw_order(mesh, pose, front))
        self.painter.paint(frame, points[: mesh.shape[0]])
        return frame

    def frames(self, motion: Motion, progress: ProgressCallback | None = None) -> Iterator[np.ndarray]:
        """Render a whole motion as a stream of frames; `progress(done, total)` after each one."""
        total = motion.num_frames
        for index in range(total):
            yield self.render(motion.mesh[index], motion.pose[index])
            if progress is not None:
                progress(index + 1, total)
