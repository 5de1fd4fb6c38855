import cv2
import numpy as np
import pytest

from aniportrait_cli.landmarks.drawing import canvas_pixels, draw_pose_image, pose_edge_groups, resize_linear


@pytest.mark.parametrize(
    "width,height",
    [(384, 512), (640, 480), (512, 512), (256, 256), (1024, 768), (100, 700), (513, 511), (720, 1280), (31, 17)],
)
def test_resize_matches_opencv(width, height):
    """Our fixed-point INTER_LINEAR equals the installed OpenCV's on a sharp-edged drawing and on noise."""
    rng = np.random.default_rng(width * 7 + height)
    for canvas in (rng.integers(0, 256, (512, 512, 3), dtype=np.uint8), _lines()):
        np.testing.assert_array_equal(resize_linear(canvas, width, height), cv2.resize(canvas, (width, height)))


def _lines() -> np.ndarray:
    canvas = np.zeros((512, 512, 3), np.uint8)
    for i in range(0, 512, 37):
        cv2.line(canvas, (i, 0), (511 - i, 511), (10, 200, 180), 2)
    return canvas


def test_canvas_pixels_bounds_are_inclusive_on_float32():
    u = np.float32([0.0, 1.0, -1e-8, np.nextafter(np.float32(1), np.float32(2)), 0.5, np.nan])
    v = np.float32([0.0, 1.0, 0.5, 0.5, 1.5, 0.5])
    pixels, kept = canvas_pixels(u, v)
    assert kept.tolist() == [True, True, False, False, False, False]
    assert pixels[:2].tolist() == [[0, 0], [511, 511]]  # 1.0 -> min(512, 511)
    assert (pixels[~kept] == -1).all()


def test_edge_groups_cover_the_face_without_irises():
    groups = pose_edge_groups()
    assert sum(len(g.edges) for g in groups) == 114
    assert [g.part for g in groups][:5] == ["face_contour", "eye_a", "eyebrow_a", "eye_b", "eyebrow_b"]
    used = np.concatenate([g.edges.reshape(-1) for g in groups])
    assert used.max() < 468  # iris points (468..477) are never drawn


def test_pose_image_of_any_size_is_a_resized_square_canvas():
    points = np.stack(np.meshgrid(np.linspace(100, 300, 26), np.linspace(100, 300, 18)), -1).reshape(-1, 2)[:468]
    image = draw_pose_image(points, 640, 360)
    assert image.shape == (360, 640, 3) and image.dtype == np.uint8 and image.any()
