"""Media I/O used by everything: audio in, images in/out, video in/out, all through the bundled ffmpeg."""

from aniportrait_cli.media.atomic import atomic_output
from aniportrait_cli.media.audio import Audio, load_audio
from aniportrait_cli.media.image import load_image, save_image
from aniportrait_cli.media.video import VideoInfo, VideoReader, VideoWriter

__all__ = ["Audio", "VideoInfo", "VideoReader", "VideoWriter", "atomic_output", "load_audio", "load_image", "save_image"]
