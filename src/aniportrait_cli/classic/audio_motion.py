"""Audio -> motion for the classic engine: articulation from the speech signal, no downloaded weights.

* Mouth: how open it is comes from `mouth_model` (phones heard by PocketSphinx plus the spectrum, with
  +-120 ms of context, a ridge regression fitted on real speakers), scaled to a typical speaker's range; lips
  shut on /p b m/, and rest nearly closed and still in pauses of 0.3 s or more. Lip shape follows the phones
  (rounded /u o w/, spread /i e/) and the spectral balance, ~40 ms ahead of the sound.
* Eyes: blinks at random intervals of 2-6 s (seeded), a fast close and a slower opening.
* Head: a slow seeded sway, small nods on stressed syllables and a slight lift on high pitch; quieter
  during pauses.

The phone recogniser is English, but the mouth model also sees the spectrum and holds sung notes open, so
other languages and singing work too (see `phones.py`).
The result is a `Motion` (canonical meshes + head poses) that the classic renderer, the neural engine's
pose images and the landmark preview all consume.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aniportrait_cli.classic import mouth_model, phones
from aniportrait_cli.classic.face_rig import FaceRig
from aniportrait_cli.classic.mouth_model import MouthModel, SpeechSteps
from aniportrait_cli.classic.speech import SpeechFeatures, gaussian_kernel, long_runs, smooth, speech_features
from aniportrait_cli.motion import ChunkedMeshes, Motion

DEFAULT_FPS = 30.0
ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class ArticulationStyle:
    """Amplitudes of the generated motion (defaults suit conversational speech)."""

    # The square root of the inner-lip gap (face heights): its mean and std over a clip. Real speakers: mean
    # 0.16-0.25, std 0.06-0.08 (gaps averaging 0.03-0.07 and varying by 0.018-0.037).
    gap_root_mean: float = 0.205
    gap_root_std: float = 0.068
    mean_mouth_gap: float = 0.042  # a speaker's average inner-lip gap while talking, in face heights
    max_mouth_gap: float = 0.11  # the widest opening
    rest_after_s: float = 0.3  # pauses at least this long rest the mouth
    rest_gap: float = 0.015  # the resting lips' gap (face heights): nearly closed
    rest_below_db: float = -30.0  # sound this far below the clip's loud speech counts as pause (breaths, room)
    anticipation_s: float = 0.04  # lip shapes lead their sound by this much
    lip_shape: float = 0.8  # strength of rounding / spreading
    blink_interval_s: tuple[float, float] = (2.0, 6.0)
    blink_close_s: float = 0.09
    blink_hold_s: float = 0.03
    blink_open_s: float = 0.16
    head_sway_deg: tuple[float, float, float] = (1.2, 2.2, 0.8)  # rx (nod), ry (turn), rz (tilt) std
    head_nod_deg: float = 1.5  # downward nod on a stressed syllable
    head_pitch_lift_deg: float = 0.25  # head lift per semitone of voice pitch
    head_max_deg: float = 6.0


@dataclass
class Articulation:
    """Per-frame controls (T,) of the face rig, plus the head pose (T, 6)."""

    mouth_gap: np.ndarray
    lip_round: np.ndarray
    blink: np.ndarray
    pose: np.ndarray


def mouth_track(features: SpeechFeatures, steps: SpeechSteps, style: ArticulationStyle = ArticulationStyle(),
                model: MouthModel | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mouth_gap in face heights, lip_round -1..1) per frame.

    The opening comes from the learned mouth model (phones + spectrum with +-120 ms of context, so the jaw
    anticipates and lingers as real ones do), scaled to a typical speaker's range. On top of it: lips shut at
    the heart of every /p b m/, and the mouth rests, nearly closed and still, in pauses longer than `rest_after_s`.
    """
    n, fps = features.num_frames, features.fps
    times = (np.arange(n) + 0.5) / fps
    z = (model or mouth_model.default_model()).predict_at(steps.features, times)
    # Every clip gets a typical speaker's range of motion: how far a real speaker opens varies 2x between people
    # and is not heard in the sound, while a model fitted on other speakers predicts some voices more timidly
    # than others. So the prediction is re-standardised over the clip (once it is long enough to tell).
    if n >= fps:
        z = (z - z.mean()) / max(float(z.std()), 0.25)
    root = np.maximum(style.gap_root_mean + style.gap_root_std * z, 0.0)
    opening = np.clip(root * root, 0.0, style.max_mouth_gap)

    # Held notes (singing, drawn-out vowels: loud sound for 0.3 s or more) keep the mouth open; the model,
    # learned on speech, would let it drift shut.
    held = long_runs(features.speech & (features.level > -6.0), max(1, int(round(0.3 * fps))))
    opening = np.where(held, np.maximum(opening, style.mean_mouth_gap), opening)

    # Lips shut at the heart of every /p b m/ that either phone decoder hears.
    closed = mouth_model.block_average(steps.lips_closed[:, None], 3)[:, 0]
    at_frames = np.clip(np.round(times / mouth_model.STEP_S).astype(np.int64), 0, len(closed) - 1)
    opening *= 1.0 - np.clip(closed[at_frames], 0.0, 1.0)

    # A real pause (one long enough for a real speaker to settle the lips) rests the mouth: still, and nearly
    # closed, lips just apart, as relaxed speakers hold them (the real speakers of `bench.real_talk` do not
    # press their lips shut in pauses; a fully shut rest made the motion less like theirs). The signal level
    # decides (the phone recogniser hears phones in breaths and room noise, and silence in long sung vowels);
    # blips of sound shorter than 0.07 s do not interrupt a pause. Shorter gaps inside phrases keep the model's
    # motion: a stop closure is already in it.
    voiced_enough = features.speech & (features.level > style.rest_below_db)  # breaths stay below this
    pause = ~long_runs(voiced_enough, max(1, int(round(0.07 * fps))))
    rest = long_runs(pause, max(1, int(round(style.rest_after_s * fps))))
    # Before the first sound and after the last one the mouth rests too, however short that pause is.
    sound = np.flatnonzero(~pause)
    if sound.size:
        rest[: sound[0]] = True
        rest[sound[-1] + 1:] = True
    opening = smooth(np.where(rest, style.rest_gap, opening), np.array([1.0, 2.0, 1.0]))
    inside_rest = rest.copy()  # a one-frame ramp at each end of a rest, still in between
    inside_rest[1:] &= rest[:-1]
    inside_rest[:-1] &= rest[1:]
    opening[inside_rest] = style.rest_gap

    # Lip shape: phones say rounded or spread; the spectrum (dark = rounded) fills in where they are unsure.
    # Shapes start ~40 ms before their sound (anticipation) and blend over ~100 ms (coarticulation).
    last_step = len(steps.phone_tracks) - 1
    anticipated = np.clip(np.round((times + style.anticipation_s) / mouth_model.STEP_S).astype(np.int64), 0, last_step)
    from_phones = phones.rounding_track(mouth_model.block_average(steps.phone_tracks, 10))[anticipated]
    from_spectrum = -np.clip(features.brightness / 1.5, -1.0, 1.0)
    rounding = np.where(features.speech, 0.7 * from_phones + 0.3 * from_spectrum, 0.0) * style.lip_shape
    rounding = smooth(rounding, gaussian_kernel(0.05 * fps))
    return opening.astype(np.float64), np.clip(rounding, -1.0, 1.0)


def blink_track(num_frames: int, fps: float, rng: np.random.Generator, style: ArticulationStyle = ArticulationStyle()) -> np.ndarray:
    """Eyelid closure 0..1 per frame: blinks 2-6 s apart (first one within the first 2.5 s)."""
    duration = num_frames / fps
    times = []
    t = rng.uniform(0.6, 2.5)
    while t < duration - 0.1:
        times.append(t)
        t += rng.uniform(*style.blink_interval_s)
    frame_times = (np.arange(num_frames) + 0.5) / fps
    closure = np.zeros(num_frames)
    for t in times:
        # Align the fully closed instant with a frame so every blink shows a closed eye at any fps.
        start = (np.floor(t * fps) + 0.5) / fps - style.blink_close_s
        closing = np.clip((frame_times - start) / style.blink_close_s, 0.0, 1.0)
        opening_start = start + style.blink_close_s + style.blink_hold_s
        opening = np.clip((frame_times - opening_start) / style.blink_open_s, 0.0, 1.0)
        shape = np.sin(0.5 * np.pi * closing) ** 2 * (1.0 - opening * opening * (3.0 - 2.0 * opening))
        closure = np.maximum(closure, shape)
    return closure


def blink_times(blink: np.ndarray, fps: float, threshold: float = 0.5) -> np.ndarray:
    """Start times (s) of the blinks in a closure track (rising crossings of `threshold`)."""
    closed = np.asarray(blink) >= threshold
    starts = np.flatnonzero(closed & ~np.concatenate([[False], closed[:-1]]))
    return starts / fps


def _band_noise(num_frames: int, fps: float, rng: np.random.Generator, low_hz: float, high_hz: float) -> np.ndarray:
    """Unit-std smooth random signal made of a few sinusoids with random frequencies and phases."""
    t = np.arange(num_frames) / fps
    freqs = rng.uniform(low_hz, high_hz, size=4)
    phases = rng.uniform(0.0, 2 * np.pi, size=4)
    weights = rng.uniform(0.5, 1.0, size=4)
    signal = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None] + phases[:, None])).sum(axis=0)
    return signal / np.sqrt(0.5 * np.sum(weights**2))


def head_track(features: SpeechFeatures, rng: np.random.Generator, style: ArticulationStyle = ArticulationStyle()) -> np.ndarray:
    """Head pose (T, 6): rx, ry, rz in degrees (rx > 0 nods down), no translation."""
    n, fps = features.num_frames, features.fps
    activity = smooth(features.speech.astype(np.float64), gaussian_kernel(0.6 * fps))
    liveliness = 0.5 + 0.5 * activity  # calmer in pauses

    sway = np.stack([_band_noise(n, fps, rng, 0.05, 0.35) for _ in range(3)], axis=1) * np.array(style.head_sway_deg)
    pose = np.zeros((n, 6))
    pose[:, :3] = sway * liveliness[:, None]

    # Stress: syllables louder than their surroundings bring a small nod.
    loud = np.where(features.speech, np.clip(features.level + 30.0, 0.0, None), 0.0)
    local = smooth(loud, gaussian_kernel(0.12 * fps))
    context = smooth(loud, gaussian_kernel(0.8 * fps))
    stress = np.clip((local - context) / 10.0, 0.0, 1.0)
    pose[:, 0] += style.head_nod_deg * smooth(stress, gaussian_kernel(0.1 * fps))

    # Intonation: the head lifts a little with the voice (median-filtered pitch, octave slips removed).
    pitch = features.pitch.copy()
    voiced = pitch != 0.0
    if voiced.any():
        pitch = np.interp(np.arange(n), np.flatnonzero(voiced), pitch[voiced])
        pitch = np.array([np.median(pitch[max(0, i - 3): i + 4]) for i in range(n)])
        pitch = np.clip(pitch, -6.0, 6.0) * activity
        pose[:, 0] -= style.head_pitch_lift_deg * smooth(pitch, gaussian_kernel(0.2 * fps))

    pose[:, :3] = np.clip(pose[:, :3], -style.head_max_deg, style.head_max_deg)
    for axis in range(3):
        pose[:, axis] = smooth(pose[:, axis], gaussian_kernel(0.08 * fps))
    return pose


def articulation_from_audio(
    samples_16k: np.ndarray,
    fps: float = DEFAULT_FPS,
    seed: int = 0,
    num_frames: int | None = None,
    style: ArticulationStyle = ArticulationStyle(),
) -> Articulation:
    """Rig controls and head pose per video frame for 16 kHz mono samples."""
    features = speech_features(samples_16k, fps, num_frames)
    rng = np.random.default_rng(seed)
    gap, rounding = mouth_track(features, mouth_model.speech_steps(samples_16k), style)
    blink = blink_track(features.num_frames, fps, rng, style)
    pose = head_track(features, rng, style)
    return Articulation(mouth_gap=gap, lip_round=rounding, blink=blink, pose=pose)


def motion_from_audio(
    samples_16k: np.ndarray,
    ref_mesh: np.ndarray,
    ref_trans_mat: np.ndarray,
    ref_landmarks: np.ndarray,
    seed: int = 0,
    fps: float = DEFAULT_FPS,
    num_frames: int | None = None,
    style: ArticulationStyle = ArticulationStyle(),
) -> Motion:
    """A talking `Motion` for a reference face from 16 kHz mono float samples.

    ref_mesh (468, 3) canonical mesh, ref_trans_mat (4, 4) and ref_landmarks (478, 3) of the reference face
    (`FaceObservation.mesh3d`, `.transform`, `.landmarks`). Frames: ceil(duration * fps) unless given.
    extra channels: "blink" (0..1 eyelid closure), "mouth_open" (0..1 of the style's largest gap).
    """
    samples = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    if samples.size == 0:
        raise ValueError("no audio samples")
    articulation = articulation_from_audio(samples, fps, seed, num_frames, style)
    rig = FaceRig(ref_mesh)
    # Meshes are made from the per-frame controls a chunk at a time as the renderer reads them (flat memory).
    meshes = ChunkedMeshes(len(articulation.mouth_gap), lambda a, b: rig.deform(
        articulation.mouth_gap[a:b], articulation.lip_round[a:b], articulation.blink[a:b]))
    return Motion(
        mesh=meshes,
        pose=articulation.pose.astype(np.float32),
        fps=fps,
        ref_trans_mat=ref_trans_mat,
        ref_landmarks=ref_landmarks,
        extra={
            "blink": articulation.blink.astype(np.float32),
            "mouth_open": (articulation.mouth_gap / style.max_mouth_gap).astype(np.float32),
        },
    )
