"""Engine dispatch: motion producers and renderers of the classic and neural engines behind one interface."""

from __future__ import annotations

from pathlib import Path

from aniportrait_cli.errors import NotAvailableYet
from aniportrait_cli.jobs.common import FrameSink, Reference
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.motion import Motion


def motion_from_video(reference: Reference, reader, reporter) -> Motion:
    """vid2vid motion: the driving face's expression and head motion transferred onto the reference face."""
    from aniportrait_cli.landmarks.extractor import track_video
    from aniportrait_cli.landmarks.motion_tools import motion_from_face_track

    with reporter.progress() as bar:
        track = track_video(reader.frames(), reader.fps, reader.path, num_frames=reader.info.approx_num_frames,
                            on_warning=reporter.note_once, progress=bar.callback("Tracking the driving face"))
    return motion_from_face_track(reference.face, track)


def motion_from_audio(reference: Reference, audio, options: RenderOptions, reporter) -> Motion:
    raise NotAvailableYet("motion from audio is not available yet in this build")


def render_motion(reference: Reference, motion: Motion, output: Path, audio_path: Path | None,
                  options: RenderOptions, reporter) -> str:
    raise NotAvailableYet("rendering is not available yet in this build")
