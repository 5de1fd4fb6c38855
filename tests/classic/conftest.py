"""Fixtures of the classic-engine tests: real speech made offline with espeak-ng, the astronaut portrait."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import soundfile

SAMPLE_RATE = 16000
# Sentences separated by real pauses (digital silence), about 10 s in all.
SENTENCES = (
    "Hello there.",
    "Peter picked a peck of pickled peppers.",
    "Blue moon and cool food, we see green trees.",
)
PAUSE_S = 0.7


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed; the classic-engine tests speak with it: apt-get install espeak-ng")
    return exe


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """~10 s of espeak-ng speech at 16 kHz: a pause, then three sentences each followed by a pause."""
    from aniportrait_cli.media.audio import load_audio

    folder = tmp_path_factory.mktemp("speech")
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    parts = [pause]
    for index, sentence in enumerate(SENTENCES):
        raw = folder / f"sentence{index}.wav"
        subprocess.run([_espeak(), "-s", "150", "-w", str(raw), sentence], check=True, capture_output=True)
        parts += [load_audio(raw).samples, pause]
    path = folder / "speech.wav"
    soundfile.write(path, np.concatenate(parts), SAMPLE_RATE)
    return path


@pytest.fixture(scope="session")
def speech(speech_wav) -> np.ndarray:
    from aniportrait_cli.media.audio import load_audio

    return load_audio(speech_wav).samples


@pytest.fixture(scope="session")
def speech_silence(speech) -> np.ndarray:
    """Per 30 fps frame: True where the audio during the frame's display interval is digital silence."""
    frames = int(np.ceil(len(speech) / SAMPLE_RATE * 30))
    edges = np.round(np.arange(frames + 1) / 30 * SAMPLE_RATE).astype(int)
    return np.array([not np.any(np.abs(speech[a:b]) > 1e-4) for a, b in zip(edges[:-1], edges[1:])])


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def astronaut_face(astronaut):
    from aniportrait_cli.landmarks.extractor import detect_reference_face

    return detect_reference_face(astronaut, "astronaut")


@pytest.fixture(scope="session")
def astronaut_renderer(astronaut, astronaut_face):
    from aniportrait_cli.classic.renderer import ClassicRenderer

    return ClassicRenderer.from_face(astronaut, astronaut_face)


@pytest.fixture(scope="session")
def speech_motion(speech, astronaut_face):
    from aniportrait_cli.classic.audio_motion import motion_from_audio

    return motion_from_audio(speech, astronaut_face.mesh3d, astronaut_face.transform, astronaut_face.landmarks, seed=3)
