"""Audio -> motion of the classic engine, on real speech (espeak-ng, and ALSA's recorded voices)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aniportrait_cli.classic.audio_motion import ArticulationStyle, blink_times, motion_from_audio
from aniportrait_cli.classic.face_rig import FaceRig
from aniportrait_cli.classic.speech import long_runs
from aniportrait_cli.classic import topology as topo
from aniportrait_cli.motion import Motion

ALSA_VOICE = Path("/usr/share/sounds/alsa/Front_Center.wav")  # "Front ... Center", a recorded voice


def _near(mask: np.ndarray, frames: int) -> np.ndarray:
    return np.convolve(mask.astype(float), np.ones(2 * frames + 1), mode="same") > 0


def test_motion_contract(speech, speech_motion, astronaut_face):
    motion = speech_motion
    assert isinstance(motion, Motion)
    assert motion.fps == 30.0
    assert motion.num_frames == int(np.ceil(len(speech) / 16000 * 30))
    assert motion.mesh.shape == (motion.num_frames, 468, 3)
    np.testing.assert_allclose(motion.ref_trans_mat, astronaut_face.transform)
    assert set(motion.extra) == {"blink", "mouth_open"}
    assert np.isfinite(motion.mesh).all() and np.isfinite(motion.pose).all()


def test_mouth_closed_in_silence_and_open_in_speech(speech_motion, speech_silence, astronaut_face):
    rig = FaceRig(astronaut_face.mesh3d)
    gap = rig.mouth_gap(speech_motion.mesh)  # inner-lip gap in face heights
    # Pauses of 0.3 s or more (not their first and last frame): the mouth rests, still and nearly closed.
    # (Real speakers keep moving through the short gaps inside a phrase, and so does the engine.)
    silence = long_runs(speech_silence, 9) & ~_near(~speech_silence, 1)
    talking = ~_near(speech_silence, 1)
    assert silence.sum() > 60 and talking.sum() > 120
    # The photo shows parted lips (gap ~0.058); in silence the rig nearly closes them.
    assert rig.mouth_gap(astronaut_face.mesh3d[None])[0] > 0.04
    np.testing.assert_allclose(gap[silence], ArticulationStyle().rest_gap, atol=0.002)
    assert np.ptp(gap[silence]) < 0.001
    assert np.median(gap[talking]) > 0.02
    assert np.percentile(gap[talking], 90) > 0.05
    # The mouth moves with the syllables, it is not just held open.
    assert np.std(gap[talking]) > 0.015


def test_lips_shut_on_p_b_m(speech, speech_motion, speech_silence):
    """'Peter picked a peck of pickled peppers': at the heart of every /p b m/ the phone passes hear, the lips
    shut. (Other stop closures are left to the mouth model, which learned them from real speakers: a hard jaw
    rise on top made the motion less like theirs, `bench.fit_mouth`.)"""
    from aniportrait_cli.classic import mouth_model

    steps = mouth_model.speech_steps(speech)
    opening = speech_motion.extra["mouth_open"]
    times = (np.arange(len(opening)) + 0.5) / 30
    at = np.clip(np.round(times / mouth_model.STEP_S).astype(int), 0, len(steps.lips_closed) - 1)
    shut = mouth_model.block_average(steps.lips_closed[:, None], 3)[at, 0] > 0.99
    talking = ~speech_silence & ~_near(speech_silence, 1)
    assert shut.sum() >= 5
    assert np.median(opening[shut]) < 0.3 * np.median(opening[talking])


def test_blinks_spaced_and_seeded(speech, astronaut_face):
    def blinks(seed: int) -> tuple[np.ndarray, Motion]:
        motion = motion_from_audio(speech[: 16000 * 10], astronaut_face.mesh3d, astronaut_face.transform,
                                   astronaut_face.landmarks, seed=seed)
        return blink_times(motion.extra["blink"], motion.fps), motion

    times_a, motion_a = blinks(7)
    times_b, motion_b = blinks(7)
    times_c, _ = blinks(8)
    np.testing.assert_array_equal(times_a, times_b)
    np.testing.assert_array_equal(motion_a.mesh, motion_b.mesh)
    np.testing.assert_array_equal(motion_a.pose, motion_b.pose)
    assert not np.array_equal(times_a, times_c)
    for times in (times_a, times_c):
        assert len(times) >= 2
        assert times[0] < 2.6
        intervals = np.diff(times)
        assert intervals.min() >= 2.0 - 1 / 30 and intervals.max() <= 6.0 + 1 / 30

    # A blink closes both eyes in the mesh: the lid gap nearly vanishes at the blink's peak.
    peak = int(np.argmax(motion_a.extra["blink"]))
    assert motion_a.extra["blink"][peak] == pytest.approx(1.0)
    for upper, lower in topo.EYES:
        up, lo = list(upper[3:6]), list(lower[3:6])
        open_gap = np.mean(astronaut_face.mesh3d[up, 1] - astronaut_face.mesh3d[lo, 1])
        closed_gap = np.mean(motion_a.mesh[peak, up, 1] - motion_a.mesh[peak, lo, 1])
        assert open_gap > 0.2 and abs(closed_gap) < 0.1 * open_gap


def test_head_moves_a_little(speech_motion):
    rotations = speech_motion.pose[:, :3]
    assert np.abs(rotations).max() <= 6.0
    assert rotations.std(axis=0).min() > 0.2
    # Smooth: no frame-to-frame jumps.
    assert np.abs(np.diff(rotations, axis=0)).max() < 0.6
    np.testing.assert_array_equal(speech_motion.pose[:, 3:], 0.0)


def test_recorded_voice(astronaut_face):
    """A real recorded voice (ALSA's 'Front Center'): open on the two words, closed before, between and after."""
    from aniportrait_cli.media.audio import load_audio

    if not ALSA_VOICE.is_file():
        pytest.fail(f"{ALSA_VOICE} is missing: apt-get install alsa-utils")
    samples = load_audio(ALSA_VOICE).samples
    motion = motion_from_audio(samples, astronaut_face.mesh3d, astronaut_face.transform, astronaut_face.landmarks)
    opening = motion.extra["mouth_open"]
    level = np.array([np.sqrt(np.mean(samples[round(i / 30 * 16000): round((i + 1) / 30 * 16000)] ** 2))
                      for i in range(motion.num_frames)])
    loud = level > 0.1 * level.max()
    quiet = level < 0.01 * level.max()
    assert loud.sum() >= 8 and quiet.sum() >= 8
    gap = opening * ArticulationStyle().max_mouth_gap  # in face heights
    assert np.mean(gap[loud]) > 0.025  # real speakers: 0.03-0.07 on average while talking
    assert np.max(gap[quiet & ~_near(loud, 2)]) < ArticulationStyle().rest_gap + 0.004


def test_sustained_singing_keeps_the_mouth_open(astronaut_face):
    """A sung vowel (harmonic tone with vibrato, 2 s) holds the mouth open; the silence after it closes it."""
    rate = 16000
    t = np.arange(2 * rate) / rate
    f0 = 330.0 * 2 ** (0.3 / 12 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    # Formant-like spectral envelope of an /a/ (peaks near 800 and 1200 Hz).
    vowel = sum(np.sin(k * phase) * np.exp(-((k * 330 - 800) / 500) ** 2) + 0.6 * np.sin(k * phase)
                * np.exp(-((k * 330 - 1200) / 400) ** 2) for k in range(1, 20))
    envelope = np.clip(t / 0.05, 0, 1) * np.clip((2 - t) / 0.05, 0, 1)
    samples = np.concatenate([0.2 * vowel * envelope, np.zeros(rate)]).astype(np.float32)
    motion = motion_from_audio(samples, astronaut_face.mesh3d, astronaut_face.transform, astronaut_face.landmarks)
    gap = motion.extra["mouth_open"] * ArticulationStyle().max_mouth_gap
    assert gap[5:55].min() > 0.025  # open all along the vowel, no closing in the middle of the note
    assert gap[65:].max() < ArticulationStyle().rest_gap + 0.001


def test_empty_audio_is_an_error(astronaut_face):
    with pytest.raises(ValueError):
        motion_from_audio(np.zeros(0, np.float32), astronaut_face.mesh3d, astronaut_face.transform, astronaut_face.landmarks)
