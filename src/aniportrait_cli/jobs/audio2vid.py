"""audio2vid: reference portrait + speech or singing -> talking video of exactly the audio's length."""

from __future__ import annotations

from pathlib import Path

from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs.common import finish, fit_motion, load_reference
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.jobs.outputs import check_output, resolve_output
from aniportrait_cli.motion import Motion


def run(ref: Path, audio: Path | None, motion: Path | None, pose_from: str | None, output: Path | None,
        options: RenderOptions, reporter, models: ModelCache | None = None) -> Path:
    """`models`: loaded models to reuse (a batch passes one cache to all its items)."""
    from aniportrait_cli.jobs.engines import MotionSource, pick_engine
    from aniportrait_cli.jobs.rendering import motion_from_audio, render_motion
    from aniportrait_cli.media import load_audio

    if audio is None:
        raise InputError("--audio is required: the speech or singing to lip-sync (and to put in the video)")
    output = check_output(resolve_output(output, ref, audio), options.overwrite)
    clip = load_audio(audio)
    reference = load_reference(ref, options.size, reporter)
    models = models or ModelCache()
    choice = pick_engine(options, reporter, given_motion=MotionSource.file if motion is not None else None)
    if motion is not None:
        moving = Motion.load(motion)
    else:
        moving = motion_from_audio(reference, clip, choice, options, models, reporter)
    moving = fit_motion(moving, options.fps, clip.num_frames(options.fps))
    if pose_from is not None:
        from aniportrait_cli.landmarks.edit_pose import resolve_pose_source
        from aniportrait_cli.landmarks.motion_tools import with_pose

        pose = resolve_pose_source(pose_from, moving.num_frames, moving.fps, on_warning=reporter.note_once)
        moving = with_pose(moving, pose)
    if options.save_motion is not None:
        moving.save(options.save_motion)
    render_motion(reference, moving, output, clip.source, choice, options, models, reporter)
    finish(reporter, output, moving.num_frames, moving.fps, choice, options)
    return output
