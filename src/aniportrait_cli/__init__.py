"""aniportrait-cli: audio- and video-driven portrait animation (AniPortrait) from the command line."""

__version__ = "0.1.0"
