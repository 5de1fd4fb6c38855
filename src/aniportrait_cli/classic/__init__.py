"""The classic engine: talking video on the CPU from the reference photo itself, with no learned weights.

Audio -> `Motion` by signal processing (`audio_motion.motion_from_audio`), `Motion` -> frames by warping the
photo along the projected face mesh (`renderer.ClassicRenderer`).
"""

from aniportrait_cli.classic.audio_motion import ArticulationStyle, motion_from_audio
from aniportrait_cli.classic.renderer import ClassicRenderer

__all__ = ["ArticulationStyle", "ClassicRenderer", "motion_from_audio"]
