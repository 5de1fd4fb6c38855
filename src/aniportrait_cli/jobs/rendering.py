"""Wiring of the engine halves: the motion source an `EngineChoice` names, the renderer it names, and the
models they need from the `ModelCache`. The halves themselves live with their stages:

    motion sources   audio2lmk/motion_source.py (learned)   classic/motion_source.py (signal)
    renderers        lmk2video/renderer.py (diffusion)       classic/warp_renderer.py (warp)

All of them produce or consume the same `Motion`, so every command works with every engine.
"""

from __future__ import annotations

from pathlib import Path

from aniportrait_cli.jobs.common import FrameSink, Reference
from aniportrait_cli.jobs.engines import EngineChoice, MotionSource, Renderer
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.motion import Motion


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
        total = -(-reader.info.approx_num_frames // step)  # from the video stream: exact for constant-rate videos
        track = track_video(islice(counted(), 0, None, step), reader.fps / step, reader.path, num_frames=total,
                            on_warning=reporter.note_once, progress=bar.callback("Tracking the driving face", total))
    return motion_from_face_track(reference.face, track, pose_mode), decoded


def motion_from_audio(reference: Reference, audio, choice: EngineChoice, options: RenderOptions, models: ModelCache,
                      reporter) -> Motion:
    """Per-frame mesh + head pose at 30 fps for the reference face, from 16 kHz speech or singing."""
    source = audio_motion_source(choice, options, models, reporter)
    with reporter.progress() as bar:
        return source.from_audio(reference.face, audio, progress=bar.callback("Audio to motion"))


def audio_motion_source(choice: EngineChoice, options: RenderOptions, models: ModelCache, reporter):
    """The motion source of `choice`, with its models loaded (once per process)."""
    if choice.motion is MotionSource.learned:
        from aniportrait_cli.audio2lmk.motion_source import LearnedMotion

        pipeline = _audio2lmk(choice, options, models, reporter)
        return LearnedMotion(pipeline, options.resolved_pose_style, options.compat)
    from aniportrait_cli.classic.motion_source import SignalMotion

    return SignalMotion(options.seed)


def render_motion(reference: Reference, motion: Motion, output: Path, audio_path: Path | None, choice: EngineChoice,
                  options: RenderOptions, models: ModelCache, reporter) -> None:
    """Render `motion` (already at the output rate) into `output`, all or nothing."""
    sink = FrameSink(output, reference, motion, options, audio_path)
    try:
        with reporter.progress() as bar:
            progress = _stage_progress(bar)
            renderer = _renderer(choice, options, models, progress)
            # The diffusion pipeline resizes the square itself, from its full resolution, as the original.
            image = reference.pipeline_image if choice.renderer is Renderer.diffusion else reference.square
            renderer.render(image, reference.face, motion, sink, progress)
        sink.close()
    except BaseException:
        sink.abort()
        raise


def _renderer(choice: EngineChoice, options: RenderOptions, models: ModelCache, progress):
    if choice.renderer is Renderer.warp:
        from aniportrait_cli.classic.warp_renderer import WarpRenderer

        return WarpRenderer()
    from aniportrait_cli.jobs.devices import resolve_dtype
    from aniportrait_cli.lmk2video.film import FrameInterpolator
    from aniportrait_cli.lmk2video.pipeline import Lmk2VideoPipeline
    from aniportrait_cli.lmk2video.renderer import STAGE_LABELS, DiffusionRenderer, DiffusionSettings, release_files
    from aniportrait_cli.weights import manager

    device = choice.device
    files = release_files(manager.require("neural", options.weights_dir))
    dtype = resolve_dtype(options.dtype, device)

    def load_progress(stage: str, done: int, total: int) -> None:
        progress(STAGE_LABELS.get(stage, stage), done, total)

    pipeline = models.get(("lmk2video", files, device, dtype, options.low_vram),
                          lambda: Lmk2VideoPipeline.from_pretrained(files, device=device, dtype=dtype,
                                                                    low_vram=options.low_vram, progress=load_progress))
    interpolator = None
    if options.fast:
        film = manager.require("neural", options.weights_dir, ids=["film_net"])["film_net"]
        interpolator = models.get(("film", film, device), lambda: FrameInterpolator.from_file(film, device))
    settings = DiffusionSettings(size=options.size, steps=options.steps, cfg=options.cfg, seed=options.seed,
                                 fast_stride=options.fast_stride)
    return DiffusionRenderer(pipeline, settings, interpolator)


def _audio2lmk(choice: EngineChoice, options: RenderOptions, models: ModelCache, reporter):
    from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
    from aniportrait_cli.weights import manager

    paths = manager.require("hybrid", options.weights_dir)
    mesh, pose = paths["audio2mesh"], paths["audio2pose"]
    precision = _motion_precision(choice, options, reporter)
    return models.get(("audio2lmk", mesh, pose, choice.device, precision),
                      lambda: Audio2LmkPipeline.from_pretrained(mesh, pose, device=choice.device, precision=precision))


def _motion_precision(choice: EngineChoice, options: RenderOptions, reporter) -> str:
    """--fast with the hybrid engine on a CPU: the learned motion in bfloat16 where the CPU has it natively."""
    if not (options.fast and choice.renderer is Renderer.warp and choice.device == "cpu"):
        return "fp32"
    from aniportrait_cli.audio2lmk.precision import fast_cpu_precision

    precision = fast_cpu_precision()
    if precision is None:
        reporter.note_once("--fast: this CPU has no native bfloat16, so the learned motion runs in fp32 (as fast "
                           "as it gets here)")
        return "fp32"
    return precision


def _stage_progress(bar):
    """A `progress(label, done, total)` callback: one bar per label, created on first use."""
    tasks: dict[str, object] = {}

    def progress(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bar.add(label, total)
        bar.update(tasks[label], completed=done, total=total)

    return progress
