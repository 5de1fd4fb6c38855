"""Lip-sync self-check of a finished video: does the mouth move with the speech, on time, and rest in silence?

Measured independently of how the video was made:

* mouth opening per frame: MediaPipe's face landmarks on the decoded frames, the inner-lip gap (three
  central lip pairs, in 3D landmark space) divided by the distance between the outer eye corners;
* speech envelope per frame: the level (dB) of the telephone band (300-3400 Hz) of the audio during each
  frame's display interval;
* correlation: Pearson's r between the two, at the best audio-video lag within +-5 frames;
* silence: frames whose audio is more than 30 dB below the loud speech (and at least two frames away from
  any speech, so a closing mouth is not counted), where the mouth should stay still.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError

ProgressCallback = Callable[[int, int | None], None]

SAMPLE_RATE = 16000
SPEECH_BAND_HZ = (300.0, 3400.0)
SILENCE_BELOW_LOUD_DB = 30.0
ENVELOPE_FLOOR_DB = 45.0  # envelope clipped this far below the loud speech (so silence depth does not dominate)
SILENCE_MARGIN_FRAMES = 2
MAX_LAG_FRAMES = 5

# Pass thresholds.
MIN_CORRELATION = 0.6
MAX_ABS_LAG_FRAMES = 2
MAX_SILENCE_MOTION = 0.1

_INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317))
_OUTER_EYE_CORNERS = (33, 263)


@dataclass(frozen=True)
class SyncReport:
    """Result of the lip-sync self-check.

    correlation      Pearson r of mouth opening vs speech envelope at the best lag (-1..1)
    lag_frames       that lag; > 0 means the mouth moves after the sound, < 0 before it
    silence_motion   std of the mouth opening in silent frames / the opening's range during speech
                     (0 = perfectly still; nan when the audio has no silent frames)
    silence_opening  median opening in silent frames above the video's most closed mouth, same unit
    num_frames       frames compared (video frames that have audio)
    face_frames      frames where the face was found (only those are compared)
    silent_frames    frames counted as silence
    fps              video frame rate
    """

    correlation: float
    lag_frames: int
    silence_motion: float
    silence_opening: float
    num_frames: int
    face_frames: int
    silent_frames: int
    fps: float

    @property
    def passed(self) -> bool:
        """Correlation >= 0.6 at a lag within 2 frames, and a still mouth in silence (when there is silence)."""
        still = not (self.silence_motion > MAX_SILENCE_MOTION)  # nan (no silence) passes
        return bool(self.correlation >= MIN_CORRELATION and abs(self.lag_frames) <= MAX_ABS_LAG_FRAMES and still)

    def describe(self) -> list[str]:
        """Human-readable lines, one per criterion, each with its threshold and verdict."""

        def verdict(ok: bool) -> str:
            return "ok" if ok else "FAIL"

        lag_ms = 1000.0 * self.lag_frames / self.fps
        lines = [
            f"mouth/speech correlation  {self.correlation:+.2f}   (>= {MIN_CORRELATION})  {verdict(self.correlation >= MIN_CORRELATION)}",
            f"audio-video lag           {self.lag_frames:+d} frames ({lag_ms:+.0f} ms; > 0: mouth late)   "
            f"(within +-{MAX_ABS_LAG_FRAMES})  {verdict(abs(self.lag_frames) <= MAX_ABS_LAG_FRAMES)}",
        ]
        if np.isnan(self.silence_motion):
            lines.append("mouth in silence          no silent stretch in the audio, not measured")
        else:
            lines.append(
                f"mouth motion in silence   {self.silence_motion:.3f}   (<= {MAX_SILENCE_MOTION}, "
                f"{self.silent_frames} silent frames)  {verdict(self.silence_motion <= MAX_SILENCE_MOTION)}"
            )
        lines.append(f"frames compared           {self.face_frames} with a face, of {self.num_frames} at {self.fps:g} fps")
        lines.append(f"verdict                   {'lip-synced' if self.passed else 'NOT lip-synced'}")
        return lines


def mouth_opening_track(
    frames: Iterable[np.ndarray],
    fps: float,
    num_frames: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(opening (T,), face found (T,) bool) for a stream of RGB uint8 frames; opening is 0 where no face."""
    from aniportrait_cli.landmarks.extractor import FaceLandmarkExtractor

    openings, found = [], []
    with FaceLandmarkExtractor("video", max_faces=1) as extractor:
        for index, frame in enumerate(frames):
            faces = extractor.detect(frame, timestamp_ms=round(index * 1000.0 / fps))
            if faces:
                height, width = frame.shape[:2]
                points = faces[0].landmarks.astype(np.float64) * np.array([width, height, width])
                gap = np.mean([np.linalg.norm(points[a] - points[b]) for a, b in _INNER_LIP_PAIRS])
                eyes = np.linalg.norm(points[_OUTER_EYE_CORNERS[0]] - points[_OUTER_EYE_CORNERS[1]])
                openings.append(gap / max(eyes, 1e-6))
                found.append(True)
            else:
                openings.append(0.0)
                found.append(False)
            if progress is not None:
                progress(index + 1, num_frames)
    return np.asarray(openings, dtype=np.float64), np.asarray(found, dtype=bool)


def speech_envelope(samples_16k: np.ndarray, fps: float, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(level dB re. the loud speech, clipped at -45 dB; silent bool) per video frame display interval."""
    samples = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    edges = np.round(np.arange(num_frames + 1) / fps * SAMPLE_RATE).astype(np.int64)
    length = int(np.max(np.diff(edges)))
    # One row per frame interval (zero padded past the end of the audio), then the band's share of its power.
    index = edges[:-1, None] + np.arange(length)[None, :]
    valid = (index < edges[1:, None]) & (index < len(samples))
    rows = np.where(valid, samples[np.minimum(index, max(len(samples) - 1, 0))] if len(samples) else 0.0, 0.0)
    n_fft = 1 << int(np.ceil(np.log2(2 * length)))
    spectrum = np.abs(np.fft.rfft(rows, n=n_fft, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)
    band = (freqs >= SPEECH_BAND_HZ[0]) & (freqs <= SPEECH_BAND_HZ[1])
    power = spectrum[:, band].sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    level = 10.0 * np.log10(power + 1e-12)
    loud = float(np.percentile(level, 95))
    silent = level < loud - SILENCE_BELOW_LOUD_DB
    return np.maximum(level - loud, -ENVELOPE_FLOOR_DB), silent


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() < 1e-12 or b.std() < 1e-12:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def sync_report(
    opening: np.ndarray,
    face_found: np.ndarray,
    envelope_db: np.ndarray,
    silent: np.ndarray,
    fps: float,
    max_lag: int = MAX_LAG_FRAMES,
) -> SyncReport:
    """Compare a mouth-opening track with a speech envelope (both per video frame)."""
    n = min(len(opening), len(envelope_db))
    opening, face_found = np.asarray(opening[:n], float), np.asarray(face_found[:n], bool)
    envelope_db, silent = np.asarray(envelope_db[:n], float), np.asarray(silent[:n], bool)

    best_r, best_lag = -np.inf, 0
    for lag in range(-max_lag, max_lag + 1):
        # mouth at frame t against sound at frame t - lag
        video_idx = np.arange(max(0, lag), min(n, n + lag))
        audio_idx = video_idx - lag
        keep = face_found[video_idx]
        r = _pearson(opening[video_idx][keep], envelope_db[audio_idx][keep])
        if r > best_r + 1e-9 or (abs(r - best_r) <= 1e-9 and abs(lag) < abs(best_lag)):
            best_r, best_lag = r, lag

    # Silence well away from speech, so the mouth has had time to close.
    speech = ~silent
    near_speech = np.convolve(speech.astype(float), np.ones(2 * SILENCE_MARGIN_FRAMES + 1), mode="same") > 0
    quiet = silent & ~near_speech & face_found
    talking = speech & face_found
    closed_level = float(np.percentile(opening[face_found], 5)) if face_found.any() else 0.0
    open_level = float(np.percentile(opening[talking], 95)) if talking.any() else closed_level
    span = max(open_level - closed_level, 1e-6)
    if quiet.sum() >= 3:
        silence_motion = float(np.std(opening[quiet]) / span)
        silence_opening = float((np.median(opening[quiet]) - closed_level) / span)
    else:
        silence_motion = silence_opening = float("nan")
    return SyncReport(
        correlation=float(best_r if np.isfinite(best_r) else 0.0),
        lag_frames=int(best_lag),
        silence_motion=silence_motion,
        silence_opening=silence_opening,
        num_frames=int(n),
        face_frames=int(face_found.sum()),
        silent_frames=int(quiet.sum()),
        fps=float(fps),
    )


def check_sync(
    video_path: str | Path,
    audio_path: str | Path | None = None,
    max_lag: int = MAX_LAG_FRAMES,
    progress: ProgressCallback | None = None,
) -> SyncReport:
    """Lip-sync self-check of a video file, with its own audio track or a separate audio file.

    Raises InputError when the video has no face or there is no audio.
    """
    from aniportrait_cli.media.audio import load_audio
    from aniportrait_cli.media.video import VideoReader

    video_path = Path(video_path)
    reader = VideoReader(video_path)
    if audio_path is None and not reader.info.has_audio:
        raise InputError(f"{video_path}: has no audio track; pass the speech file with --audio")
    audio = load_audio(audio_path if audio_path is not None else video_path)
    opening, found = mouth_opening_track(reader.frames(), reader.fps, reader.info.approx_num_frames, progress)
    if not found.any():
        raise InputError(f"{video_path}: no face found in any frame; the lip-sync check needs a visible face")
    envelope, silent = speech_envelope(audio.samples, reader.fps, len(opening))
    return sync_report(opening, found, envelope, silent, reader.fps, max_lag)
