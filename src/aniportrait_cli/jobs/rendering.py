"""The two engines behind one interface: motion from audio or a driving video, and motion -> frames.

classic: speech analysis + photo warping on the CPU (nothing to download).
neural:  AniPortrait (Audio2Lmk, then the Lmk2Video diffusion model) with the released weights.
Both produce and consume the same `Motion`, so every command works with either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aniportrait_cli.jobs.common import FrameSink, Reference
from aniportrait_cli.jobs.engines import EngineChoice, choose_engine
from aniportrait_cli.jobs.options import Engine, RenderOptions
from aniportrait_cli.motion import Motion

# Both audio models work at 30 fps (the original's rate); other --fps values resample the motion.
MOTION_FPS = 30.0


def pick_engine(options: RenderOptions, reporter) -> EngineChoice:
    """Choose once per run and say why (only when the choice was not the user's)."""
    key = ("engine_choice", options.engine, options.device)
    if key not in options.extra:
        choice = choose_engine(options)
        if choice.reason:
            reporter.note_once(choice.reason)
        options.extra[key] = choice
    return options.extra[key]


def cached(options: RenderOptions, key: tuple, build):
    """Load a model once per process: a batch's items share `options.extra`."""
    if key not in options.extra:
        options.extra[key] = build()
    return options.extra[key]


def motion_from_video(reference: Reference, reader, reporter, *, step: int = 1,
                      pose_mode: str = "driver") -> tuple[Motion, int]:
    """vid2vid motion: the driving face's expression and head pose transferred onto the reference face, from
    every `step`-th frame (the motion's rate is the video's / step). Returns it and the video's frame count."""
    from itertools import islice

    from aniportrait_cli.landmarks.extractor import track_video
    from aniportrait_cli.landmarks.motion_tools import motion_from_face_track

    decoded = 0

    def counted():
        nonlocal decoded
        for frame in reader.frames():
            decoded += 1
            yield frame

    with reporter.progress() as bar:
        track = track_video(islice(counted(), 0, None, step), reader.fps / step, reader.path,
                            num_frames=-(-reader.info.approx_num_frames // step), on_warning=reporter.note_once,
                            progress=bar.callback("Tracking the driving face"))
    return motion_from_face_track(reference.face, track, pose_mode), decoded


def motion_from_audio(reference: Reference, audio, options: RenderOptions, reporter) -> Motion:
    """Per-frame mesh + head pose at 30 fps for the reference face, from 16 kHz speech or singing."""
    choice = pick_engine(options, reporter)
    if choice.engine is Engine.neural:
        return _neural_motion(reference, audio, options, reporter, choice.device)
    from aniportrait_cli.classic.audio_motion import motion_from_audio as classic_motion

    face = reference.face
    return classic_motion(audio.samples, face.mesh3d, face.transform, face.landmarks, seed=options.seed,
                          fps=MOTION_FPS, num_frames=audio.num_frames(MOTION_FPS))


def render_motion(reference: Reference, motion: Motion, output: Path, audio_path: Path | None,
                  options: RenderOptions, reporter) -> str:
    """Render `motion` (already at the output rate) into `output`; returns the engine's name."""
    choice = pick_engine(options, reporter)
    sink = FrameSink(output, reference, motion, options, audio_path)
    try:
        if choice.engine is Engine.neural:
            _neural_frames(reference, motion, options, reporter, choice.device, sink)
        else:
            _classic_frames(reference, motion, reporter, sink)
        sink.close()
    except BaseException:
        sink.abort()
        raise
    return choice.engine.value


def _classic_frames(reference: Reference, motion: Motion, reporter, sink: FrameSink) -> None:
    from aniportrait_cli.classic.renderer import ClassicRenderer

    renderer = ClassicRenderer.from_face(reference.square, reference.face)
    with reporter.progress() as bar:
        for frame in renderer.frames(motion, progress=bar.callback("Rendering", motion.num_frames)):
            sink(frame)


class PoseImageSequence:
    """A motion's pose images drawn on demand (len + indexing), so the diffusion pipeline reads them window
    by window instead of holding a whole long video's worth in memory."""

    def __init__(self, motion: Motion, size: int, indices: list[int] | None = None):
        self.motion = motion
        self.size = size
        self.indices = indices if indices is not None else list(range(motion.num_frames))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> np.ndarray:
        from aniportrait_cli.landmarks.motion_tools import pose_image

        return pose_image(self.motion, self.indices[i], self.size, self.size)


def _neural_paths(options: RenderOptions) -> dict[str, Path]:
    from aniportrait_cli.weights import manager

    return manager.require("neural", options.weights_dir)


def _neural_motion(reference: Reference, audio, options: RenderOptions, reporter, device: str) -> Motion:
    from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
    from aniportrait_cli.landmarks.motion_tools import motion_from_offsets

    paths = _neural_paths(options)
    pipeline = cached(options, ("audio2lmk", paths["audio2mesh"], paths["audio2pose"], device),
                      lambda: Audio2LmkPipeline.from_pretrained(paths["audio2mesh"], paths["audio2pose"], device=device))
    with reporter.progress() as bar:
        result = pipeline.predict(audio.samples, options.resolved_pose_style, MOTION_FPS, options.compat,
                                  progress=bar.callback("Audio to motion"))
    return motion_from_offsets(reference.face, result.mesh_offsets, result.head_pose, MOTION_FPS)


def _neural_frames(reference: Reference, motion: Motion, options: RenderOptions, reporter, device: str,
                   sink: FrameSink) -> None:
    from aniportrait_cli.jobs.devices import resolve_dtype
    from aniportrait_cli.lmk2video.film import FrameInterpolator, KeyframeExpander, keyframe_indices
    from aniportrait_cli.lmk2video.loading import ReleaseFiles
    from aniportrait_cli.lmk2video.pipeline import Lmk2VideoPipeline

    paths = _neural_paths(options)
    files = ReleaseFiles(
        denoising_unet=paths["denoising_unet"], motion_module=paths["motion_module"],
        reference_unet=paths["reference_unet"], pose_guider=paths["pose_guider"],
        vae_dir=paths["vae"].parent, image_encoder_dir=paths["image_encoder"].parent,
    )
    size = options.size
    with reporter.progress() as bar:
        tasks: dict[str, object] = {}
        labels = {"load": "Loading weights", "denoise": "Diffusion", "decode": "Decoding"}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add(labels.get(stage, stage), total)
            bar.update(tasks[stage], completed=done, total=total)

        dtype = resolve_dtype(options.dtype, device)
        pipeline = cached(options, ("lmk2video", files, device, dtype, options.low_vram),
                          lambda: Lmk2VideoPipeline.from_pretrained(files, device=device, dtype=dtype,
                                                                    low_vram=options.low_vram, progress=progress))

        indices = list(range(motion.num_frames))
        emit = sink
        if options.fast:
            # The original's --fast: diffuse frames 0, k, 2k, ...; FILM fills the gaps; the last frames repeat
            # the last generated one, so the video keeps the audio's length.
            from aniportrait_cli.lmk2video.preprocess import frames_to_uint8

            film_path = _film_path(options)
            interpolator = cached(options, ("film", film_path, device), lambda: FrameInterpolator.from_file(film_path, device))
            indices = keyframe_indices(motion.num_frames, options.fast_stride)
            emit = KeyframeExpander(motion.num_frames, options.fast_stride, interpolator,
                                    lambda frame: sink(frames_to_uint8(frame[None])[0]))

        def on_frames(start: int, frames) -> None:
            for frame in frames:
                emit(frame)

        pipeline(reference.pipeline_image, PoseImageSequence(motion, size, indices), size, size, steps=options.steps,
                 cfg=options.cfg, seed=options.seed, progress=progress, on_frames=on_frames,
                 output_type="float" if options.fast else "uint8")
        if options.fast:
            emit.finish()


def _film_path(options: RenderOptions) -> Path:
    from aniportrait_cli.weights import manager

    return manager.require("neural", options.weights_dir, ids=["film_net"])["film_net"]
