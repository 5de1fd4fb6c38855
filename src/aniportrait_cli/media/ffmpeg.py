"""The ffmpeg binary bundled by imageio-ffmpeg (no system ffmpeg needed) and a header-based probe.

The bundled build has libx264 and aac but no ffprobe, so stream facts are parsed from `ffmpeg -i` output.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from aniportrait_cli.errors import InputError, RuntimeFailure


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:  # pragma: no cover - only on platforms without a bundled binary
        raise RuntimeFailure(f"no ffmpeg binary found ({exc}); reinstall imageio-ffmpeg or set IMAGEIO_FFMPEG_EXE") from None


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration_s: float | None
    has_video: bool
    has_audio: bool
    width: int = 0  # displayed size, after the rotation ffmpeg applies when decoding
    height: int = 0
    fps: float | None = None
    rotation: int = 0
    video_codec: str | None = None
    audio_codec: str | None = None


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+)")
_FPS = re.compile(r"([\d.]+)(k?) fps")
_TBR = re.compile(r"([\d.]+)(k?) tbr")
_ROTATION = re.compile(r"(?:rotation of|rotate\s*:)\s*(-?[\d.]+)")


def probe(path: str | Path) -> MediaInfo:
    """Read stream facts of a media file; InputError if ffmpeg cannot open it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
    )
    header = result.stderr
    if "Input #0" not in header:
        reason = _last_line(header) or "unknown format"
        raise InputError(f"{path}: not a readable media file ({reason})")
    duration = None
    if match := _DURATION.search(header):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    video_line = next((line for line in header.splitlines() if _VIDEO.search(line)), None)
    audio = _AUDIO.search(header)
    if video_line is None:
        return MediaInfo(path, duration, False, audio is not None, audio_codec=audio.group(1) if audio else None)
    codec, width, height = _VIDEO.search(video_line).groups()
    width, height = int(width), int(height)
    fps = _rate(_FPS.search(video_line)) or _rate(_TBR.search(video_line))
    rotation = 0
    if match := _ROTATION.search(header):
        rotation = int(round(float(match.group(1)))) % 360
    if rotation in (90, 270):
        width, height = height, width
    return MediaInfo(
        path, duration, True, audio is not None, width, height, fps, rotation,
        video_codec=codec, audio_codec=audio.group(1) if audio else None,
    )


def video_stream_frames(path: str | Path) -> int | None:
    """Number of frames of the first video stream, counted by a stream copy (reads packets, decodes nothing).

    The container's duration can be longer than the video: an audio track that runs past the last frame
    extends it, so a frame total guessed from it overshoots.
    """
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
         "-c", "copy", "-f", "null", "-progress", "pipe:1", "-"],
        capture_output=True, text=True, errors="replace",
    )
    counts = [int(value) for key, _, value in (line.partition("=") for line in result.stdout.splitlines())
              if key == "frame" and value.strip().isdigit()]
    if result.returncode != 0 or not counts or counts[-1] <= 0:
        return None
    return counts[-1]


def run_ffmpeg(args: list[str], what: str) -> None:
    """Run ffmpeg to completion; RuntimeFailure with its last message line if it fails."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if result.returncode != 0:
        raise RuntimeFailure(f"ffmpeg failed while {what}: {_last_line(result.stderr) or 'no message'}")


def _rate(match: re.Match | None) -> float | None:
    if not match:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    return value if value > 0 else None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
