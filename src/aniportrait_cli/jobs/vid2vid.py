"""vid2vid: reference portrait + driving video -> the portrait re-enacting the driving face (its audio kept)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aniportrait_cli.jobs.common import finish, fit_motion, load_reference
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.jobs.outputs import check_output, resolve_output


def run(ref: Path, video: Path, output: Path | None, options: RenderOptions, reporter,
        models: ModelCache | None = None) -> Path:
    """The motion always comes from the driving video; the engine picks the renderer (hybrid = the photo warp)."""
    from aniportrait_cli.jobs.engines import MotionSource, pick_engine
    from aniportrait_cli.jobs.rendering import motion_from_video, render_motion
    from aniportrait_cli.media import VideoReader

    output = check_output(resolve_output(output, ref, video), options.overwrite)
    reader = VideoReader(video)
    reference = load_reference(ref, options.size, reporter)
    choice = pick_engine(options, reporter, given_motion=MotionSource.video)
    motion = motion_from_video(reference, reader, reporter)
    fps = options.fps or reader.fps
    num_frames = max(1, int(np.ceil(motion.duration_s * fps - 1e-9)))
    motion = fit_motion(motion, fps, num_frames)
    if options.save_motion is not None:
        motion.save(options.save_motion)
    render_motion(reference, motion, output, video if reader.info.has_audio else None, choice, options,
                  models or ModelCache(), reporter)
    finish(reporter, output, motion.num_frames, motion.fps, choice, options)
    return output
