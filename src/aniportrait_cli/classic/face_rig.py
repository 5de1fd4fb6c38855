"""A hand-built articulation rig on MediaPipe's canonical face mesh: jaw, lip shape and eyelids.

Given the reference face in canonical space (468 x 3, centimetres, y up, z towards the viewer), the rig turns a
few articulation controls per frame into a deformed mesh:

* `mouth_gap`: the inner-lip gap at the lip centre, in face heights (0 = lips touching), measured on the
  deformed face as the lip-sync check measures a video (the chin goes down with the jaw, so the face gets
  taller as the mouth opens). It is reached by a jaw rotation about an axis through the jaw joints (in front
  of the ears), applied with per-vertex weights: full on the lower lip and chin, fading towards the mouth
  corners and up the cheeks. Being absolute, a reference photo with parted lips still closes its mouth for
  gap 0.
* `lip_round`: -1 spread (smile-like, /i/) .. +1 rounded and pushed forward (/u/, /o/).
* `blink`: 0 open .. 1 closed; the upper lid meets the lower one, the skin above follows.

All weights come from the reference mesh's own geometry, so the rig fits any face MediaPipe measures.
"""

from __future__ import annotations

import numpy as np

from aniportrait_cli.classic import topology as topo


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((np.asarray(x, dtype=np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class FaceRig:
    """Deforms one reference face; build once, call `deform` for whole tracks (vectorised over frames)."""

    # Share of the eyelid gap the upper lid travels when closing (the lower lid rises by the rest).
    UPPER_LID_SHARE = 0.85

    def __init__(self, ref_mesh: np.ndarray):
        mesh = np.asarray(ref_mesh, dtype=np.float64)
        if mesh.shape != (468, 3):
            raise ValueError(f"reference mesh has shape {mesh.shape}, expected (468, 3)")
        self.ref_mesh = mesh
        self.face_height = float(np.linalg.norm(mesh[topo.FOREHEAD_TOP] - mesh[topo.CHIN]))

        self._pivot = self._jaw_pivot(mesh)
        self.jaw_weights = self._jaw_weights(mesh)
        self.lip_weights = self._lip_weights(mesh)
        self._mouth_center = 0.5 * (mesh[topo.MOUTH_CORNERS[0]] + mesh[topo.MOUTH_CORNERS[1]])
        self.blink_offsets = self._blink_offsets(mesh)
        self._angles, self._gap_ratios = self._gap_table()

    # --- measurements ---------------------------------------------------------------------------------

    @staticmethod
    def _gap(meshes: np.ndarray) -> np.ndarray:
        """Inner-lip gap (cm) at the lip centre, averaged over the three central vertex pairs."""
        pairs = ((13, 14), (82, 87), (312, 317))
        return np.mean([meshes[:, u, 1] - meshes[:, l, 1] for u, l in pairs], axis=0)

    @staticmethod
    def _height(meshes: np.ndarray) -> np.ndarray:
        return np.linalg.norm(meshes[:, topo.FOREHEAD_TOP] - meshes[:, topo.CHIN], axis=-1)

    def mouth_gap(self, meshes: np.ndarray) -> np.ndarray:
        """Inner-lip gap of meshes (T, 468, 3) in face heights (each mesh's own)."""
        meshes = np.asarray(meshes, dtype=np.float64)
        return self._gap(meshes) / self._height(meshes)

    # --- construction ---------------------------------------------------------------------------------

    @staticmethod
    def _jaw_pivot(mesh: np.ndarray) -> np.ndarray:
        """Jaw joint axis point: between the ears, a little below and in front of them."""
        ears = 0.5 * (mesh[topo.EAR_LEFT_OF_IMAGE] + mesh[topo.EAR_RIGHT_OF_IMAGE])
        height = np.linalg.norm(mesh[topo.FOREHEAD_TOP] - mesh[topo.CHIN])
        return ears + np.array([0.0, -0.06, 0.06]) * height

    def _jaw_weights(self, mesh: np.ndarray) -> np.ndarray:
        """How much each vertex follows the jaw: 1 on the lower lip and chin, 0 above the mouth line."""
        x, y = mesh[:, 0], mesh[:, 1]
        left, right = mesh[topo.MOUTH_CORNERS[0]], mesh[topo.MOUTH_CORNERS[1]]
        x_mid = 0.5 * (left[0] + right[0])
        half_width = 0.5 * abs(right[0] - left[0])
        dx = np.abs(x - x_mid)

        # Mouth line: midway between the inner lips across the mouth, then rising from the corners towards
        # the jaw joints, so the cheeks above it stay and the jaw below it moves.
        upper = mesh[list(topo.LIPS_INNER_UPPER)]
        lower = mesh[list(topo.LIPS_INNER_LOWER)]
        order_u, order_l = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
        mid_line = 0.5 * (
            np.interp(x, upper[order_u, 0], upper[order_u, 1]) + np.interp(x, lower[order_l, 0], lower[order_l, 1])
        )
        corner_y = 0.5 * (left[1] + right[1])
        slope = (self._pivot[1] - corner_y) / max(abs(mesh[topo.EAR_RIGHT_OF_IMAGE, 0] - x_mid) - half_width, 1e-6)
        outside_line = corner_y + slope * np.maximum(dx - half_width, 0.0)
        line = np.where(dx <= half_width, mid_line, outside_line)
        below = line - y

        # Sharp split between the lips, widening into a soft band over the cheeks.
        band = 0.05 + 1.2 * _smoothstep(0.8 * half_width, 1.8 * half_width, dx)
        weight = _smoothstep(0.0, 1.0, below / band)

        # The lower lip moves less towards the corners; the chin below it moves as one piece.
        lip_thickness = max(mid_line[topo.LOWER_LIP_CENTER] - y[17], 1e-3)
        lateral = 1.0 - 0.55 * np.clip(dx / half_width, 0.0, 1.0) ** 2
        chin_part = _smoothstep(0.6 * lip_thickness, 2.0 * lip_thickness, below)
        weight = weight * (lateral + (1.0 - lateral) * chin_part)

        weight[list(topo.LIPS_INNER_UPPER)] = 0.0
        weight[list(topo.LIPS_INNER_LOWER[1:-1])] = lateral[list(topo.LIPS_INNER_LOWER[1:-1])]
        weight[list(topo.INNER_MOUTH_CORNERS)] = 0.45
        weight[list(topo.MOUTH_CORNERS)] = 0.4
        return weight

    def _lip_weights(self, mesh: np.ndarray) -> np.ndarray:
        """1 on the lips, fading over the skin around them (for rounding / spreading)."""
        left, right = mesh[topo.MOUTH_CORNERS[0]], mesh[topo.MOUTH_CORNERS[1]]
        center = 0.5 * (left + right)
        half_width = 0.5 * abs(right[0] - left[0])
        half_height = 0.5 * abs(mesh[0, 1] - mesh[17, 1])
        ex = (mesh[:, 0] - center[0]) / half_width
        ey = (mesh[:, 1] - center[1]) / half_height
        radius = np.sqrt(ex**2 + ey**2)
        # Beyond the lips the skin follows less and less, over a bit less than one mouth half-width.
        return 1.0 - _smoothstep(1.0, 1.8, radius)

    def _blink_offsets(self, mesh: np.ndarray) -> np.ndarray:
        """Per-vertex displacement (468, 3) that closes both eyes; skin above the lid follows, fading."""
        offsets = np.zeros_like(mesh)
        share = self.UPPER_LID_SHARE
        lid_vertices = {v for upper, lower in topo.EYES for v in upper + lower}
        others = np.array([v for v in range(mesh.shape[0]) if v not in lid_vertices])
        for upper, lower in topo.EYES:
            up = np.array(upper[1:-1])
            lo = np.array(lower[1:-1])
            gap = mesh[lo] - mesh[up]
            offsets[up] = share * gap
            offsets[lo] = -(1.0 - share) * gap

            eye_width = np.linalg.norm(mesh[upper[0]] - mesh[upper[-1]])
            for ring, ring_offsets, reach in ((up, share * gap, 0.28), (lo, -(1.0 - share) * gap, 0.15)):
                dist = np.linalg.norm(mesh[others, None, :] - mesh[None, ring, :], axis=2)  # (V, 7)
                inverse = 1.0 / np.maximum(dist, 1e-6) ** 2
                direction = (inverse[:, :, None] * ring_offsets[None]).sum(1) / inverse.sum(1, keepdims=True)
                # Only the skin on the far side of the lid from the eye opening follows it.
                eye_mid_y = 0.5 * (mesh[up, 1].mean() + mesh[lo, 1].mean())
                side = mesh[others, 1] > eye_mid_y if ring is up else mesh[others, 1] < eye_mid_y
                falloff = np.exp(-((dist.min(axis=1) / (reach * eye_width)) ** 2)) * side
                offsets[others] += falloff[:, None] * direction
        return offsets

    def _gap_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Jaw angles (relative to the reference) and the mouth gaps they give, for inverting gap -> angle.
        The relation is not linear (the rotation's sine, and the face height growing with the chin), so it
        is tabulated over the whole range, from lips pressed to the widest opening."""
        angles = np.linspace(-0.4, 0.8, 241)
        ratios = self.mouth_gap(self._rotate_jaw(self.ref_mesh[None].repeat(len(angles), 0), angles))
        rising = np.concatenate([[True], np.diff(ratios) > 0])
        end = len(angles) if rising.all() else int(np.argmin(rising))  # keep the increasing part
        return angles[:end], ratios[:end]

    # --- deformation ----------------------------------------------------------------------------------

    def _rotate_jaw(self, meshes: np.ndarray, angle: np.ndarray) -> np.ndarray:
        """Rotate each vertex about the jaw axis (x through the pivot) by angle * its jaw weight; angle > 0 opens."""
        theta = angle[:, None] * self.jaw_weights[None, :]  # (T, V)
        cos, sin = np.cos(theta), np.sin(theta)
        dy = meshes[..., 1] - self._pivot[1]
        dz = meshes[..., 2] - self._pivot[2]
        out = meshes.copy()
        out[..., 1] = self._pivot[1] + dy * cos - dz * sin
        out[..., 2] = self._pivot[2] + dy * sin + dz * cos
        return out

    def deform(
        self,
        mouth_gap: np.ndarray,
        lip_round: np.ndarray | None = None,
        blink: np.ndarray | None = None,
    ) -> np.ndarray:
        """Meshes (T, 468, 3) float32 for per-frame controls (T,) (see the module docstring)."""
        mouth_gap = np.asarray(mouth_gap, dtype=np.float64).reshape(-1)
        frames = mouth_gap.shape[0]
        lip_round = np.zeros(frames) if lip_round is None else np.asarray(lip_round, dtype=np.float64).reshape(-1)
        blink = np.zeros(frames) if blink is None else np.asarray(blink, dtype=np.float64).reshape(-1)
        meshes = np.repeat(self.ref_mesh[None], frames, axis=0)

        # Lip shape: rounding narrows the mouth and pushes the lips forward, spreading widens it.
        rounding = np.clip(lip_round, 0.0, 1.0)[:, None] * self.lip_weights[None]
        spreading = np.clip(-lip_round, 0.0, 1.0)[:, None] * self.lip_weights[None]
        width_scale = 1.0 - 0.22 * rounding + 0.10 * spreading
        meshes[..., 0] = self._mouth_center[0] + (meshes[..., 0] - self._mouth_center[0]) * width_scale
        meshes[..., 2] += self.face_height * (0.02 * rounding - 0.005 * spreading)

        # Jaw: the angle that puts the lip-centre gap where it is asked.
        angle = np.interp(np.maximum(mouth_gap, 0.0), self._gap_ratios, self._angles)
        meshes = self._rotate_jaw(meshes, angle)

        meshes += np.clip(blink, 0.0, 1.0)[:, None, None] * self.blink_offsets[None]
        return meshes.astype(np.float32)
