"""vid2vid: reference portrait + driving video -> the portrait re-enacting the driving face (its audio kept)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aniportrait_cli.jobs.common import finish, fit_motion, load_reference
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.jobs.outputs import check_output, check_side_output, resolve_output


def run(ref: Path, video: Path, output: Path | None, options: RenderOptions, reporter,
        models: ModelCache | None = None) -> Path:
    """The motion always comes from the driving video; the engine picks the renderer (hybrid = the photo warp)."""
    from aniportrait_cli.jobs.engines import MotionSource, pick_engine
    from aniportrait_cli.jobs.rendering import motion_from_video, render_motion
    from aniportrait_cli.media import VideoReader, load_audio

    output = check_output(resolve_output(output, ref, video), options.overwrite)
    save_motion = check_side_output(options.save_motion, options.overwrite, ".npz")
    reader = VideoReader(video)
    reference = load_reference(ref, options.size, reporter, max_side=options.max_output_size)
    choice = pick_engine(options, reporter, given_motion=MotionSource.video)
    motion = motion_from_video(reference, reader, reporter)
    fps = options.fps or reader.fps
    num_frames = max(1, int(np.ceil(motion.duration_s * fps - 1e-9)))
    motion = fit_motion(motion, fps, num_frames)
    # The driving video's sound, decoded like any audio input (its start offset applied).
    sound = load_audio(video, allow_silent=True, for_mux=True) if reader.info.has_audio else None
    try:
        render_motion(reference, motion, output, sound.mux_path if sound else None, choice, options,
                      models or ModelCache(), reporter)
    finally:
        if sound is not None:
            sound.close()
    if save_motion is not None:  # after the video: an interrupted run leaves neither
        motion.save(save_motion)
    finish(reporter, output, motion.num_frames, motion.fps, choice, options)
    return output
