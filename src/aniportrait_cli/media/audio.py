"""Audio input: any common file -> mono float32 at 16 kHz for the models; the original file is kept for muxing.

wav/flac/ogg/mp3/aiff are decoded with soundfile (libsndfile); m4a/aac/mp4/mov/webm/... (an audio track in any
container) with the bundled ffmpeg.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError
from aniportrait_cli.media.ffmpeg import ffmpeg_exe, probe

MODEL_SAMPLE_RATE = 16000
SOUNDFILE_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff"}
# Peak below this (about -80 dBFS) means there is nothing to lip-sync.
SILENCE_PEAK = 1e-4


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # (N,) float32 mono at `sample_rate`
    sample_rate: int
    source: Path  # the original file, muxed into the output unchanged in content

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def num_frames(self, fps: float) -> int:
        """Video frames that cover the audio exactly: ceil(seconds * fps), like the original."""
        return max(1, math.ceil(len(self.samples) * fps / self.sample_rate - 1e-9))


def load_audio(path: str | Path, sample_rate: int = MODEL_SAMPLE_RATE, allow_silent: bool = False) -> Audio:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: audio file not found")
    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        samples, rate = _read_with_soundfile(path)
        samples = resample(samples, rate, sample_rate)
    else:
        samples = _read_with_ffmpeg(path, sample_rate)
    if samples.size == 0:
        raise InputError(f"{path}: the audio is empty (0 samples); give a file with speech or singing")
    if not allow_silent and float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise InputError(f"{path}: the audio is silent; give a file with speech or singing")
    return Audio(samples.astype(np.float32, copy=False), sample_rate, path)


def _read_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InputError(f"{path}: not a readable audio file ({exc}); convert it to wav, flac or mp3") from None
    return data.mean(axis=1), int(rate)


def _read_with_ffmpeg(path: Path, sample_rate: int) -> np.ndarray:
    info = probe(path)
    if not info.has_audio:
        raise InputError(f"{path}: has no audio track; give a file with speech or singing")
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
         "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "-"],
        capture_output=True,
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"{path}: could not decode its audio track ({message[-1] if message else 'ffmpeg failed'})")
    return np.frombuffer(result.stdout, dtype="<f4").copy()


def resample(samples: np.ndarray, rate_in: int, rate_out: int, zero_crossings: int = 16, rolloff: float = 0.99) -> np.ndarray:
    """Band-limited resampling (Hann-windowed sinc, polyphase; torchaudio's design with a longer filter).

    NumPy only (the classic engine never imports torch); memory is linear in the clip length.
    """
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    divisor = math.gcd(rate_in, rate_out)
    step_in, step_out = rate_in // divisor, rate_out // divisor
    cutoff = min(step_in, step_out) * rolloff
    width = math.ceil(zero_crossings * step_in / cutoff)
    taps = np.arange(-width, width + step_in, dtype=np.float64) / step_in
    phase = np.arange(0, -step_out, -1, dtype=np.float64)[:, None] / step_out + taps[None, :]
    phase = np.clip(phase * cutoff, -zero_crossings, zero_crossings)
    window = np.cos(phase * math.pi / zero_crossings / 2) ** 2
    phase = phase * math.pi
    sinc = np.where(phase == 0, 1.0, np.sin(phase) / np.where(phase == 0, 1.0, phase))
    kernels = (sinc * window * (cutoff / step_in)).astype(np.float32)  # (step_out, taps)

    padded = np.pad(np.asarray(samples, dtype=np.float32), (width, width + step_in))
    blocks = (padded.size - kernels.shape[1]) // step_in + 1
    out = np.empty((blocks, step_out), dtype=np.float32)
    chunk = 1 << 14  # blocks per matrix product, to keep the gathered windows small
    for start in range(0, blocks, chunk):
        stop = min(blocks, start + chunk)
        index = (np.arange(start, stop) * step_in)[:, None] + np.arange(kernels.shape[1])[None, :]
        out[start:stop] = padded[index] @ kernels.T
    length = math.ceil(step_out * samples.size / step_in)
    return out.reshape(-1)[:length]
