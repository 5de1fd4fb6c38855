"""Steps every rendering job shares: the reference portrait, motion timing, and the output video."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.motion import Motion


@dataclass
class Reference:
    """The reference portrait as the renderers see it.

    prepared   the original image, its face and the square crop around it (for paste-back)
    square     the square crop resized to size x size (area/cubic): the picture the classic engine warps
    face       the face (landmarks, facial transformation matrix, canonical mesh) in the frames' geometry, measured
               as the original does for photos up to twice the size (see `load_reference`)
    """

    path: Path
    prepared: object  # landmarks.reference.PreparedReference
    square: np.ndarray
    face: object  # landmarks.extractor.FaceObservation

    @property
    def cropped(self) -> bool:
        return self.prepared.cropped

    @property
    def pipeline_image(self) -> np.ndarray:
        """What the diffusion pipeline gets, as in the original: the square at its own resolution (the whole
        photo when it is square, else the crop cut from the full-resolution photo); it resizes it itself."""
        return self.prepared.image


def load_reference(path: Path, size: int, reporter, image: np.ndarray | None = None,
                   max_side: int | None = None) -> Reference:
    """Find the face in the portrait at `path` (or in `image`, e.g. a video's first frame, named by `path`).

    A non-square portrait longer than `max_side` (--max-output-size) is scaled down first: the pasted-back output
    is never bigger, and a 6000x4000 photo does not render at full size for minutes. A square one is left as it is:
    its output is `size` x `size` anyway, and the diffusion pipeline resizes it from its own resolution, as the
    original does (kit case 06).

    The face is measured as the original does, on a cv2 bilinear size x size copy of the full-resolution square,
    unless that shrinks it more than 2x: a bilinear shrink reads 2 x 2 source pixels and aliases beyond that, so
    larger photos are measured on `square` (area filter) instead."""
    import cv2

    from aniportrait_cli.landmarks.extractor import FaceLandmarkExtractor
    from aniportrait_cli.landmarks.reference import prepare_reference, reference_face_at
    from aniportrait_cli.media import load_image

    if image is None:
        image = load_image(path, on_warning=reporter.note_once)
    height, width = image.shape[:2]
    if max_side is not None and height != width and max(height, width) > max_side:
        scale = max_side / max(height, width)
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        reporter.note_once(f"{path}: {width}x{height} is scaled to {image.shape[1]}x{image.shape[0]} for the output "
                           f"(--max-output-size {max_side}; raise it to keep more pixels)")
    with FaceLandmarkExtractor(mode="image") as extractor:
        prepared = prepare_reference(image, path, crop="auto", on_warning=reporter.note_once, extractor=extractor)
        interpolation = cv2.INTER_AREA if prepared.image.shape[0] > size else cv2.INTER_CUBIC
        square = cv2.resize(prepared.image, (size, size), interpolation=interpolation)
        measured = prepared.image if prepared.image.shape[0] <= 2 * size else square
        face = reference_face_at(measured, size, size, path, on_warning=reporter.note_once, extractor=extractor)
    return Reference(Path(path), prepared, square, face)


def fit_motion(motion: Motion, fps: float, num_frames: int) -> Motion:
    """The motion at the output rate with exactly `num_frames` frames (resampling the motion, never the frames,
    so audio and video stay in sync at any --fps)."""
    if abs(motion.fps - fps) < 1e-9 and motion.num_frames == num_frames:
        return motion
    return motion.resampled(fps, num_frames)


class FrameSink:
    """Takes generated frames in order: optional paste-back into the full reference, optional debug grid
    (reference | pose image | result, like the original's), then the H.264 encoder."""

    def __init__(self, output: Path, reference: Reference, motion: Motion, options: RenderOptions,
                 audio_path: Path | None):
        from aniportrait_cli.media import VideoWriter

        self.reference = reference
        self.motion = motion
        self.size = options.size
        self.paste_back = reference.cropped if options.paste_back is None else bool(options.paste_back and reference.cropped)
        self.grid = options.grid
        if self.grid:
            width, height = 3 * self.size, self.size
        elif self.paste_back:
            height, width = reference.prepared.original.shape[:2]
        else:
            width = height = self.size
        self.count = 0
        self.writer = VideoWriter(output, motion.fps, width, height, audio_path=audio_path, num_frames=motion.num_frames)

    def __call__(self, frame: np.ndarray) -> None:
        if self.grid:
            from aniportrait_cli.landmarks.motion_tools import pose_image

            pose = pose_image(self.motion, self.count, self.size, self.size)
            frame = np.concatenate([self.reference.square, pose, frame], axis=1)
        elif self.paste_back:
            frame = self.reference.prepared.paste_back(frame)
        self.writer.write(frame)
        self.count += 1

    def close(self) -> Path:
        if self.count != self.motion.num_frames:
            self.writer.abort()
            raise RuntimeError(f"renderer produced {self.count} frames, expected {self.motion.num_frames}")
        return self.writer.close()

    def abort(self) -> None:
        self.writer.abort()


def finish(reporter, output: Path, num_frames: int, fps: float, engine, options: RenderOptions | None = None,
           audio: Path | None = None) -> None:
    """The closing line (where the output is, how long it took), the --report check, and the figures for the
    item's --json line (written by the batch runner, which also knows the item's inputs).

    `engine`: the run's `engines.EngineChoice` (the --json line then names its motion source and renderer too),
    or a label such as "preview"."""
    extra = engine.summary() if hasattr(engine, "summary") else {"engine": engine}
    engine = extra["engine"]
    if options is not None and options.report:
        from aniportrait_cli.jobs.check_sync import measure, report_fields

        report = measure(output, audio, reporter)
        for line in report.describe():
            reporter.info(line)
        extra["sync"] = report_fields(report)
    seconds = num_frames / fps
    reporter.info(f"wrote {output} ({num_frames} frames, {seconds:.2f} s at {fps:g} fps, {engine} engine) "
                  f"in {reporter.elapsed_s:.1f} s")
    reporter.details.update(output=str(output), frames=num_frames, fps=fps, duration_s=round(seconds, 3), **extra)


ProgressFn = Callable[[int, int | None], None]
