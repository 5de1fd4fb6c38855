"""The diffusion renderer (neural engine): a `Motion` -> pose images -> Lmk2Video frames.

Pose images are drawn on demand from the motion (`PoseImageSequence`), so a long video never holds all of them;
with an interpolator (`--fast`) only frames 0, k, 2k, ... are diffused and FILM fills the others in the original's
order (see `film`); the last frames repeat the last diffused one, so the video keeps the motion's length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aniportrait_cli.motion import Motion

StageProgress = Callable[[str, int, int], None]
STAGE_LABELS = {"load": "Loading weights", "denoise": "Diffusion", "decode": "Decoding"}


class PoseImageSequence:
    """A motion's pose images drawn on demand (len + indexing), so the diffusion pipeline reads them window
    by window instead of holding a whole long video's worth in memory."""

    def __init__(self, motion: Motion, size: int, indices: list[int] | None = None):
        self.motion = motion
        self.size = size
        self.indices = indices if indices is not None else list(range(motion.num_frames))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> np.ndarray:
        from aniportrait_cli.landmarks.motion_tools import pose_image

        return pose_image(self.motion, self.indices[i], self.size, self.size)


@dataclass
class DiffusionSettings:
    size: int = 512
    steps: int = 25
    cfg: float = 3.5
    seed: int = 42
    fast_stride: int = 3


class DiffusionRenderer:
    name = "diffusion"

    def __init__(self, pipeline, settings: DiffusionSettings, interpolator=None):
        """`pipeline`: a loaded `Lmk2VideoPipeline`; `interpolator`: a `film.FrameInterpolator` for --fast, or None."""
        self.pipeline = pipeline
        self.settings = settings
        self.interpolator = interpolator

    def render(self, square: np.ndarray, face, motion: Motion, emit: Callable[[np.ndarray], None],
               progress: StageProgress | None = None) -> None:
        """Frames for `square` (the reference crop at its own resolution: the pipeline resizes it as the original
        does), one per motion frame, to `emit`. `face` is unused: the appearance comes from the image, the
        geometry from the motion's pose images."""
        from aniportrait_cli.lmk2video.film import KeyframeExpander, keyframe_indices
        from aniportrait_cli.lmk2video.preprocess import frames_to_uint8

        settings = self.settings
        indices = list(range(motion.num_frames))
        fast = self.interpolator is not None
        if fast:
            # The interpolator works on the pipeline's float frames, as the original's FILM step does.
            indices = keyframe_indices(motion.num_frames, settings.fast_stride)
            sink = emit
            emit = KeyframeExpander(motion.num_frames, settings.fast_stride, self.interpolator,
                                    lambda frame: sink(frames_to_uint8(frame[None])[0]))

        def on_frames(start: int, frames) -> None:
            for frame in frames:
                emit(frame)

        def stage(name: str, done: int, total: int) -> None:
            if progress is not None:
                progress(STAGE_LABELS.get(name, name), done, total)

        self.pipeline(square, PoseImageSequence(motion, settings.size, indices), settings.size, settings.size,
                      steps=settings.steps, cfg=settings.cfg, seed=settings.seed, progress=stage, on_frames=on_frames,
                      output_type="float" if fast else "uint8")
        if fast:
            emit.finish()


def release_files(paths: dict):
    """`ReleaseFiles` from the paths `weights.manager.require("neural", ...)` returns."""
    from aniportrait_cli.lmk2video.loading import ReleaseFiles

    return ReleaseFiles(
        denoising_unet=paths["denoising_unet"], motion_module=paths["motion_module"],
        reference_unet=paths["reference_unet"], pose_guider=paths["pose_guider"],
        vae_dir=paths["vae"].parent, image_encoder_dir=paths["image_encoder"].parent,
    )
