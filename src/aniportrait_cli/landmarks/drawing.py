"""Pose images: the landmark drawings the pose guider is conditioned on, bit-exact with the original.

Every point is mapped onto a 512 x 512 canvas through a float32 normalised coordinate (the original passes it
through a protobuf float), floored to a pixel, and points outside [0, 1] are dropped with every edge touching
them. The 114 edges (face contour, eyes, eyebrows, lips in 8 coloured arcs) are drawn in a fixed order as
2-px 8-connected lines; the canvas is then resized to the output size with OpenCV's fixed-point bilinear
arithmetic (re-implemented here so the result does not depend on the installed OpenCV version).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CANVAS_SIZE = 512
EDGES_FILE = Path(__file__).resolve().parent / "assets" / "pose_edges.json"


@dataclass(frozen=True)
class PoseEdgeGroup:
    """A run of edges drawn in one colour: `edges` is (E, 2) vertex indices, `color` array channels 0..2."""

    part: str
    color: tuple[int, int, int]
    thickness: int
    edges: np.ndarray


@functools.lru_cache(maxsize=1)
def pose_edge_groups() -> tuple[PoseEdgeGroup, ...]:
    """The edge groups in draw order (packaged data, `assets/pose_edges.json`)."""
    data = json.loads(EDGES_FILE.read_text())
    return tuple(
        PoseEdgeGroup(
            part=group["part"],
            color=tuple(int(c) for c in group["color"]),
            thickness=int(group["thickness"]),
            edges=np.asarray(group["edges"], dtype=np.int64).reshape(-1, 2),
        )
        for group in data["groups"]
    )


def pose_edges() -> list[tuple[int, int, tuple[int, int, int], int]]:
    """All 114 edges in draw order as (start, end, color, thickness)."""
    return [(int(a), int(b), g.color, g.thickness) for g in pose_edge_groups() for a, b in g.edges]


def canvas_pixels(u: np.ndarray, v: np.ndarray, canvas_size: int = CANVAS_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Canvas pixels of normalised coordinates, as MediaPipe's drawing utilities compute them.

    u, v: float32 arrays (the rounding to float32 decides some floors, so callers must round first).
    Returns (pixels (N, 2) int32 x, y with (-1, -1) for dropped points, kept (N,) bool). A point is kept when
    0 <= u <= 1 and 0 <= v <= 1 on the float32 value; pixel = min(floor(value * size), size - 1).
    """
    u = np.asarray(u, dtype=np.float32)
    v = np.asarray(v, dtype=np.float32)
    kept = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    pixels = np.full(u.shape + (2,), -1, dtype=np.int32)
    for axis, value in enumerate((u, v)):
        scaled = np.floor(value[kept].astype(np.float64) * canvas_size)
        pixels[kept, axis] = np.minimum(scaled, canvas_size - 1).astype(np.int32)
    return pixels, kept


def pixels_from_verts2d(verts2d: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Canvas pixels of image-space points (N, 2) of a width x height frame: u = float32(x / W), v = float32(y / H)."""
    verts2d = np.asarray(verts2d, dtype=np.float64)
    u = (verts2d[..., 0] / width).astype(np.float32)
    v = (verts2d[..., 1] / height).astype(np.float32)
    return canvas_pixels(u, v)


def pixels_from_normalized(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canvas pixels of normalised landmarks (N, >=2), e.g. MediaPipe's own output for the reference pose."""
    landmarks = np.asarray(landmarks, dtype=np.float32)
    return canvas_pixels(landmarks[:, 0], landmarks[:, 1])


def draw_canvas(pixels: np.ndarray, kept: np.ndarray, canvas_size: int = CANVAS_SIZE) -> np.ndarray:
    """Draw the pose edges of pixel points onto a black square canvas, uint8 (size, size, 3).

    Edges with a dropped endpoint are skipped entirely (never clipped); later edges overwrite earlier ones.
    """
    canvas = np.zeros((canvas_size, canvas_size, 3), dtype=np.uint8)
    for group in pose_edge_groups():
        for start, end in group.edges:
            if kept[start] and kept[end]:
                cv2.line(
                    canvas,
                    (int(pixels[start, 0]), int(pixels[start, 1])),
                    (int(pixels[end, 0]), int(pixels[end, 1])),
                    group.color,
                    group.thickness,
                    cv2.LINE_8,
                )
    return canvas


def _linear_taps(dst: int, src: int) -> tuple[np.ndarray, np.ndarray]:
    """Source index s and float32 fraction per output index, OpenCV's INTER_LINEAR coordinate mapping."""
    d = np.arange(dst, dtype=np.float64)
    f = ((d + 0.5) * (src / dst) - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    frac = (f - s.astype(np.float32)).astype(np.float32)
    return s, frac


def resize_linear(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a uint8 (H, W, C) image with OpenCV's exact fixed-point arithmetic (`cv2.resize`).

    Per axis: f = float32((d + 0.5) * src / dst - 0.5), s = floor(f), weights rint((1 - frac) * 2048) and
    rint(frac * 2048). Columns at the border are clamped with frac = 0; rows keep their weights and clamp
    their indices. Rows combine as ((D0 >> 4) * b0 >> 16) + ((D1 >> 4) * b1 >> 16) + 2 >> 2.
    """
    src_h, src_w = image.shape[:2]
    if (src_w, src_h) == (width, height):
        return image.copy()
    scale = np.float32(2048)

    # Horizontal taps: outside [0, src-2] the index is clamped and the pixel copied (frac 0).
    sx, fx = _linear_taps(width, src_w)
    border = (sx < 0) | (sx >= src_w - 1)
    fx = np.where(border, np.float32(0), fx).astype(np.float32)
    sx = np.clip(sx, 0, src_w - 1)
    sx1 = np.minimum(sx + 1, src_w - 1)
    ax0 = np.rint((np.float32(1) - fx) * scale).astype(np.int64)
    ax1 = np.rint(fx * scale).astype(np.int64)

    # Vertical taps: weights kept, indices clamped.
    sy, fy = _linear_taps(height, src_h)
    by0 = np.rint((np.float32(1) - fy) * scale).astype(np.int64)
    by1 = np.rint(fy * scale).astype(np.int64)
    sy0 = np.clip(sy, 0, src_h - 1)
    sy1 = np.clip(sy + 1, 0, src_h - 1)

    src = image.astype(np.int64)
    rows = src[:, sx] * ax0[None, :, None] + src[:, sx1] * ax1[None, :, None]  # (src_h, width, C)
    d0 = rows[sy0] >> 4
    d1 = rows[sy1] >> 4
    out = (((d0 * by0[:, None, None]) >> 16) + ((d1 * by1[:, None, None]) >> 16) + 2) >> 2
    return np.clip(out, 0, 255).astype(np.uint8)


def render_canvas_from_verts2d(verts2d: np.ndarray, width: int, height: int) -> np.ndarray:
    """The 512 x 512 drawing of image-space points of a width x height frame, before the final resize."""
    pixels, kept = pixels_from_verts2d(verts2d, width, height)
    return draw_canvas(pixels, kept)


def draw_pose_image(verts2d: np.ndarray, width: int, height: int) -> np.ndarray:
    """The pose image (height, width, 3) uint8 of projected points (N >= 468, 2) of a width x height frame."""
    return resize_linear(render_canvas_from_verts2d(verts2d, width, height), width, height)


def draw_reference_pose(landmarks_normed: np.ndarray, width: int = CANVAS_SIZE, height: int = CANVAS_SIZE) -> np.ndarray:
    """The reference face's pose image from MediaPipe's normalised landmarks (N >= 468, >=2), (height, width, 3)."""
    pixels, kept = pixels_from_normalized(landmarks_normed)
    return resize_linear(draw_canvas(pixels, kept), width, height)
