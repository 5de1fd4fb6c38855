"""The weightless engine's promise, checked as a user would: real synthetic speech in, lip-synced mp4 out."""

import json
import math
import shutil
import subprocess

import numpy as np
import pytest
import soundfile
from PIL import Image

from tests.cli.run import aniportrait, assert_clean_error, json_lines

SPEECH = ("Good morning everyone. Today we talk about portraits that speak. "
          "First the face is found in the photo. Then the voice moves the lips and the jaw. Thank you.")


@pytest.fixture(scope="module")
def speech_and_face(tmp_path_factory):
    from skimage import data

    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed for the lip-sync tests: apt-get install espeak-ng")
    folder = tmp_path_factory.mktemp("speech")
    subprocess.run(["espeak-ng", "-w", str(folder / "speech.wav"), SPEECH], check=True)
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    return folder


def test_audio2vid_report_says_lip_synced(speech_and_face, tmp_path):
    folder = speech_and_face
    result = aniportrait("audio2vid", "--ref", folder / "astronaut.png", "--audio", folder / "speech.wav",
                         "--report", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    seconds = soundfile.info(str(folder / "speech.wav")).duration
    assert summary["frames"] == math.ceil(seconds * 30 - 1e-9)
    sync = summary["sync"]
    assert sync["confidence"] >= 0.22, sync
    assert abs(sync["offset_ms"]) <= 160, sync
    assert sync["silence_motion"] <= 0.1, sync
    assert "lip-synced" in result.stderr
    video = tmp_path / "astronaut__speech.mp4"
    again = aniportrait("check-sync", video, "--json")
    assert again.returncode == 0
    [line] = json_lines(again)  # validated against result.schema.json
    assert line["kind"] == "sync" and line["passed"] is True and line["exit_code"] == 0

    # The report is the result: on stdout. Sound half a second late: not lip-synced, exit code 3.
    samples, rate = soundfile.read(str(folder / "speech.wav"), dtype="float32")
    late = tmp_path / "late.wav"
    soundfile.write(str(late), np.concatenate([np.zeros(rate // 2, np.float32), samples]), rate)
    shifted = aniportrait("check-sync", video, "--audio", late)
    assert shifted.returncode == 3, shifted.stderr
    assert "NOT lip-synced" in shifted.stdout and "offset" in shifted.stdout
    [line] = json_lines(aniportrait("check-sync", video, "--audio", late, "--json"))
    assert line["passed"] is False and line["exit_code"] == 3 and line["offset_ms"] < -300

    # --against: the video compared with itself moves exactly like itself.
    itself = aniportrait("check-sync", video, "--against", video, "--json")
    assert itself.returncode == 0, itself.stderr
    [fields] = json_lines(itself)
    assert fields["correlation_lag0"] > 0.99 and fields["best_lag_frames"] == 0
    assert abs(fields["std_ratio"] - 1.0) < 1e-6


def test_check_sync_help_states_the_rule_and_exit_code():
    from aniportrait_cli.sync_rules import VERDICT_RULE

    result = aniportrait("check-sync", "--help", env={"COLUMNS": "400"})
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert " ".join(VERDICT_RULE.split()) in text
    assert "3 not lip-synced" in text


def test_check_sync_needs_audio(tmp_path):
    from tests.media_factory import write_test_video

    video = write_test_video(tmp_path / "mute.mp4", with_audio=False)
    assert_clean_error(aniportrait("check-sync", video), 2, "mute.mp4")
