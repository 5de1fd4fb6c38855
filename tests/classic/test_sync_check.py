"""The lip-sync self-check, on a classic-engine video of real (espeak-ng) speech, and on controlled tracks."""

from __future__ import annotations

import numpy as np
import pytest

from aniportrait_cli.errors import InputError
from aniportrait_cli.sync_check import SyncReport, check_sync, speech_envelope, sync_report


@pytest.fixture(scope="module")
def talking_video(tmp_path_factory, astronaut_renderer, speech_motion, speech_wav):
    """The astronaut speaking the espeak-ng clip: H.264 + AAC mp4 through the project's writer."""
    from aniportrait_cli.media.video import VideoWriter

    path = tmp_path_factory.mktemp("classic") / "talking.mp4"
    with VideoWriter(path, speech_motion.fps, 512, 512, speech_wav, speech_motion.num_frames, preset="veryfast") as writer:
        for frame in astronaut_renderer.frames(speech_motion):
            writer.write(frame)
    return path


def test_classic_video_is_lip_synced(talking_video):
    report = check_sync(talking_video)
    assert isinstance(report, SyncReport)
    assert report.face_frames == report.num_frames > 300
    assert report.correlation >= 0.6
    assert abs(report.lag_frames) <= 2
    assert report.silent_frames >= 30
    assert report.silence_motion <= 0.1
    assert report.silence_opening <= 0.1
    assert report.passed
    assert report.describe()[-1].split()[-1] == "lip-synced"


def test_separate_audio_file(talking_video, speech_wav, tmp_path):
    """A video without audio is checked against the speech given as its own file (first 2.5 s here)."""
    import subprocess

    from aniportrait_cli.media.ffmpeg import ffmpeg_exe

    silent_video = tmp_path / "video_only.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(talking_video), "-t", "2.5", "-an", "-c:v", "libx264",
                    "-preset", "veryfast", str(silent_video)], check=True)
    with pytest.raises(InputError, match="no audio track"):
        check_sync(silent_video)
    report = check_sync(silent_video, speech_wav)
    assert report.num_frames == 75 and report.face_frames == 75
    assert report.correlation >= 0.6 and abs(report.lag_frames) <= 2


def _tracks(speech, fps: float = 30.0):
    frames = int(np.ceil(len(speech) / 16000 * fps))
    envelope, silent = speech_envelope(speech, fps, frames)
    opening = np.clip(envelope + 40.0, 0.0, None) / 40.0  # a mouth that follows the sound exactly
    return opening, envelope, silent


def test_report_finds_the_lag(speech):
    opening, envelope, silent = _tracks(speech)
    found = np.ones(len(opening), bool)
    assert sync_report(opening, found, envelope, silent, 30.0).lag_frames == 0
    late = np.concatenate([np.zeros(4), opening[:-4]])  # the mouth moves 4 frames after the sound
    report = sync_report(late, found, envelope, silent, 30.0)
    assert report.lag_frames == 4 and report.correlation > 0.9
    assert not report.passed


def test_report_flags_a_mouth_that_moves_in_silence(speech):
    opening, envelope, silent = _tracks(speech)
    found = np.ones(len(opening), bool)
    rng = np.random.default_rng(0)
    chatter = opening + np.where(silent, rng.uniform(0.0, 0.6, len(opening)), 0.0)
    report = sync_report(chatter, found, envelope, silent, 30.0)
    assert report.silence_motion > 0.1 and not report.passed


def test_report_flags_an_unrelated_mouth(speech):
    opening, envelope, silent = _tracks(speech)
    found = np.ones(len(opening), bool)
    rng = np.random.default_rng(1)
    random_mouth = np.abs(np.convolve(rng.normal(size=len(opening)), np.ones(5) / 5, mode="same"))
    report = sync_report(random_mouth, found, envelope, silent, 30.0)
    assert report.correlation < 0.3 and not report.passed


def test_video_without_a_face(tmp_path):
    from tests.media_factory import write_test_video

    video = write_test_video(tmp_path / "pattern.mp4", seconds=0.5, size="128x96")
    with pytest.raises(InputError, match="no face"):
        check_sync(video)
