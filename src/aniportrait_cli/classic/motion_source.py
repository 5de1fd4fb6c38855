"""The classic engine's motion source: speech signal analysis (no weights) -> `Motion` for one reference face."""

from __future__ import annotations

from collections.abc import Callable

from aniportrait_cli.classic.audio_motion import motion_from_audio
from aniportrait_cli.motion import Motion

MOTION_FPS = 30.0


class SignalMotion:
    """Jaw, lips, blinks and head motion from the speech signal, seeded (same seed, same motion)."""

    name = "signal"

    def __init__(self, seed: int):
        self.seed = seed

    def from_audio(self, face, audio, progress: Callable[[int, int], None] | None = None) -> Motion:
        """`face`: the reference's `FaceObservation`; `audio`: a 16 kHz `media.Audio`. 30 fps, ceil(s * 30) frames."""
        return motion_from_audio(audio.samples, face.mesh3d, face.transform, face.landmarks, seed=self.seed,
                                 fps=MOTION_FPS, num_frames=audio.num_frames(MOTION_FPS))
