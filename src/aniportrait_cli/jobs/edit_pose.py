"""edit-pose: change the head motion of a talking portrait without touching lips and expression.

Expression comes from --audio, --video or --motion; head pose from --pose-from or the source itself; then the
edits (scale, offset, smoothing, mirror, loop). Outputs: the rendered video, a landmark --preview (no weights),
a --save-pose template in the original's format, a --save-motion file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs.common import Reference, finish, fit_motion, load_reference
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.jobs.outputs import check_output, check_side_output, resolve_output
from aniportrait_cli.media.audio import Audio
from aniportrait_cli.motion import Motion

TEMPLATE_FPS = 30.0


def run(ref: Path | None, audio: Path | None, video: Path | None, motion: Path | None, pose_from: str | None,
        pose_scale: float, pose_offset: str | None, pose_smooth: int, mirror: bool, loop: str,
        save_pose: Path | None, preview: bool, output: Path | None, options: RenderOptions, reporter,
        models: ModelCache | None = None) -> Path | None:
    from aniportrait_cli.jobs.engines import MotionSource, pick_engine
    from aniportrait_cli.landmarks.edit_pose import PoseEdits, parse_pose_offset

    sources = [s for s in (audio, video, motion) if s is not None]
    if len(sources) != 1:
        raise InputError("give exactly one motion source: --audio, --video or --motion")
    source = sources[0]
    edits = PoseEdits(scale=pose_scale, offset=parse_pose_offset(pose_offset) if pose_offset else (0.0, 0.0, 0.0),
                      smooth=pose_smooth, mirror=mirror, loop=loop)
    save_pose = check_side_output(save_pose, options.overwrite, ".npy", "--save-pose")
    save_motion = check_side_output(options.save_motion, options.overwrite, ".npz")
    wants_video = preview or ref is not None or output is not None
    if not wants_video:
        if save_pose is None:
            raise InputError("nothing to do: give --ref to render, --preview for a landmark video, or --save-pose")
        return _save_template_only(source, video, motion, pose_from, edits, save_pose, reporter)

    suffix = "__preview.mp4" if preview else "__edit.mp4"
    name_parts = (ref, source) if ref is not None else (source,)
    output = check_output(resolve_output(output, *name_parts, suffix=suffix), options.overwrite)
    # The engine matters for the motion (from --audio) and for rendering; a preview of a video or file needs none.
    given_motion = None if audio is not None else MotionSource.video if video is not None else MotionSource.file
    choice = pick_engine(options, reporter, given_motion) if (audio is not None or not preview) else None
    models = models or ModelCache()
    reference, motion_obj, sound = _reference_and_motion(ref, audio, video, motion, choice, options, models, reporter)
    try:
        motion_obj = _edit_and_render(reference, motion_obj, sound.mux_path if sound else None, video, pose_from,
                                      edits, preview, output, choice, options, models, reporter)
    finally:
        if sound is not None:
            sound.close()
    # Side outputs after the video: an interrupted run leaves none of them.
    if save_pose is not None:
        _save_pose(save_pose, motion_obj.pose, motion_obj.fps)
        reporter.info(f"saved the edited head pose to {save_pose}")
    if save_motion is not None:
        motion_obj.save(save_motion)
    finish(reporter, output, motion_obj.num_frames, motion_obj.fps, "preview" if preview else choice)
    return output


def _edit_and_render(reference: Reference, motion_obj: Motion, audio_path: Path | None, video: Path | None,
                     pose_from: str | None, edits, preview: bool, output: Path, choice, options: RenderOptions,
                     models: ModelCache, reporter) -> Motion:
    """The source motion at the output rate with the pose edits applied, rendered (or previewed) to `output`."""
    template = None
    if video is not None and pose_from is None:
        # A video's head track is used like a template extracted from it (generate_ref_pose), then as any template.
        from aniportrait_cli.landmarks.edit_pose import template_from_relative_poses

        template = template_from_relative_poses(motion_obj.pose, motion_obj.fps)
    num_frames = max(1, int(np.ceil(motion_obj.duration_s * options.fps - 1e-9)))
    motion_obj = fit_motion(motion_obj, options.fps, num_frames)
    if template is not None:
        from aniportrait_cli.landmarks.edit_pose import template_pose_track
        from aniportrait_cli.landmarks.motion_tools import with_pose

        motion_obj = with_pose(motion_obj, template_pose_track(template, num_frames, options.fps, edits.loop))
    motion_obj = _edited(motion_obj, pose_from, edits, reporter)
    if preview:
        _write_preview(output, reference, motion_obj, audio_path, options, reporter)
        return motion_obj
    from aniportrait_cli.jobs.rendering import render_motion

    render_motion(reference, motion_obj, output, audio_path, choice, options, models, reporter)
    return motion_obj


def _reference_and_motion(ref, audio, video, motion, choice, options: RenderOptions, models: ModelCache,
                          reporter) -> tuple[Reference, Motion, Audio | None]:
    """The reference (the portrait, or the driving video's first frame when no --ref is given), the source motion
    and the decoded sound to mux (a temporary file the caller closes)."""
    from aniportrait_cli.media import VideoReader, load_audio

    if motion is not None:
        if ref is None:
            raise InputError("--motion needs --ref: the portrait to animate or preview")
        reference = load_reference(ref, options.size, reporter, max_side=options.max_output_size)
        return reference, Motion.load(motion), None
    if audio is not None:
        if ref is None:
            raise InputError("--audio needs --ref: the portrait whose face the speech animates")
        reference = load_reference(ref, options.size, reporter, max_side=options.max_output_size)
        clip = load_audio(audio, for_mux=True, on_warning=reporter.note_once)
        from aniportrait_cli.jobs.rendering import motion_from_audio

        try:
            return reference, motion_from_audio(reference, clip, choice, options, models, reporter), clip
        except BaseException:
            clip.close()
            raise
    reader = VideoReader(video)
    if ref is None:
        first = next(reader.frames())
        reference = load_reference(video, options.size, reporter, image=first.copy(), max_side=options.max_output_size)
    else:
        reference = load_reference(ref, options.size, reporter, max_side=options.max_output_size)
    from aniportrait_cli.jobs.rendering import motion_from_video

    # The video's head track serves like a template extracted from it: relative to its first frame.
    motion_obj, _ = motion_from_video(reference, reader, reporter, pose_mode="relative")
    return reference, motion_obj, (load_audio(video, allow_silent=True, for_mux=True) if reader.info.has_audio else None)


def _edited(motion: Motion, pose_from: str | None, edits, reporter) -> Motion:
    from aniportrait_cli.landmarks.edit_pose import apply_pose_edits, resolve_pose_source
    from aniportrait_cli.landmarks.motion_tools import with_pose

    pose = motion.pose
    if pose_from is not None:
        with reporter.progress() as bar:
            pose = resolve_pose_source(pose_from, motion.num_frames, motion.fps, loop=edits.loop,
                                       on_warning=reporter.note_once, progress=bar.callback("Pose source"))
    return with_pose(motion, apply_pose_edits(pose, motion.num_frames, edits))


def _save_pose(path: Path, pose: np.ndarray, fps: float) -> None:
    from aniportrait_cli.landmarks.edit_pose import save_pose_template
    from aniportrait_cli.landmarks.pose_track import resample_track

    template = pose if abs(fps - TEMPLATE_FPS) < 1e-9 else resample_track(pose, fps, TEMPLATE_FPS)
    save_pose_template(path, np.asarray(template, dtype=np.float64))


def _save_template_only(source: Path, video: Path | None, motion: Path | None, pose_from: str | None, edits,
                        save_pose: Path, reporter) -> Path:
    """The template extractor (the original's generate_ref_pose), with the edits applied."""
    from aniportrait_cli.landmarks.edit_pose import apply_pose_edits, extract_pose_template_from_file, resolve_pose_source

    if video is not None:
        with reporter.progress() as bar:
            pose = extract_pose_template_from_file(video, on_warning=reporter.note_once,
                                                   progress=bar.callback("Tracking the head"))
        fps = TEMPLATE_FPS
    elif motion is not None:
        saved = Motion.load(motion)
        pose, fps = saved.pose, saved.fps
    else:
        raise InputError("--audio with --save-pose needs --ref: the head pose from speech depends on the portrait")
    if pose_from is not None:
        pose = resolve_pose_source(pose_from, len(pose), fps, loop=edits.loop, on_warning=reporter.note_once)
    pose = apply_pose_edits(pose, len(pose), edits)
    _save_pose(save_pose, pose, fps)
    frames = int(np.ceil(len(pose) / fps * TEMPLATE_FPS - 1e-9))
    reporter.info(f"wrote {save_pose} ({frames} frames at 30 fps) in {reporter.elapsed_s:.1f} s")
    reporter.emit_json({"status": "ok", "pose": str(save_pose), "frames": frames, "fps": TEMPLATE_FPS,
                        "elapsed_s": round(reporter.elapsed_s, 2)})
    return save_pose


def _write_preview(output: Path, reference: Reference, motion: Motion, audio_path: Path | None,
                   options: RenderOptions, reporter) -> None:
    from aniportrait_cli.landmarks.edit_pose import preview_frames
    from aniportrait_cli.media import VideoWriter

    size = options.size
    with reporter.progress() as bar:
        progress = bar.callback("Preview", motion.num_frames)
        with VideoWriter(output, motion.fps, 2 * size, size, audio_path=audio_path, num_frames=motion.num_frames) as writer:
            for frame in preview_frames(motion, reference.square, size, size, progress=progress):
                writer.write(frame)
