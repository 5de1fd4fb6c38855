"""AniPortrait's learned motion as a motion source: speech -> `Motion` for one reference face.

Both the neural engine (which draws pose images from it for the diffusion renderer) and the hybrid engine (which
hands it to the photo warp) take their motion from `LearnedMotion.from_audio`, so the two renderers see the
same frames.
"""

from __future__ import annotations

from collections.abc import Callable

from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
from aniportrait_cli.motion import Motion

# Both audio models work at 30 fps (the original's rate); other --fps values resample the motion later.
MOTION_FPS = 30.0


class LearnedMotion:
    """audio2mesh (expression offsets) + audio2pose (head pose), placed on the reference face's canonical mesh."""

    name = "learned"

    def __init__(self, pipeline: Audio2LmkPipeline, pose_style: int, compat: bool = False):
        self.pipeline = pipeline
        self.pose_style = pose_style
        self.compat = compat

    def from_audio(self, face, audio, progress: Callable[[int, int], None] | None = None) -> Motion:
        """`face`: the reference's `FaceObservation`; `audio`: a 16 kHz `media.Audio`. 30 fps, ceil(s * 30) frames."""
        from aniportrait_cli.audio2lmk.precision import threads_for_idle_cores
        from aniportrait_cli.landmarks.motion_tools import motion_from_offsets

        with threads_for_idle_cores(self.pipeline.device):
            result = self.pipeline.predict(audio.samples, self.pose_style, MOTION_FPS, self.compat, progress=progress)
        return motion_from_offsets(face, result.mesh_offsets, result.head_pose, MOTION_FPS)
