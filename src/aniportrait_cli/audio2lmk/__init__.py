"""Audio -> per-frame face mesh offsets and head pose (AniPortrait's audio2mesh + audio2pose)."""

from aniportrait_cli.audio2lmk.pipeline import Audio2LmkOutput, Audio2LmkPipeline
from aniportrait_cli.audio2lmk.tiny import write_tiny_checkpoints

__all__ = ["Audio2LmkOutput", "Audio2LmkPipeline", "write_tiny_checkpoints"]
