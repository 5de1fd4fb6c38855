import cv2
import numpy as np
import pytest

from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.extractor import (
    FaceLandmarkExtractor,
    detect_reference_face,
    fill_missing_frames,
    model_path,
    track_video,
)


def test_model_is_packaged_with_its_licence():
    assert model_path().is_file()
    assets = model_path().parent
    assert "Apache License" in (assets / "LICENSE-mediapipe.txt").read_text()
    assert "face_landmarker.task" in (assets / "NOTICE").read_text()


def test_astronaut_has_one_face(astronaut):
    with FaceLandmarkExtractor("image") as extractor:
        faces = extractor.detect(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert face.landmarks.shape == (478, 3) and face.landmarks.dtype == np.float32
    assert face.blendshapes.shape == (52,) and face.blendshape_names[0] == "_neutral"
    assert face.transform.shape == (4, 4)
    assert face.image_size == (512, 512)
    # The face is in the upper middle of the 512x512 photo, about 90 x 105 px.
    x0, y0, x1, y1 = face.bbox
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200
    assert 70 < x1 - x0 < 120 and 80 < y1 - y0 < 130
    assert face.mesh3d.shape == (468, 3)


def test_no_face_names_the_file():
    noise = np.random.default_rng(0).integers(0, 255, (256, 320, 3), dtype=np.uint8)
    with pytest.raises(InputError, match="empty_room.png: no face found"):
        detect_reference_face(noise, "empty_room.png")


def test_several_faces_use_the_largest_and_warn_once(astronaut):
    head = astronaut[0:256, 100:356]
    canvas = np.full((512, 512, 3), 128, np.uint8)
    canvas[0:256, 0:256] = head
    canvas[256:456, 300:500] = cv2.resize(head, (200, 200), interpolation=cv2.INTER_AREA)
    warnings = []
    face = detect_reference_face(canvas, "group.png", on_warning=warnings.append)
    assert warnings == ["group.png: 2 faces found, using the largest one"]
    assert face.bbox[2] < 256 and face.bbox[3] < 256


def test_small_face_in_a_large_image_is_found_by_window_search(astronaut):
    wide = np.full((1500, 3000, 3), 90, np.uint8)
    wide[:, :1500] = cv2.resize(astronaut, (1500, 1500), interpolation=cv2.INTER_CUBIC)
    with FaceLandmarkExtractor("image") as extractor:
        assert extractor.detect(wide) == []  # the detector sees a 128 px copy: the face is too small
        face = detect_reference_face(wide, "wide.png", extractor=extractor)
    direct = detect_reference_face(astronaut, "astronaut")
    # Same face, same place (in 512-px units of the astronaut).
    np.testing.assert_allclose(np.array(face.bbox) * 512 / 1500, direct.bbox, atol=3)


def test_closed_extractor_refuses_work(astronaut):
    extractor = FaceLandmarkExtractor("image")
    extractor.close()
    extractor.close()  # idempotent
    with pytest.raises(RuntimeError):
        extractor.detect(astronaut)


def test_fill_missing_frames_interpolates_and_extends():
    values = np.arange(8, dtype=np.float32)[:, None] * np.float32([1, 10])
    present = np.array([0, 1, 1, 0, 0, 1, 0, 0], bool)
    filled = fill_missing_frames(values, present)
    np.testing.assert_allclose(filled[:, 0], [1, 1, 2, 3, 4, 5, 5, 5])
    np.testing.assert_array_equal(filled[present], values[present])
    with pytest.raises(ValueError):
        fill_missing_frames(values, np.zeros(8, bool))


def test_video_track_of_the_driving_video(driving_track):
    track = driving_track
    assert track.num_frames == 125 and track.fps == 25.0 and track.image_size == (512, 512)
    assert track.present.all() and track.coverage == 1.0
    assert track.landmarks.shape == (125, 478, 3)
    assert track.blendshapes.shape == (125, 52)
    assert track.transforms.shape == (125, 4, 4)
    assert track.mesh3d.shape == (125, 468, 3)
    # The tracked head moves smoothly, never jumps: the fastest move, a blurred head tilt around frame 8,
    # is 11 px per frame.
    step = np.linalg.norm(np.diff(track.landmarks[:, :468, :2], axis=0), axis=-1) * 512
    assert np.median(step, axis=1).max() < 15


def test_missed_frames_are_interpolated_never_dropped(driving_frames, driving_track):
    frames = [frame.copy() for frame in driving_frames[:20]]
    blank = [0, 7, 8, 19]
    for index in blank:
        frames[index][:] = 0
    warnings = []
    track = track_video(iter(frames), 25.0, "gappy.mp4", on_warning=warnings.append)
    assert track.num_frames == 20
    assert list(np.flatnonzero(~track.present)) == blank
    assert warnings == ["gappy.mp4: no face in 4 of 20 frames, filled in from the neighbouring frames"]
    # Inner gap: linear between frames 6 and 9; ends: copies of the nearest frame.
    np.testing.assert_allclose(track.landmarks[7], track.landmarks[6] + (track.landmarks[9] - track.landmarks[6]) / 3, atol=1e-6)
    np.testing.assert_array_equal(track.landmarks[0], track.landmarks[1])
    np.testing.assert_array_equal(track.landmarks[19], track.landmarks[18])
    # The filled frames are close to what the landmarker saw on the real frames (5.6 px at most here, in the
    # middle of the video's fastest head tilt).
    assert np.abs(track.landmarks[7:9, :468, :2] - driving_track.landmarks[7:9, :468, :2]).max() * 512 < 10
    assert np.isfinite(track.transforms).all() and np.isfinite(track.mesh3d).all()


def test_video_without_a_face_is_an_input_error():
    frames = (np.zeros((96, 128, 3), np.uint8) for _ in range(4))
    with pytest.raises(InputError, match="dark.mp4: no face found in any of its 4 frames"):
        track_video(frames, 30.0, "dark.mp4")
    with pytest.raises(InputError, match="empty.mp4: the video has no frames"):
        track_video(iter([]), 30.0, "empty.mp4")


def test_video_tracking_reports_progress(driving_frames):
    calls = []
    track_video(iter(driving_frames[:3]), 25.0, progress=lambda done, total: calls.append((done, total)), num_frames=3)
    assert calls == [(1, 3), (2, 3), (3, 3)]
