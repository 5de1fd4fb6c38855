"""Mouth opening from speech, learned from real talking heads: a ridge regression small enough to read.

Inputs per 10 ms step: the log-mel spectrum (20 bands, normalised over the clip so recording gain and
microphone colour drop out), the overall level, and two sets of phone tracks of `phones.py` (viseme groups,
openness, silence), one from the phone loop and one from the phones of recognised English words. They are
averaged over 40 ms blocks and stacked at 7 moments from -120 ms to +120 ms around each video frame, so the model
sees coarticulation: a mouth already closing for an upcoming /m/, still rounded after /u/.

Output: how open the mouth is at that frame, as a z-score over the clip of the opening's square root (0 = the
speaker's average, +-1 = one standard deviation; the root because the opening is skewed), smoothed over ~60 ms as a real jaw is (its mass filters out faster wiggles),
which `audio_motion.py` turns into a lip gap.

The coefficients (`mouth_model.npz`, ~1.6 k numbers) were fitted by `python -m aniportrait_cli.bench.fit_mouth` on the
development clips of real speakers (their mouth opening measured by MediaPipe); that command also prints the
leave-one-clip-out correlation, the honest estimate on unseen speakers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from aniportrait_cli.classic import phones as phone_module
from aniportrait_cli.classic.speech import gaussian_kernel, smooth

SAMPLE_RATE = 16000
STEP = 160  # 10 ms
STEP_S = STEP / SAMPLE_RATE
WINDOW = 400  # 25 ms
FFT_SIZE = 512
NUM_MELS = 20
MEL_RANGE_HZ = (80.0, 7600.0)
BLOCK_STEPS = 4  # 40 ms blocks
FLOOR_DB = 80.0
TAPS = tuple(range(-3, 4))  # blocks around the frame
MODEL_PATH = Path(__file__).with_name("mouth_model.npz")
# Long audio is analysed in pieces of this many steps, so memory stays flat.
ANALYSIS_CHUNK_STEPS = 6000
# The prediction is smoothed with a Gaussian of this std (seconds).
SMOOTH_S = 0.06


def _mel_filterbank() -> np.ndarray:
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(MEL_RANGE_HZ[0]), mel(MEL_RANGE_HZ[1]), NUM_MELS + 2))
    freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE)
    bank = np.zeros((NUM_MELS, len(freqs)), dtype=np.float32)
    for i in range(NUM_MELS):
        low, centre, high = edges[i: i + 3]
        bank[i] = np.clip(np.minimum((freqs - low) / (centre - low), (high - freqs) / (high - centre)), 0.0, None)
    return bank


def _spectral_steps(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log-mel (S, NUM_MELS), log power (S,)) per 10 ms step, window centred on the step's start."""
    num_steps = len(samples) // STEP + 1
    padded = np.concatenate([np.zeros(WINDOW // 2, np.float32), samples, np.zeros(WINDOW, np.float32)])
    bank, window = _mel_filterbank(), np.hanning(WINDOW).astype(np.float32)
    mels, power = np.empty((num_steps, NUM_MELS), np.float32), np.empty(num_steps, np.float32)
    for first in range(0, num_steps, ANALYSIS_CHUNK_STEPS):
        steps = np.arange(first, min(first + ANALYSIS_CHUNK_STEPS, num_steps))
        frames = padded[steps[:, None] * STEP + np.arange(WINDOW)[None, :]] * window
        spectrum = np.abs(np.fft.rfft(frames, FFT_SIZE, axis=1)) ** 2
        mels[steps] = np.log(spectrum @ bank.T + 1e-10)
        power[steps] = np.log(spectrum.sum(axis=1) + 1e-10)
    return mels, power


@dataclass(frozen=True)
class SpeechSteps:
    """Everything the mouth needs per 10 ms step of the audio."""

    features: np.ndarray  # (S, F) model inputs
    phone_tracks: np.ndarray  # (S, len(phones.TRACK_NAMES)), the mean of the two decoders' tracks
    lips_closed: np.ndarray  # (S,) 1 where either decoder hears /p b m/

    @property
    def silence(self) -> np.ndarray:
        return self.phone_tracks[:, -1] > 0.5


def speech_steps(samples_16k: np.ndarray) -> SpeechSteps:
    """Model inputs per 10 ms step of 16 kHz mono float samples (phones decoded here)."""
    samples = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    mels, power = _spectral_steps(samples)
    # Nothing below the clip's loud speech minus FLOOR_DB counts: digital silence would otherwise give
    # log values far outside anything a real recording (with its noise floor) produces.
    floor = FLOOR_DB / 10.0 * np.log(10.0)
    mels = np.maximum(mels, np.percentile(mels, 95) - floor)
    power = np.maximum(power, np.percentile(power, 95) - floor)
    mels = (mels - mels.mean(axis=0)) / (mels.std() + 1e-6)
    level = (power - np.percentile(power, 95)) / 10.0  # natural-log units re. the clip's loud speech
    loop_phones, word_phones = phone_module.recognise_all(samples)
    loop = phone_module.phone_tracks(loop_phones, len(power))
    words = phone_module.phone_tracks(word_phones, len(power))
    features = np.concatenate([mels, level[:, None], loop, words], axis=1).astype(np.float32)
    closed = list(phone_module.TRACK_NAMES).index("closed")
    return SpeechSteps(features, (0.5 * (loop + words)).astype(np.float32), np.maximum(loop[:, closed], words[:, closed]))


NUM_FEATURES = NUM_MELS + 1 + 2 * len(phone_module.TRACK_NAMES)


def block_average(values: np.ndarray, block: int = BLOCK_STEPS) -> np.ndarray:
    """Moving average over `block` steps along axis 0 (edges repeated)."""
    padded = np.concatenate([np.repeat(values[:1], block, 0), values, np.repeat(values[-1:], block, 0)])
    sums = np.cumsum(padded, axis=0, dtype=np.float64)
    start = block + (block - 1) // 2
    out = (sums[start: start + len(values)] - sums[start - block: start - block + len(values)]) / block
    return out.astype(np.float32)


def design_matrix(features: np.ndarray, frame_times_s: np.ndarray) -> np.ndarray:
    """(T, F * len(TAPS)) model inputs around each frame time (seconds)."""
    averaged = block_average(features)
    last = len(averaged) - 1
    steps = np.asarray(frame_times_s, dtype=np.float64) / STEP_S
    columns = [averaged[np.clip(np.round(steps + tap * BLOCK_STEPS).astype(np.int64), 0, last)] for tap in TAPS]
    return np.concatenate(columns, axis=1)


PREDICT_CHUNK_FRAMES = 4096  # frames per design-matrix block, so long audio never builds one huge matrix


@dataclass(frozen=True)
class MouthModel:
    """z = ((x - mean) / scale) @ weights * gain, for design-matrix rows x."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    gain: float  # makes the prediction's std 1 on the training clips

    def predict(self, design: np.ndarray) -> np.ndarray:
        return ((design - self.mean) / self.scale) @ self.weights * self.gain

    def predict_at(self, features: np.ndarray, frame_times_s: np.ndarray) -> np.ndarray:
        """The smoothed prediction at each (evenly spaced) frame time for per-step `features`, block by block."""
        times = np.asarray(frame_times_s, dtype=np.float64)
        blocks = [self.predict(design_matrix(features, times[i: i + PREDICT_CHUNK_FRAMES]))
                  for i in range(0, len(times), PREDICT_CHUNK_FRAMES)]
        if not blocks:
            return np.zeros(0, np.float32)
        prediction = np.concatenate(blocks)
        sigma_frames = SMOOTH_S / max(float(np.median(np.diff(times))), 1e-6) if len(times) > 1 else 0.0
        if sigma_frames >= 0.3:  # below that, a frame is longer than the smoothing: nothing to smooth
            prediction = smooth(prediction, gaussian_kernel(sigma_frames))
        return prediction.astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez(path, mean=self.mean, scale=self.scale, weights=self.weights, gain=np.array(self.gain),
                 taps=np.array(TAPS), block_steps=np.array(BLOCK_STEPS), num_mels=np.array(NUM_MELS),
                 num_features=np.array(NUM_FEATURES))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> MouthModel:
        with np.load(path) as data:
            if (tuple(data["taps"]) != TAPS or int(data["block_steps"]) != BLOCK_STEPS or int(data["num_mels"]) != NUM_MELS
                    or "num_features" not in data or int(data["num_features"]) != NUM_FEATURES):
                raise ValueError(f"{path}: fitted for other features; refit with `python -m aniportrait_cli.bench.fit_mouth`")
            return cls(data["mean"], data["scale"], data["weights"], float(data["gain"]))


def fit(designs: list[np.ndarray], targets: list[np.ndarray], alpha: float = 1000.0) -> MouthModel:
    """Ridge regression of the z-scored square root of the mouth opening on design rows (one array per clip).

    The square root because the opening itself is skewed (long stretches nearly closed, brief wide vowels) and
    its root is close to normal, which suits a least-squares fit; `audio_motion` squares the prediction back.
    """
    x = np.concatenate(designs).astype(np.float64)
    roots = [np.sqrt(np.maximum(t, 0.0)) for t in targets]
    y = np.concatenate([(r - r.mean()) / max(r.std(), 1e-9) for r in roots])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    a = (x - mean) / scale
    weights = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ y)
    gain = 1.0 / max(float((a @ weights).std()), 1e-9)
    return MouthModel(mean.astype(np.float32), scale.astype(np.float32), weights.astype(np.float32), gain)


# Another fitted model file, for evaluation on held-out clips (`bench.real_talk --leave-one-out`).
MODEL_ENV = "ANIPORTRAIT_MOUTH_MODEL"


def default_model() -> MouthModel:
    return _load_cached(os.environ.get(MODEL_ENV) or str(MODEL_PATH))


@lru_cache(maxsize=2)
def _load_cached(path: str) -> MouthModel:
    return MouthModel.load(Path(path))
