"""Audio input: any file with an audio track -> mono float32 at 16 kHz for the models, decoded once by the
bundled ffmpeg (one path for every format: wav, flac, mp3, m4a, a video's track, ...).

The decode applies the stream's start offset: an audio track that starts 1 s after its video (`-itsoffset`)
gets 1 s of leading silence, so the motion computed from these samples lines up with what a player plays.
Resampling is soxr (the resampler librosa, and so the original AniPortrait, uses), built into that ffmpeg; any
rate, even a coprime one such as 22051 Hz, costs the same as 22050 Hz.

With `for_mux=True` the same decode (same filter chain, same timeline) also writes the audio at its own rate
to a temporary PCM WAV, which the video writer muxes: the video carries exactly the audio that drove it.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError, RuntimeFailure
from aniportrait_cli.media.atomic import remove_stale_parts, temporary_sibling
from aniportrait_cli.media.ffmpeg import DISK_FULL, ffmpeg_exe, friendly_ffmpeg_error, probe

MODEL_SAMPLE_RATE = 16000
# Peak below this (about -80 dBFS) means there is nothing to lip-sync.
SILENCE_PEAK = 1e-4
# Channels whose correlation is below this cancel when averaged (one of them phase-inverted).
ANTI_CORRELATED = -0.5


@dataclass
class Audio:
    samples: np.ndarray  # (N,) float32 mono at `sample_rate`, start offset applied
    sample_rate: int
    source: Path  # the file the user gave
    mux_path: Path | None = None  # the same decoded audio as a temporary PCM WAV (load_audio(for_mux=True))

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    def num_frames(self, fps: float) -> int:
        """Video frames that cover the audio exactly: ceil(seconds * fps), like the original."""
        return max(1, math.ceil(len(self.samples) * fps / self.sample_rate - 1e-9))

    def close(self) -> None:
        """Delete the temporary mux file (if any)."""
        if self.mux_path is not None:
            self.mux_path.unlink(missing_ok=True)
            self.mux_path = None

    def __enter__(self) -> Audio:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def load_audio(path: str | Path, sample_rate: int = MODEL_SAMPLE_RATE, allow_silent: bool = False,
               for_mux: bool = False, on_warning: Callable[[str], None] | None = None) -> Audio:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: audio file not found")
    try:
        info = probe(path)
    except InputError:
        raise InputError(f"{path}: not a readable audio file; convert it to wav, flac or mp3") from None
    if not info.has_audio:
        raise InputError(f"{path}: has no audio track; give a file with speech or singing")
    mux_path = _temporary_wav() if for_mux else None
    try:
        decoded = _decode(path, info.audio_channels, sample_rate, mux_path)
        samples = _downmix(decoded, path, on_warning)
        if samples.size == 0:
            raise InputError(f"{path}: the audio is empty (0 samples); give a file with speech or singing")
        if not allow_silent and float(np.max(np.abs(samples))) < SILENCE_PEAK:
            raise InputError(f"{path}: the audio is silent; give a file with speech or singing")
    except BaseException:
        if mux_path is not None:
            mux_path.unlink(missing_ok=True)
        raise
    return Audio(samples, sample_rate, path, mux_path)


def _temporary_wav() -> Path:
    """A hidden WAV in the temporary folder, named like every temporary file of ours (host and process id), so
    one left by a SIGKILLed run is deleted by the next run."""
    folder = Path(tempfile.gettempdir())
    remove_stale_parts(folder)
    marker = temporary_sibling(folder / "audio.wav").name  # .audio.HOST-PID.part.wav
    handle, name = tempfile.mkstemp(prefix=".aniportrait-", suffix=marker, dir=folder)
    os.close(handle)
    return Path(name)


def _decode(path: Path, channels: int, sample_rate: int, mux_path: Path | None) -> np.ndarray:
    """(N, 1) for mono sources, else (N, 2) (more channels are downmixed to stereo by ffmpeg): float32 at
    `sample_rate`, with the stream's start offset as leading silence."""
    # async=1 + first_pts=0: pad with silence from time 0 to the stream's first sample (its start offset).
    timeline = "aresample=async=1:first_pts=0"
    layout = "mono" if channels == 1 else "stereo"
    # cutoff 0.97: flat to 7.8 kHz, like the resampler the classic engine's models were fitted on (soxr's own
    # default rolls off from 7.3 kHz, dimming the 4-8 kHz band that tells fricatives apart); still alias-free.
    model = f"aresample={sample_rate}:resampler=soxr:cutoff=0.97,aformat=sample_fmts=flt:channel_layouts={layout}"
    if mux_path is None:
        graph, maps = f"[0:a:0]{timeline},{model}[model]", []
    else:
        graph = f"[0:a:0]{timeline},asplit=2[a][b];[a]{model}[model];[b]aformat=channel_layouts={layout}[mux]"
        maps = ["-map", "[mux]", "-c:a", "pcm_s16le", "-rf64", "auto", "-f", "wav", "-y", str(mux_path)]
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-filter_complex", graph,
         "-map", "[model]", "-f", "f32le", "-", *maps],
        capture_output=True,
    )
    if result.returncode != 0:
        stderr = result.stderr.decode(errors="replace")
        if DISK_FULL in stderr:
            raise RuntimeFailure(f"{mux_path}: {friendly_ffmpeg_error(stderr)} (temporary audio for {path})")
        raise InputError(f"{path}: could not decode its audio track ({friendly_ffmpeg_error(stderr)})")
    return np.frombuffer(result.stdout, dtype="<f4").reshape(-1, 1 if channels == 1 else 2)


def _downmix(decoded: np.ndarray, path: Path, on_warning: Callable[[str], None] | None) -> np.ndarray:
    """Stereo: the average of the channels, unless they cancel (one phase-inverted): then the louder channel."""
    if decoded.shape[1] == 1:
        return decoded[:, 0]
    left, right = decoded[:, 0], decoded[:, 1]
    power_left, power_right = float(np.dot(left, left)), float(np.dot(right, right))
    if power_left > 0 and power_right > 0:
        correlation = float(np.dot(left, right)) / math.sqrt(power_left * power_right)
        if correlation < ANTI_CORRELATED:
            if on_warning is not None:
                on_warning(f"{path}: the two stereo channels are phase-inverted (they cancel when mixed); "
                           f"using the louder channel to drive the lips")
            return np.ascontiguousarray(left if power_left >= power_right else right)
    return (0.5 * (left + right)).astype(np.float32)
