"""Motion -> frames of the classic engine: identity, stable surroundings, no holes or seams, mouth interior."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from aniportrait_cli.classic.face_rig import FaceRig
from aniportrait_cli.classic.warp import PiecewiseAffineWarp
from aniportrait_cli.classic import topology as topo

HEAD_POSES = [
    (0, 0, 0), (0, 25, 0), (0, -25, 0), (15, 0, 0), (-15, 0, 0), (0, 0, 15), (10, 20, -10), (-12, -18, 8),
]


def _outside_anchors(renderer, margin: int = 3) -> np.ndarray:
    """Pixels outside the fixed anchor ring (with a margin for the bilinear sampling at its edge)."""
    mask = np.zeros((renderer.height, renderer.width), np.uint8)
    cv2.fillPoly(mask, [np.round(renderer.anchors).astype(np.int32)], 1)
    return cv2.dilate(mask, np.ones((2 * margin + 1,) * 2, np.uint8)) == 0


def _inside_anchors(renderer, margin: int = 3) -> np.ndarray:
    x0, y0, x1, y1 = renderer.warp.region
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(renderer.anchors - [x0, y0]).astype(np.int32)], 1)
    return cv2.erode(mask, np.ones((2 * margin + 1,) * 2, np.uint8)).astype(bool)


def test_reference_pose_renders_the_photo(astronaut, astronaut_face, astronaut_renderer):
    frame = astronaut_renderer.render(astronaut_face.mesh3d, np.zeros(6))
    assert frame.shape == astronaut.shape and frame.dtype == np.uint8
    assert np.abs(frame.astype(int) - astronaut).max() <= 1


@pytest.mark.parametrize("pose", HEAD_POSES)
def test_surroundings_stable_and_no_holes(astronaut, astronaut_face, astronaut_renderer, pose):
    rig = FaceRig(astronaut_face.mesh3d)
    mesh = rig.deform(np.array([0.08]), np.array([0.5]), np.array([1.0]))[0]
    frame = astronaut_renderer.render(mesh, np.array([*pose, 0, 0, 0], dtype=np.float64))

    outside = _outside_anchors(astronaut_renderer)
    assert outside.mean() > 0.5  # most of the picture: background, torso, image border
    np.testing.assert_array_equal(frame[outside], astronaut[outside])
    # The image border in particular never changes.
    np.testing.assert_array_equal(frame[[0, -1]], astronaut[[0, -1]])
    np.testing.assert_array_equal(frame[:, [0, -1]], astronaut[:, [0, -1]])

    warp = astronaut_renderer.warp
    holes = (warp.labels == warp.identity_label) & _inside_anchors(astronaut_renderer)
    assert holes.sum() == 0


def test_head_pose_moves_the_face(astronaut, astronaut_face, astronaut_renderer):
    turned = astronaut_renderer.render(astronaut_face.mesh3d, np.array([0, 12, 0, 0, 0, 0.0]))
    x0, y0, x1, y1 = astronaut_renderer.warp.region
    changed = np.abs(turned.astype(int) - astronaut).max(axis=2)[y0:y1, x0:x1] > 20
    assert changed.mean() > 0.05


def test_piecewise_affine_warp_is_seamless():
    """Moving interior vertices of a grid over a smooth image keeps it smooth: no seams or tears."""
    height = width = 96
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([xs * 2.5, ys * 2.5, 128 + 60 * np.sin(xs / 9.0) * np.cos(ys / 11.0)], axis=-1).astype(np.uint8)
    grid = np.stack(np.meshgrid(np.linspace(0, width - 1, 7), np.linspace(0, height - 1, 7)), -1).reshape(-1, 2)
    triangles = []
    for r in range(6):
        for c in range(6):
            a, b, d, e = r * 7 + c, r * 7 + c + 1, (r + 1) * 7 + c, (r + 1) * 7 + c + 1
            triangles += [(a, b, d), (b, e, d)]
    warp = PiecewiseAffineWarp(image, grid, np.array(triangles), (0, 0, width, height))
    target = grid.copy()
    interior = (grid[:, 0] > 0) & (grid[:, 0] < width - 1) & (grid[:, 1] > 0) & (grid[:, 1] < height - 1)
    rng = np.random.default_rng(0)
    target[interior] += rng.uniform(-4, 4, size=(interior.sum(), 2))
    out = warp.warp(target).astype(int)

    assert (warp.labels == warp.identity_label).sum() == 0
    # Neighbouring pixels differ by no more than the image's own gradient times the largest stretch (~2x).
    source_step = max(np.abs(np.diff(image.astype(int), axis=a)).max() for a in (0, 1))
    out_step = max(np.abs(np.diff(out, axis=a)).max() for a in (0, 1))
    assert out_step <= 2 * source_step + 2
    # The vertices really moved the content: a vertex's target pixel shows the source pixel of that vertex.
    k = int(np.flatnonzero(interior)[10])
    tx, ty = np.round(target[k]).astype(int)
    sx, sy = grid[k]
    assert np.abs(out[ty, tx] - image[int(round(sy)), int(round(sx))]).max() <= 12


def _inner_mouth_luma(frame: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Brightness of a rendered frame's pixels inside the inner-lip polygon (eroded by a pixel) of `points`."""
    mouth = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mouth, [np.round(points[topo.inner_lip_polygon()]).astype(np.int32)], 1)
    mouth = cv2.erode(mouth, np.ones((3, 3), np.uint8)).astype(bool)
    return (frame.astype(float) @ np.array([0.299, 0.587, 0.114]))[mouth]


def test_mouth_interior_is_painted_when_the_lips_part(astronaut_face, astronaut_renderer):
    rig = FaceRig(astronaut_face.mesh3d)
    closed, wide = rig.deform(np.array([0.0, 0.1]))
    frame_closed = astronaut_renderer.render(closed, np.zeros(6))
    frame_wide = astronaut_renderer.render(wide, np.zeros(6))

    luma = _inner_mouth_luma(frame_wide, astronaut_renderer.project(wide, np.zeros(6)))
    assert luma.size > 100
    # A dark cavity between the teeth of the photo's upper and lower lips.
    assert np.percentile(luma, 20) < 60
    assert np.percentile(luma, 95) > 150

    # Closed lips: the inner-lip polygon has (almost) no area left.
    points_closed = astronaut_renderer.project(closed, np.zeros(6))
    area = cv2.contourArea(points_closed[topo.inner_lip_polygon()].astype(np.float32))
    assert area < 15
    assert not np.array_equal(frame_closed, frame_wide)


def test_synthetic_mouth_for_a_closed_mouth_photo(astronaut, astronaut_face, astronaut_renderer):
    """A portrait with closed lips has no interior to reuse: the painter draws cavity and teeth itself."""
    from aniportrait_cli.classic.renderer import ClassicRenderer

    rig = FaceRig(astronaut_face.mesh3d)
    closed_photo = astronaut_renderer.render(rig.deform(np.array([0.0]))[0], np.zeros(6))
    closed_mesh = rig.deform(np.array([0.0]))[0].astype(np.float64)
    renderer = ClassicRenderer(closed_photo, closed_mesh, astronaut_face.transform)
    assert not renderer.painter.uses_reference_interior
    wide = FaceRig(closed_mesh).deform(np.array([0.09]))[0]
    luma = _inner_mouth_luma(renderer.render(wide, np.zeros(6)), renderer.project(wide, np.zeros(6)))
    assert np.percentile(luma, 20) < 60  # cavity
    assert np.percentile(luma, 95) > 120  # teeth


def test_streaming_frames(astronaut_renderer, speech_motion):
    short = speech_motion.resampled(30.0, 12)
    frames = []
    progress = []
    for frame in astronaut_renderer.frames(short, progress=lambda done, total: progress.append((done, total))):
        frames.append(frame)
    assert len(frames) == 12 and progress[-1] == (12, 12)
    assert all(f.shape == (512, 512, 3) and f.dtype == np.uint8 for f in frames)


def test_bad_reference_image(astronaut_face):
    from aniportrait_cli.classic.renderer import ClassicRenderer

    with pytest.raises(ValueError):
        ClassicRenderer(np.zeros((64, 64), np.uint8), astronaut_face.mesh3d, astronaut_face.transform)


def test_parted_lips_without_teeth_get_synthetic_teeth(astronaut, astronaut_face, astronaut_renderer):
    """A photo whose lips part on a dark slit (no teeth to lend) is painted like a closed-mouth photo: cavity
    and teeth, not the slit stretched into a black hole."""
    from aniportrait_cli.classic.renderer import ClassicRenderer

    rig = FaceRig(astronaut_face.mesh3d)
    slit_mesh = rig.deform(np.array([0.025]))[0].astype(np.float64)
    slit_photo = astronaut_renderer.render(slit_mesh, np.zeros(6)).copy()
    points = astronaut_renderer.project(slit_mesh, np.zeros(6))
    inner = np.zeros(slit_photo.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(points[topo.inner_lip_polygon()]).astype(np.int32)], 1)
    inner = cv2.dilate(inner, np.ones((3, 3), np.uint8)).astype(bool)
    slit_photo[inner] = (35, 15, 15)  # a dark gap between the lips, nothing bright in it
    renderer = ClassicRenderer(slit_photo, slit_mesh, astronaut_face.transform)
    assert renderer.painter.reference_gap_px >= 2.5
    assert not renderer.painter.uses_reference_interior
    wide = FaceRig(slit_mesh).deform(np.array([0.09]))[0]
    luma = _inner_mouth_luma(renderer.render(wide, np.zeros(6)), renderer.project(wide, np.zeros(6)))
    assert np.percentile(luma, 95) > 120  # teeth


def test_rig_gap_is_the_gap_of_the_deformed_face(astronaut_face):
    """The asked gap is what the deformed mesh measures (inner lips over its own, taller, face height) over the
    whole range, wide openings included."""
    rig = FaceRig(astronaut_face.mesh3d)
    asked = np.array([0.0, 0.015, 0.04, 0.07, 0.1, 0.11])
    np.testing.assert_allclose(rig.mouth_gap(rig.deform(asked)), asked, atol=5e-4)
