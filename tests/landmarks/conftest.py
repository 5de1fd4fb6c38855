"""Fixtures shared by the landmark tests: a real portrait and one tracking pass over the real driving video."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from tests.conftest import MEDIA_DIR, require_shared


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def driving_video_path():
    return require_shared(MEDIA_DIR / "pose_ref_video.mp4")


@pytest.fixture(scope="session")
def driving_frames(driving_video_path) -> list[np.ndarray]:
    """The 125 RGB frames of the 5 s, 25 fps driving video (small: 512x512)."""
    from aniportrait_cli.media.video import VideoReader

    return list(VideoReader(driving_video_path).frames())


@pytest.fixture(scope="session")
def driving_track(driving_frames):
    from aniportrait_cli.landmarks.extractor import track_video

    return track_video(iter(driving_frames), 25.0, "pose_ref_video.mp4")
