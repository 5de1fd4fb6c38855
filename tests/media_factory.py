"""Test media made on the fly: tones and noise bursts in any format, small videos (no downloads)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import soundfile

from aniportrait_cli.media.ffmpeg import ffmpeg_exe


def tone(seconds: float, rate: int = 44100, freq: float = 440.0, channels: int = 2) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    mono = 0.4 * np.sin(2 * np.pi * freq * t)
    return np.repeat(mono[:, None], channels, axis=1).astype(np.float32)


def write_audio(path: Path, seconds: float = 1.5, rate: int = 44100, freq: float = 440.0) -> Path:
    """Write a stereo tone; soundfile formats directly, container formats through ffmpeg."""
    path = Path(path)
    data = tone(seconds, rate, freq)
    if path.suffix in {".wav", ".flac", ".ogg", ".mp3"}:
        soundfile.write(path, data, rate)
        return path
    wav = path.with_suffix(".src.wav")
    soundfile.write(wav, data, rate)
    codec = {".m4a": ["-c:a", "aac"], ".aac": ["-c:a", "aac"], ".webm": ["-c:a", "libopus"] }.get(path.suffix, ["-c:a", "aac"])
    extra = []
    if path.suffix in {".mp4", ".mov"}:  # audio inside a video container, with a video track too
        extra = ["-f", "lavfi", "-i", f"color=c=gray:s=64x64:r=10:d={seconds}"]
        codec = ["-map", "1:v", "-map", "0:a", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(wav), *extra, *codec, str(path)], check=True)
    wav.unlink()
    return path


def write_test_video(path: Path, seconds: float = 1.0, fps: int = 25, size: str = "96x64", extra_input: list[str] | None = None,
                     with_audio: bool = True) -> Path:
    args = [ffmpeg_exe(), "-y", "-loglevel", "error", *(extra_input or []),
            "-f", "lavfi", "-i", f"testsrc=s={size}:r={fps}:d={seconds}"]
    if with_audio:
        args += ["-f", "lavfi", "-i", f"sine=f=300:d={seconds}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(args, check=True)
    return Path(path)


def write_syllables(path: Path, seconds: float = 1.7, rate: int = 16000) -> Path:
    """Syllable-like bursts of a voiced tone with pauses in between: speech enough for the classic engine."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 2.0 * t) > 0.2).astype(np.float32)
    voice = 0.3 * envelope * np.sign(np.sin(2 * np.pi * 140 * t)) * (1 + 0.3 * np.sin(2 * np.pi * 700 * t))
    soundfile.write(path, voice.astype(np.float32), rate)
    return Path(path)
