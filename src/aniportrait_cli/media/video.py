"""Video input (streamed RGB frames at a constant rate) and output (H.264 yuv420p mp4 with AAC audio).

Reading never holds the whole video in memory: frames come one at a time from an ffmpeg pipe. Variable frame
rate sources are turned into constant-rate frames at their average rate (ffmpeg's fps filter), so frame i is at
i / fps seconds. Rotated (portrait phone) videos arrive upright.

Writing goes to a hidden temporary file in the target folder, renamed into place by `close()`; any error or
Ctrl-C before that deletes it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError, RuntimeFailure
from aniportrait_cli.media.atomic import temporary_sibling
from aniportrait_cli.media.ffmpeg import MediaInfo, ffmpeg_exe, probe, video_stream_frames


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    duration_s: float  # of the video stream (the container's can be longer: audio past the last frame)
    has_audio: bool

    @property
    def approx_num_frames(self) -> int:
        return max(1, round(self.duration_s * self.fps))


class VideoReader:
    """Streams RGB uint8 frames (H, W, 3) of a video file at a constant frame rate."""

    def __init__(self, path: str | Path, fps: float | None = None):
        self.path = Path(path)
        info: MediaInfo = probe(self.path)
        if not info.has_video or not info.width:
            raise InputError(f"{self.path}: has no video stream; give a video file (mp4, mov, webm, ...)")
        source_fps = info.fps or 25.0
        stream_frames = video_stream_frames(self.path)
        duration = stream_frames / source_fps if stream_frames else (info.duration_s or 0.0)
        self.info = VideoInfo(self.path, info.width, info.height, fps or source_fps, duration, info.has_audio)
        self._num_frames: int | None = None

    @property
    def fps(self) -> float:
        return self.info.fps

    def _command(self, output: list[str]) -> list[str]:
        return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(self.path),
                "-map", "0:v:0", "-vf", f"fps={self.fps!r}", "-an", "-sn", *output]

    def frames(self) -> Iterator[np.ndarray]:
        width, height = self.info.width, self.info.height
        frame_bytes = width * height * 3
        process = subprocess.Popen(
            self._command(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=frame_bytes,
        )
        count = 0
        try:
            while True:
                buffer = process.stdout.read(frame_bytes)
                if len(buffer) < frame_bytes:
                    break
                count += 1
                yield np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 3)
            process.wait()
            if process.returncode != 0 or count == 0:
                message = process.stderr.read().decode(errors="replace").strip().splitlines()
                reason = message[-1] if message else "no frames decoded"
                raise InputError(f"{self.path}: the video could not be decoded ({reason}); re-encode it or give another file")
            self._num_frames = count
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()

    @property
    def num_frames(self) -> int:
        """Exact number of frames `frames()` yields (counted by a decode pass the first time it is asked)."""
        if self._num_frames is None:
            self._num_frames = _count_frames(self.path, self.fps)
        return self._num_frames


def _count_frames(path: Path, fps: float) -> int:
    """Count by decoding to 1x1 gray frames: exact, and cheap compared with full-size frames."""
    process = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v:0",
         "-vf", f"fps={fps!r},scale=1:1", "-an", "-sn", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
    )
    if process.returncode != 0:
        raise InputError(f"{path}: the video could not be decoded; re-encode it or give another file")
    return len(process.stdout)


# BT.709 TV range, converted and tagged, so players neither guess (BT.601 for small sizes) nor shift colours.
COLOUR_TAGS = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
AUDIO_RATE = 48000
AUDIO_BITRATE = "160k"


class VideoWriter:
    """H.264 (yuv420p, BT.709 TV range, faststart) mp4 that plays in browsers, with the audio of `audio_path` as
    AAC at 48 kHz whatever the input's rate.

    Frames are RGB uint8 (H, W, 3) of the size given at construction; an odd size gets its last row/column
    repeated, because yuv420p needs even dimensions. With `num_frames` known, the audio is padded/cut to exactly
    num_frames / fps.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        width: int,
        height: int,
        audio_path: str | Path | None = None,
        num_frames: int | None = None,
        crf: int = 18,
        preset: str = "veryfast",
    ):
        self.path = Path(path)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self._pad = ((0, self.height % 2), (0, self.width % 2), (0, 0))
        self.num_frames = num_frames
        self.frames_written = 0
        self._tmp = temporary_sibling(self.path)
        self._log = tempfile.TemporaryFile()
        command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{self.width + self.width % 2}x{self.height + self.height % 2}", "-r", repr(self.fps),
                   "-i", "-"]
        if audio_path is not None:
            command += ["-i", str(audio_path), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", AUDIO_BITRATE,
                        "-ar", str(AUDIO_RATE)]
            if num_frames is not None:
                command += ["-af", "apad", "-t", f"{num_frames / self.fps:.6f}"]
        command += ["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p", *COLOUR_TAGS,
                    "-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                    "-movflags", "+faststart", "-f", "mp4", str(self._tmp)]
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)
        except OSError as exc:
            raise RuntimeFailure(f"could not start ffmpeg to write {self.path}: {exc}") from None

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.shape} {frame.dtype} does not match {self.height}x{self.width}x3 uint8")
        if self._pad != ((0, 0), (0, 0), (0, 0)):
            frame = np.pad(frame, self._pad, mode="edge")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).tobytes())
        except (BrokenPipeError, OSError):
            self.abort()
            raise RuntimeFailure(f"ffmpeg stopped while writing {self.path}: {self._error_text()}") from None
        self.frames_written += 1

    def close(self) -> Path:
        """Finish encoding and move the file into place."""
        self._process.stdin.close()
        code = self._process.wait()
        if code != 0:
            message = self._error_text()
            self.abort()
            raise RuntimeFailure(f"ffmpeg failed to write {self.path}: {message}")
        os.replace(self._tmp, self.path)
        self._log.close()
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file; the target path is left untouched."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdin and not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        self._tmp.unlink(missing_ok=True)

    def _error_text(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
