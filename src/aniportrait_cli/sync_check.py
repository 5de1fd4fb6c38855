"""Lip-sync check of a finished video, and comparison of a generated mouth with a real speaker's.

Mouth opening per frame (both uses): MediaPipe face landmarks on the decoded frames, the distance between the
inner-lip points 13 and 14 divided by the face height (points 10 to 152), in pixels.

`check-sync VIDEO` (does the mouth move with this sound, on time?):

* the sound's expected mouth opening per frame comes from the classic engine's mouth model (`classic.mouth_model`,
  phones + spectrum, learned from real speakers);
* the Pearson correlation of the video's mouth with it is computed at every audio-video offset within +-15 frames;
* confidence = the correlation at the best offset minus the median over all offsets (as SyncNet-style scores do):
  a mouth driven by this sound has one clear peak, an unrelated one has none, however much it moves;
* the verdict rule is in `sync_rules.py` (and in `check-sync --help`).

Real people follow their speech only loosely (their mouths also move in pauses, and loudness alone explains
little of it), so the rule was calibrated on real talking-head clips in sync, the same clips with the sound
shifted by 0.4-0.6 s, and with another clip's sound.

`check-sync GENERATED --against REAL.mp4` (how much does a generated mouth move like the real speaker's?): the
generated opening is resampled to the real video's frame times, both are cut to the common length, frames
without a face in either are left out, and the report gives the correlation at lag 0, the best lag within +-5
frames and the ratio of standard deviations (generated / real).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError
from aniportrait_cli.sync_rules import MAX_OFFSET_FRAMES, MAX_OFFSET_MS, MIN_CONFIDENCE

ProgressCallback = Callable[[int, int | None], None]

MOUTH_POINTS = (13, 14)
FACE_HEIGHT_POINTS = (10, 152)
MAX_LAG_FRAMES = 5  # for --against

# Silence: this far below the loud speech for at least MIN_SILENCE_S (shorter gaps inside phrases are not rests),
# and a few frames away from any speech (the mouth has time to close).
SILENCE_BELOW_LOUD_DB = 30.0
MIN_SILENCE_S = 0.3
SILENCE_MARGIN_FRAMES = 2


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3 or a.std() < 1e-12 or b.std() < 1e-12:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def mouth_opening(landmarks_px: np.ndarray) -> float:
    """Inner-lip gap over face height for one face's landmarks in pixels (N >= 153, 2 or 3 columns)."""
    points = np.asarray(landmarks_px, np.float64)[:, :2]
    height = np.linalg.norm(points[FACE_HEIGHT_POINTS[0]] - points[FACE_HEIGHT_POINTS[1]])
    return float(np.linalg.norm(points[MOUTH_POINTS[0]] - points[MOUTH_POINTS[1]]) / max(height, 1e-6))


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
            height, width = frame.shape[:2]
            if faces:
                openings.append(mouth_opening(faces[0].landmarks[:, :2].astype(np.float64) * np.array([width, height])))
            else:
                openings.append(0.0)
            found.append(bool(faces))
            if progress is not None:
                progress(index + 1, num_frames)
    return np.asarray(openings, dtype=np.float64), np.asarray(found, dtype=bool)


def video_mouth_track(path: Path, progress: ProgressCallback | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(opening, face found, fps) of a video file; InputError when no frame shows a face."""
    from aniportrait_cli.media.video import VideoReader

    reader = VideoReader(path)
    opening, found = mouth_opening_track(reader.frames(), reader.fps, reader.info.approx_num_frames, progress)
    if not found.any():
        raise InputError(f"{path}: no face found in any frame; the lip-sync check needs a visible face")
    return opening, found, reader.fps


# --- check-sync: the video's mouth against its sound ----------------------------------------------------------


def expected_mouth(samples_16k: np.ndarray, fps: float, num_frames: int, model=None) -> np.ndarray:
    """The mouth opening (z-score) the sound calls for at each video frame, from the classic mouth model
    (`model`: another `mouth_model.MouthModel`, for calibration)."""
    from aniportrait_cli.classic.mouth_model import default_model, speech_steps

    steps = speech_steps(samples_16k)
    return (model or default_model()).predict_at(steps.features, (np.arange(num_frames) + 0.5) / fps)


def silent_frames(samples_16k: np.ndarray, fps: float, num_frames: int) -> np.ndarray:
    """Per frame: inside a silence of at least MIN_SILENCE_S (the sound SILENCE_BELOW_LOUD_DB below its loud
    speech), and SILENCE_MARGIN_FRAMES away from any speech (the mouth has had time to close)."""
    from aniportrait_cli.classic.speech import band_levels_db, frame_windows, long_runs

    level = band_levels_db(frame_windows(samples_16k, fps, num_frames), [(300.0, 3400.0)])[:, 0]
    silent = long_runs(level < np.percentile(level, 95) - SILENCE_BELOW_LOUD_DB, max(1, round(MIN_SILENCE_S * fps)))
    near_speech = np.convolve((~silent).astype(float), np.ones(2 * SILENCE_MARGIN_FRAMES + 1), mode="same") > 0
    return silent & ~near_speech


def offset_correlations(opening: np.ndarray, found: np.ndarray, expected: np.ndarray, max_offset: int = MAX_OFFSET_FRAMES) -> np.ndarray:
    """Pearson r of mouth[t] with expected[t - offset] for offset = -max_offset..max_offset (> 0: mouth late)."""
    n = min(len(opening), len(expected))
    values = []
    for offset in range(-max_offset, max_offset + 1):
        video = np.arange(max(0, offset), min(n, n + offset))
        keep = found[video]
        values.append(pearson(opening[video][keep], expected[video - offset][keep]))
    return np.asarray(values)


@dataclass(frozen=True)
class SyncReport:
    """Result of the lip-sync check.

    confidence       correlation at the best offset minus its median over all offsets
    offset_frames    the best offset; > 0 means the mouth moves after the sound, < 0 before it
    correlation      Pearson r of the mouth with the sound's expected mouth at that offset
    silence_motion   std of the mouth opening in silences >= 0.3 s / its 5-95 % range in speech (nan: none)
    num_frames       frames compared (video frames that have audio)
    face_frames      frames where the face was found (only those are compared)
    silent_frames    frames counted as silence
    fps              video frame rate
    """

    confidence: float
    offset_frames: int
    correlation: float
    silence_motion: float
    num_frames: int
    face_frames: int
    silent_frames: int
    fps: float

    @property
    def offset_ms(self) -> float:
        return 1000.0 * self.offset_frames / self.fps

    @property
    def passed(self) -> bool:
        return bool(self.confidence >= MIN_CONFIDENCE and abs(self.offset_ms) <= MAX_OFFSET_MS)

    def describe(self) -> list[str]:
        """Human-readable lines, one per criterion, each with its threshold and verdict."""

        def verdict(ok: bool) -> str:
            return "ok" if ok else "FAIL"

        lines = [
            f"sync confidence           {self.confidence:.2f}   (>= {MIN_CONFIDENCE})  {verdict(self.confidence >= MIN_CONFIDENCE)}",
            f"audio-video offset        {self.offset_ms:+.0f} ms ({self.offset_frames:+d} frames; > 0: mouth late)   "
            f"(within +-{MAX_OFFSET_MS:g} ms)  {verdict(abs(self.offset_ms) <= MAX_OFFSET_MS)}",
            f"correlation at offset     {self.correlation:+.2f}",
        ]
        if np.isnan(self.silence_motion):
            lines.append("mouth in silence          no silent stretch in the audio, not measured")
        else:
            lines.append(f"mouth motion in silence   {self.silence_motion:.3f}   ({self.silent_frames} silent frames; "
                         "informative, real speakers often move in pauses)")
        lines.append(f"frames compared           {self.face_frames} with a face, of {self.num_frames} at {self.fps:g} fps")
        lines.append(f"verdict                   {'lip-synced' if self.passed else 'NOT lip-synced'}")
        return lines


def silence_figures(opening: np.ndarray, found: np.ndarray, silent: np.ndarray) -> tuple[float, float, int]:
    """(motion, opening, frames) of the mouth in `silent` frames: the std of its opening there and its median
    opening there above its most closed (5th percentile), both over its 5-95 % range in speech; nan if < 3 frames."""
    quiet = silent & found
    talking = ~silent & found
    if quiet.sum() < 3 or talking.sum() < 3:
        return float("nan"), float("nan"), int(quiet.sum())
    closed = float(np.percentile(opening[found], 5))
    span = max(float(np.percentile(opening[talking], 95)) - closed, 1e-6)
    return float(np.std(opening[quiet]) / span), float((np.median(opening[quiet]) - closed) / span), int(quiet.sum())


def sync_report(opening: np.ndarray, found: np.ndarray, expected: np.ndarray, silent: np.ndarray, fps: float) -> SyncReport:
    """Compare a mouth-opening track with the sound's expected mouth (both per video frame)."""
    n = min(len(opening), len(expected), len(silent))
    opening, found = np.asarray(opening[:n], float), np.asarray(found[:n], bool)
    correlations = offset_correlations(opening, found, np.asarray(expected[:n], float))
    offsets = np.arange(-MAX_OFFSET_FRAMES, MAX_OFFSET_FRAMES + 1)
    # The best offset; among near-ties, the one closest to 0.
    best = int(np.argmax(correlations - 1e-9 * np.abs(offsets)))
    motion, _, quiet = silence_figures(opening, found, np.asarray(silent[:n], bool))
    return SyncReport(
        confidence=float(correlations[best] - np.median(correlations)),
        offset_frames=int(offsets[best]),
        correlation=float(correlations[best]),
        silence_motion=motion,
        num_frames=int(n),
        face_frames=int(found.sum()),
        silent_frames=quiet,
        fps=float(fps),
    )


def sync_report_for_audio(opening: np.ndarray, found: np.ndarray, fps: float, samples_16k: np.ndarray,
                          model=None) -> SyncReport:
    """`sync_report` for a mouth track and the 16 kHz sound that goes with it."""
    n = len(opening)
    expected = expected_mouth(samples_16k, fps, n, model)
    return sync_report(opening, found, expected, silent_frames(samples_16k, fps, n), fps)


def check_sync(video_path: str | Path, audio_path: str | Path | None = None,
               progress: ProgressCallback | None = None) -> SyncReport:
    """Lip-sync check of a video file, with its own audio track or a separate audio file.

    Raises InputError when the video has no face or there is no audio.
    """
    from aniportrait_cli.media.audio import load_audio
    from aniportrait_cli.media.ffmpeg import probe

    video_path = Path(video_path)
    if audio_path is None and not probe(video_path).has_audio:
        raise InputError(f"{video_path}: has no audio track; pass the speech file with --audio")
    audio = load_audio(audio_path if audio_path is not None else video_path)
    opening, found, fps = video_mouth_track(video_path, progress)
    return sync_report_for_audio(opening, found, fps, audio.samples)


# --- check-sync --against: a generated mouth against the real speaker's ---------------------------------------


@dataclass(frozen=True)
class RealComparison:
    """A generated mouth-opening track compared with the real speaker's on the same audio.

    correlation_lag0  Pearson r at lag 0
    best_lag_frames   lag (real-video frames, within +-5) with the highest r; > 0: the generated mouth is late
    best_correlation  r at that lag
    std_ratio         std of the generated opening / std of the real one (1 = same amount of motion)
    frames            frames compared
    """

    correlation_lag0: float
    best_lag_frames: int
    best_correlation: float
    std_ratio: float
    frames: int

    def describe(self) -> list[str]:
        return [
            f"correlation at lag 0      {self.correlation_lag0:+.2f}",
            f"best lag                  {self.best_lag_frames:+d} frames (r {self.best_correlation:+.2f}; > 0: generated mouth late)",
            f"std ratio (gen. / real)   {self.std_ratio:.2f}",
            f"frames compared           {self.frames}",
        ]


def compare_with_real(generated: np.ndarray, generated_found: np.ndarray, generated_fps: float,
                      real: np.ndarray, real_found: np.ndarray, real_fps: float, max_lag: int = MAX_LAG_FRAMES) -> RealComparison:
    """Resample the generated track to the real video's frame times and compare (see the module docstring)."""
    real_times = np.arange(len(real)) / real_fps
    generated_times = np.arange(len(generated)) / generated_fps
    inside = real_times <= generated_times[-1] + 1e-9
    resampled = np.interp(real_times[inside], generated_times, generated)
    # A resampled frame has a face when both generated frames around it have one.
    left = np.clip(np.floor(real_times[inside] * generated_fps + 1e-9).astype(int), 0, len(generated) - 1)
    right = np.minimum(left + 1, len(generated) - 1)
    ok = generated_found[left] & generated_found[right] & real_found[: len(resampled)]
    real = real[: len(resampled)]

    def at_lag(lag: int) -> float:
        index = np.arange(max(0, lag), min(len(real), len(real) + lag))  # generated at t vs real at t - lag
        keep = ok[index] & ok[index - lag]
        return pearson(resampled[index][keep], real[index - lag][keep])

    lags = np.arange(-max_lag, max_lag + 1)
    values = np.array([at_lag(int(lag)) for lag in lags])
    best = int(np.argmax(values - 1e-9 * np.abs(lags)))
    return RealComparison(
        correlation_lag0=float(values[max_lag]),
        best_lag_frames=int(lags[best]),
        best_correlation=float(values[best]),
        std_ratio=float(resampled[ok].std() / max(real[ok].std(), 1e-12)),
        frames=int(ok.sum()),
    )


def check_against(generated_path: str | Path, real_path: str | Path,
                  progress: ProgressCallback | None = None) -> RealComparison:
    """`compare_with_real` for two video files."""
    generated = video_mouth_track(Path(generated_path), progress)
    real = video_mouth_track(Path(real_path), progress)
    return compare_with_real(*generated, *real)
