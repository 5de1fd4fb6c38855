"""Piecewise-affine image warping over a triangulation whose vertices move.

Backward mapping: every output pixel inside a moved triangle samples the reference image through that
triangle's affine map (target -> source). Triangles are rasterised into a label image (far ones first, so a
face turning away hides its own far side), and one `cv2.remap` resamples the whole region. Pixels no
triangle covers keep the identity map; callers anchor the outer vertices so those pixels are also the ones
that do not move, which makes the warp continuous (no seams, no holes).
"""

from __future__ import annotations

import cv2
import numpy as np

# Sub-pixel precision of the rasteriser (fixed point with 4 fractional bits).
_SHIFT = 4


class PiecewiseAffineWarp:
    """Warps one source image; the source vertex positions and triangles are fixed at construction.

    source_image: (H, W, C) uint8.
    source_points: (N, 2) pixel positions of the vertices in the source image.
    triangles: (M, 3) vertex indices; they should tile the moving region of the source without overlaps.
    region: (x0, y0, x1, y1) output pixels that may change (the rest is copied from the source).
    """

    def __init__(self, source_image: np.ndarray, source_points: np.ndarray, triangles: np.ndarray, region: tuple[int, int, int, int]):
        self.source = np.ascontiguousarray(source_image)
        self.source_points = np.asarray(source_points, dtype=np.float64)
        self.triangles = np.asarray(triangles, dtype=np.int64)
        height, width = self.source.shape[:2]
        x0, y0, x1, y1 = region
        self.region = (max(0, int(x0)), max(0, int(y0)), min(width, int(x1)), min(height, int(y1)))
        x0, y0, x1, y1 = self.region
        ys, xs = np.mgrid[y0:y1, x0:x1]
        self._grid_x = xs.astype(np.float32)
        self._grid_y = ys.astype(np.float32)
        # Triangle index per region pixel of the last warp (`identity_label` where no triangle covers it).
        self.labels = np.empty(self._grid_x.shape, dtype=np.int32)
        self.identity_label = int(self.triangles.shape[0])
        # Source triangle corners as a (M, 2, 3) matrix of columns, for the per-frame affine solve.
        self._source_corners = np.transpose(self.source_points[self.triangles], (0, 2, 1))

    def affine_maps(self, target_points: np.ndarray) -> np.ndarray:
        """(M + 1, 6) float32 target->source affine coefficients per triangle; the last row is the identity."""
        target = np.asarray(target_points, dtype=np.float64)[self.triangles]  # (M, 3, 2)
        homogeneous = np.concatenate([target, np.ones(target.shape[:2] + (1,))], axis=2)  # (M, 3, 3) rows
        det = np.linalg.det(homogeneous)
        ok = np.abs(det) > 1e-9
        maps = np.zeros((self.triangles.shape[0] + 1, 2, 3))
        # Solve source_corners = A @ target_corners^T for A (2x3): A = S @ inv(T^T).
        inverse = np.linalg.inv(np.where(ok[:, None, None], homogeneous, np.eye(3)))  # (M, 3, 3)
        maps[:-1] = self._source_corners @ np.transpose(inverse, (0, 2, 1))
        maps[:-1][~ok] = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # degenerate: covers no pixel anyway
        maps[-1] = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        return maps.reshape(-1, 6).astype(np.float32)

    def remap_coordinates(self, target_points: np.ndarray, draw_order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Source coordinates (map_x, map_y) for every pixel of the region, float32 arrays of its shape."""
        target = np.asarray(target_points, dtype=np.float64)
        x0, y0 = self.region[:2]
        labels = self.labels
        labels.fill(self.identity_label)
        corners = np.round((target[self.triangles] - np.array([x0, y0])) * (1 << _SHIFT)).astype(np.int32)
        order = range(self.triangles.shape[0]) if draw_order is None else draw_order
        fill = cv2.fillConvexPoly
        for index in order:
            fill(labels, corners[index], int(index), lineType=cv2.LINE_8, shift=_SHIFT)
        # One gather per coefficient and in-place arithmetic: about 2.5x faster than gathering (h, w, 6).
        a00, a01, a02, a10, a11, a12 = np.ascontiguousarray(self.affine_maps(target).T)
        gx, gy = self._grid_x, self._grid_y

        def row(cx: np.ndarray, cy: np.ndarray, c: np.ndarray) -> np.ndarray:
            """cx * x + cy * y + c per pixel, with each pixel's triangle coefficients."""
            out = np.take(cx, labels)
            out *= gx
            term = np.take(cy, labels)
            term *= gy
            out += term
            out += np.take(c, labels)
            return out

        return row(a00, a01, a02), row(a10, a11, a12)

    def warp(self, target_points: np.ndarray, draw_order: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """The source image with the region warped so source vertices land on `target_points`."""
        map_x, map_y = self.remap_coordinates(target_points, draw_order)
        if out is None:
            out = self.source.copy()
        else:
            np.copyto(out, self.source)
        x0, y0, x1, y1 = self.region
        out[y0:y1, x0:x1] = cv2.remap(
            self.source, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return out
