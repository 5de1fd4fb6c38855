"""The lip-sync check on a classic-engine video of real (espeak-ng) speech, and its measures on controlled tracks."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from aniportrait_cli.errors import InputError
from aniportrait_cli.sync_check import SyncReport, check_sync, compare_with_real, mouth_opening, sync_report
from aniportrait_cli.sync_rules import MAX_OFFSET_MS, MIN_CONFIDENCE


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
    assert report.confidence >= MIN_CONFIDENCE
    assert abs(report.offset_ms) <= MAX_OFFSET_MS
    assert report.silent_frames >= 30
    assert report.silence_motion <= 0.1
    assert report.passed
    assert report.describe()[-1].split()[-1] == "lip-synced"


def test_sound_shifted_or_from_another_clip_is_not_lip_synced(talking_video, speech, tmp_path):
    """The same video with its sound 0.5 s late, or with other speech: not lip-synced."""
    late = tmp_path / "late.wav"
    soundfile.write(late, np.concatenate([np.zeros(8000, np.float32), speech]), 16000)
    report = check_sync(talking_video, late)
    assert not report.passed and report.offset_ms < -300  # the mouth moves before its sound
    other = tmp_path / "other.wav"
    soundfile.write(other, np.roll(speech, len(speech) // 3), 16000)
    assert not check_sync(talking_video, other).passed


def test_separate_audio_file(talking_video, speech_wav, tmp_path):
    """A video without audio is checked against the speech given as its own file (first 4 s here)."""
    import subprocess

    from aniportrait_cli.media.ffmpeg import ffmpeg_exe

    silent_video = tmp_path / "video_only.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(talking_video), "-t", "4", "-an", "-c:v", "libx264",
                    "-preset", "veryfast", str(silent_video)], check=True)
    with pytest.raises(InputError, match="no audio track"):
        check_sync(silent_video)
    report = check_sync(silent_video, speech_wav)
    assert report.num_frames == 120 and report.face_frames == 120
    assert abs(report.offset_ms) <= MAX_OFFSET_MS


def _smooth_random(length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.convolve(rng.normal(size=length + 8), np.ones(5) / 5, mode="valid")[:length]


def test_report_finds_the_offset():
    expected = _smooth_random(300, 0)
    found = np.ones(300, bool)
    silent = np.zeros(300, bool)
    report = sync_report(expected, found, expected, silent, 30.0)
    assert report.offset_frames == 0 and report.passed and report.confidence > 0.8
    late = np.concatenate([np.zeros(6), expected[:-6]])  # the mouth moves 6 frames (200 ms) after the sound
    report = sync_report(late, found, expected, silent, 30.0)
    assert report.offset_frames == 6 and report.offset_ms == pytest.approx(200.0)
    assert report.correlation > 0.9 and not report.passed


def test_report_flags_an_unrelated_mouth():
    found, silent = np.ones(900, bool), np.zeros(900, bool)
    report = sync_report(_smooth_random(900, 1), found, _smooth_random(900, 2), silent, 30.0)
    assert report.confidence < MIN_CONFIDENCE and not report.passed


def test_mouth_opening_is_lip_gap_over_face_height():
    points = np.zeros((478, 2))
    points[10], points[152] = (100.0, 50.0), (100.0, 250.0)  # face height 200 px
    points[13], points[14] = (100.0, 180.0), (100.0, 190.0)  # lips 10 px apart
    assert mouth_opening(points) == pytest.approx(0.05)


def test_compare_with_real_resamples_to_the_real_frame_times():
    """The same motion seen at 30 fps (generated) and 25 fps (real): r0 = 1, lag 0, std ratio = the scale."""
    def motion(t):
        return 0.04 + 0.02 * np.sin(2 * np.pi * 1.3 * t) * np.sin(2 * np.pi * 0.31 * t)

    generated = 1.5 * motion(np.arange(300) / 30.0)
    real = motion(np.arange(250) / 25.0)
    result = compare_with_real(generated, np.ones(300, bool), 30.0, real, np.ones(250, bool), 25.0)
    assert result.correlation_lag0 > 0.995 and result.best_lag_frames == 0
    assert result.std_ratio == pytest.approx(1.5, rel=0.01)
    late = 1.5 * motion(np.arange(300) / 30.0 - 3 / 25.0)  # the generated mouth 3 real frames late
    assert compare_with_real(late, np.ones(300, bool), 30.0, real, np.ones(250, bool), 25.0).best_lag_frames == 3
    # Frames without a face in the real video are left out.
    missing = np.ones(250, bool)
    missing[100:150] = False
    assert compare_with_real(generated, np.ones(300, bool), 30.0, real, missing, 25.0).frames == 200


def test_video_without_a_face(tmp_path):
    from tests.media_factory import write_test_video

    video = write_test_video(tmp_path / "pattern.mp4", seconds=0.5, size="128x96")
    with pytest.raises(InputError, match="no face"):
        check_sync(video)
