"""Per-video-frame features of a speech or singing signal, measured without any learned model.

Frame i describes the audio heard while video frame i is on screen: a Hann window centred on
(i + 0.5) / fps seconds. Levels are in dB relative to the clip's loud speech (its 95th percentile), so the
features do not depend on the recording gain.

level        speech-band (250-4000 Hz) level, dB re. the clip's loud speech
silence_db   the clip's silence threshold on `level` (a scalar)
speech       bool, the level is above the silence threshold
openness     vowel height from the first-formant region: positive for open vowels (/a/), negative for
             close ones (/i/, /u/); z-score over the speech frames
brightness   second-formant region vs first-formant region balance: high for spread vowels (/i/, /e/),
             low for rounded ones (/u/, /o/); z-score over the speech frames
hiss         0..1 share of high-frequency (4-8 kHz) noise, fricatives (/s/, /f/) are near 1
onset        bool, a sharp rise after a near-silent frame (stop-consonant release)
pitch        voice pitch in semitones re. the clip's median pitch, 0 where unvoiced
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
WINDOW_S = 0.040
FFT_SIZE = 1024
PITCH_RANGE_HZ = (70.0, 800.0)

# Speech band, first-formant low/high, second-formant region, fricative noise.
FEATURE_BANDS_HZ = [(250, 4000), (250, 550), (550, 1100), (1100, 3000), (4000, 8000)]
BLOCK_FRAMES = 2048  # video frames analysed at a time

# Silence: this far below the clip's loud speech, or close to its noise floor (whichever is higher).
SILENCE_BELOW_LOUD_DB = 35.0


@dataclass
class SpeechFeatures:
    fps: float
    level: np.ndarray
    silence_db: float
    speech: np.ndarray
    openness: np.ndarray
    brightness: np.ndarray
    hiss: np.ndarray
    onset: np.ndarray
    pitch: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.level.shape[0])


def num_video_frames(num_samples: int, fps: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Frames covering the audio, ceil(duration * fps) like the neural engine (at least 1)."""
    return max(1, int(np.ceil(num_samples / sample_rate * fps - 1e-9)))


def frame_windows(samples: np.ndarray, fps: float, num_frames: int, window_s: float = WINDOW_S,
                  first_frame: int = 0) -> np.ndarray:
    """(num_frames - first_frame, L) Hann-windowed slices centred on the display intervals of video frames
    first_frame..num_frames-1 (zero padded)."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    length = int(round(window_s * SAMPLE_RATE))
    centers = np.round((np.arange(first_frame, num_frames) + 0.5) / fps * SAMPLE_RATE).astype(np.int64)
    starts = centers - length // 2
    padded = np.concatenate([np.zeros(length, np.float32), samples, np.zeros(length, np.float32)])
    index = starts[:, None] + length + np.arange(length)[None, :]
    return padded[np.clip(index, 0, len(padded) - 1)] * np.hanning(length).astype(np.float32)[None, :]


def band_levels_db(windows: np.ndarray, bands_hz: list[tuple[float, float]]) -> np.ndarray:
    """(num_frames, len(bands)) mean power per band in dB (floor -120 dB)."""
    spectrum = np.abs(np.fft.rfft(windows, n=FFT_SIZE, axis=1)) ** 2
    freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE)
    out = np.empty((windows.shape[0], len(bands_hz)), dtype=np.float64)
    for k, (lo, hi) in enumerate(bands_hz):
        sel = (freqs >= lo) & (freqs < hi)
        out[:, k] = 10.0 * np.log10(spectrum[:, sel].mean(axis=1) + 1e-12)
    return out


def silence_threshold(level_db: np.ndarray) -> float:
    """Level (dB, same reference as `level_db`) below which a frame counts as silent."""
    loud = float(np.percentile(level_db, 95))
    floor = float(np.percentile(level_db, 10))
    # A clip with real pauses has its floor far below the speech; a clip without pauses does not, and then
    # only frames well below its loud parts are silence.
    return max(loud - SILENCE_BELOW_LOUD_DB, min(floor + 6.0, loud - 20.0))


def long_runs(mask: np.ndarray, min_length: int) -> np.ndarray:
    """The parts of a boolean `mask` that belong to runs of at least `min_length` consecutive True values."""
    mask = np.asarray(mask, dtype=bool)
    out = np.zeros_like(mask)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2]):
        if end - start >= min_length:
            out[start:end] = True
    return out


def _zscore(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if mask.sum() < 2:
        return np.zeros_like(values)
    mean, std = values[mask].mean(), values[mask].std()
    return np.where(mask, (values - mean) / max(std, 1e-6), 0.0)


def _pitch_lags(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the autocorrelation peak's lag (samples) in the pitch range and its strength (0..1)."""
    n = windows.shape[1]
    spectrum = np.fft.rfft(windows, n=2 * FFT_SIZE, axis=1)
    autocorr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :n]
    # Unbias for the window overlap so long lags are not penalised.
    overlap = np.correlate(np.hanning(n), np.hanning(n), mode="full")[n - 1:]
    autocorr = autocorr / np.maximum(overlap[None, :] / overlap[0], 0.1)
    lo = int(SAMPLE_RATE / PITCH_RANGE_HZ[1])
    hi = min(int(SAMPLE_RATE / PITCH_RANGE_HZ[0]), n - 1)
    lag = lo + np.argmax(autocorr[:, lo:hi], axis=1)
    strength = autocorr[np.arange(len(lag)), lag] / np.maximum(autocorr[:, 0], 1e-12)
    return lag, strength


def _pitch_semitones(lag: np.ndarray, strength: np.ndarray, voiced_candidates: np.ndarray) -> np.ndarray:
    """Autocorrelation pitch per frame, in semitones re. the median voiced pitch (0 where unvoiced)."""
    voiced = voiced_candidates & (strength > 0.5)
    semitones = np.zeros(len(lag))
    if voiced.any():
        f0 = SAMPLE_RATE / lag[voiced]
        semitones[voiced] = 12.0 * np.log2(f0 / np.median(f0))
    return np.clip(semitones, -12.0, 12.0)


def speech_features(samples: np.ndarray, fps: float = 30.0, num_frames: int | None = None) -> SpeechFeatures:
    """Features of 16 kHz mono float samples, one row per video frame (see the module docstring)."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if num_frames is None:
        num_frames = num_video_frames(len(samples), fps)
    # Frame-local measurements block by block (memory stays flat with the clip's length); the clip-wide
    # normalisations below then work on these few numbers per frame.
    levels = np.empty((num_frames, len(FEATURE_BANDS_HZ)))
    lags, strengths = np.empty(num_frames, dtype=np.int64), np.empty(num_frames)
    for start in range(0, num_frames, BLOCK_FRAMES):
        stop = min(num_frames, start + BLOCK_FRAMES)
        windows = frame_windows(samples, fps, stop, first_frame=start)
        levels[start:stop] = band_levels_db(windows, FEATURE_BANDS_HZ)
        lags[start:stop], strengths[start:stop] = _pitch_lags(windows)
    speech_band, f1_low, f1_high, f2_band, high = levels.T

    loud = float(np.percentile(speech_band, 95))
    level = speech_band - loud
    threshold = silence_threshold(level)
    speech = level > threshold
    # Nothing at all (digital silence, or a clip quieter than -80 dBFS): no speech anywhere.
    speech &= speech_band > -80.0

    openness = _zscore(f1_high - f1_low, speech)
    brightness = _zscore(f2_band - 0.5 * (f1_low + f1_high), speech)
    hiss = np.clip((high - speech_band + 6.0) / 12.0, 0.0, 1.0) * speech

    previous = np.concatenate([[level[0]], level[:-1]])
    onset = speech & (level - previous > 9.0) & (previous < threshold + 12.0)

    pitch = _pitch_semitones(lags, strengths, speech)
    return SpeechFeatures(
        fps=float(fps), level=level, silence_db=threshold, speech=speech, openness=openness, brightness=brightness,
        hiss=hiss, onset=onset, pitch=pitch,
    )


def smooth(values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Per-frame values convolved with a (normalised) kernel, edges repeated."""
    kernel = np.asarray(kernel, dtype=np.float64)
    kernel = kernel / kernel.sum()
    half = len(kernel) // 2
    padded = np.pad(values, half, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def gaussian_kernel(sigma_frames: float) -> np.ndarray:
    """Gaussian weights over +-3 sigma (at least one frame each side) for `smooth`."""
    half = max(1, int(round(3 * sigma_frames)))
    x = np.arange(-half, half + 1)
    return np.exp(-0.5 * (x / max(sigma_frames, 1e-6)) ** 2)
