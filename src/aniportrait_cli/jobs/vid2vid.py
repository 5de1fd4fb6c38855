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
    from aniportrait_cli.jobs.engines import MotionSource, Renderer, pick_engine
    from aniportrait_cli.jobs.rendering import motion_from_video, render_motion
    from aniportrait_cli.landmarks.driving_frames import driving_frame_step
    from aniportrait_cli.media import VideoReader, load_audio

    output = check_output(resolve_output(output, ref, video), options.overwrite)
    save_motion = check_side_output(options.save_motion, options.overwrite, ".npz")
    reader = VideoReader(video)
    reference = load_reference(ref, options.size, reporter, max_side=options.max_output_size)
    choice = pick_engine(options, reporter, given_motion=MotionSource.video)
    step = driving_frame_step(reader.fps)
    source_fps = reader.fps / step
    if step > 1 and not options.fps:
        reporter.note_once(f"{video}: {reader.fps:g} fps driving video, using every {_ordinal(step)} frame "
                           f"({source_fps:g} fps, the rate the motion model was trained at); --fps sets another")
    # --fast with the diffusion renderer: only the keyframes are measured and smoothed, as in the original.
    stride = options.fast_stride if options.fast and choice.renderer is Renderer.diffusion else 1
    motion, decoded = motion_from_video(reference, reader, reporter, step=step * stride, pose_mode=options.pose_mode)
    num_selected = -(-decoded // step)
    if stride > 1:
        motion = motion.resampled(source_fps, num_selected)  # keyframe m lands on frame m * stride
    fps = options.fps or source_fps
    num_frames = num_selected if fps == source_fps else max(1, int(np.ceil(num_selected / source_fps * fps - 1e-9)))
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


def _ordinal(n: int) -> str:
    return {2: "2nd", 3: "3rd"}.get(n, f"{n}th")
