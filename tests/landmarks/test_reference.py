from pathlib import Path

import cv2
import numpy as np
import pytest

from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.drawing import draw_reference_pose
from aniportrait_cli.landmarks.reference import (
    CropBox,
    crop_to_box,
    face_crop_box,
    feather_mask,
    paste_back,
    prepare_reference,
    reference_face_at,
)


@pytest.fixture(scope="module")
def portrait_3x4(astronaut):
    return np.ascontiguousarray(astronaut[:, 64:448])  # 384 x 512


def test_crop_box_frames_the_face(portrait_3x4):
    prepared = prepare_reference(portrait_3x4, "astronaut_3x4.png")
    box = prepared.crop_box
    assert prepared.cropped and prepared.image.shape == (box.size, box.size, 3)
    assert 0 <= box.x0 and box.x1 <= 384 and 0 <= box.y0 and box.y1 <= 512
    x0, y0, x1, y1 = prepared.face.bbox
    # Landmark box about half the crop, face centred.
    assert 0.45 < max(x1 - x0, y1 - y0) / box.size < 0.55
    assert abs((x0 + x1) / 2 - (box.x0 + box.size / 2)) < 0.03 * box.size
    assert abs((y0 + y1) / 2 - (box.y0 + box.size / 2)) < 0.03 * box.size
    np.testing.assert_array_equal(prepared.image, crop_to_box(portrait_3x4, box))
    np.testing.assert_array_equal(prepared.image, portrait_3x4[box.y0: box.y1, box.x0: box.x1])


def test_square_input_is_used_whole_unless_asked(astronaut):
    assert prepare_reference(astronaut, "astronaut.png").crop_box is None
    assert prepare_reference(astronaut, "astronaut.png", crop="always").crop_box is not None
    never = prepare_reference(astronaut[:, 64:448], "a.png", crop="never")
    assert never.crop_box is None and never.image.shape == (512, 384, 3)


def test_no_face_names_the_file():
    with pytest.raises(InputError, match="wall.jpg"):
        prepare_reference(np.full((300, 200, 3), 200, np.uint8), "wall.jpg")


@pytest.mark.parametrize(
    "bbox,size,expected",
    [
        ((100, 100, 200, 200), (1000, 800), CropBox(50, 50, 200)),  # free placement, centred
        ((0, 0, 100, 100), (1000, 800), CropBox(0, 0, 200)),  # shifted inside at the corner
        ((100, 0, 500, 700), (600, 800), CropBox(0, 50, 600)),  # larger than the image: shrunk to fit
    ],
)
def test_face_crop_box_stays_inside(bbox, size, expected):
    assert face_crop_box(bbox, size) == expected


def test_paste_back_round_trip_is_exact(portrait_3x4):
    prepared = prepare_reference(portrait_3x4, "astronaut_3x4.png")
    np.testing.assert_array_equal(prepared.paste_back(prepared.image), portrait_3x4)
    # Through the generation size (512) and back: only resampling error.
    generated = cv2.resize(prepared.image, (512, 512), interpolation=cv2.INTER_CUBIC)
    restored = prepared.paste_back(generated)
    assert np.abs(restored.astype(int) - portrait_3x4.astype(int)).mean() < 1.0


def test_paste_back_feathers_only_inner_seams():
    original = np.zeros((100, 160, 3), np.uint8)
    box = CropBox(0, 20, 60)  # touches the left border only
    out = paste_back(original, np.full((60, 60, 3), 200, np.uint8), box, feather_px=10)
    assert (out[:20] == 0).all() and (out[80:] == 0).all() and (out[:, 60:] == 0).all()
    row = out[50, :60, 0].astype(int)
    assert row[0] == 200  # image border: no seam, full strength
    assert row[59] < 20 and np.all(np.diff(row[45:]) <= 0)  # ramps down towards the inner seam
    assert out[20, 30, 0] < 20 and out[50, 30, 0] == 200
    mask = feather_mask(60, 10)
    assert mask.max() == 1.0 and 0 < mask.min() < 0.01


def test_paste_back_rejects_a_box_outside_the_image():
    with pytest.raises(ValueError):
        paste_back(np.zeros((50, 50, 3), np.uint8), np.zeros((60, 60, 3), np.uint8), CropBox(0, 0, 60))


def test_crop_and_paste_back_look_right(portrait_3x4, tmp_path):
    """Write the crop, its landmarks and a tinted paste-back for a human look (saved next to the test's tmp)."""
    prepared = prepare_reference(portrait_3x4, "astronaut_3x4.png")
    face = reference_face_at(prepared.image, 512, 512)
    square = cv2.resize(prepared.image, (512, 512), interpolation=cv2.INTER_LINEAR)
    overlay = cv2.addWeighted(square, 0.6, draw_reference_pose(face.landmarks), 1.0, 0)
    tinted = np.clip(square.astype(np.int16) + np.int16([0, 60, 0]), 0, 255).astype(np.uint8)
    pasted = prepared.paste_back(tinted)
    # The tint covers the crop box, fades at its inner seams, and leaves the rest untouched.
    box = prepared.crop_box
    centre = pasted[box.y0 + box.size // 2, box.x0 + box.size // 2].astype(int)
    assert centre[1] - int(portrait_3x4[box.y0 + box.size // 2, box.x0 + box.size // 2, 1]) > 40
    outside = np.ones(portrait_3x4.shape[:2], bool)
    outside[box.y0: box.y1, box.x0: box.x1] = False
    np.testing.assert_array_equal(pasted[outside], portrait_3x4[outside])
    sheet = np.concatenate([cv2.resize(portrait_3x4, (384, 512)), overlay, pasted], axis=1)
    assert cv2.imwrite(str(Path(tmp_path) / "crop_paste_back.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
