"""The warp renderer (classic and hybrid engines): a `Motion` -> frames of the reference photo itself, on the CPU."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from aniportrait_cli.classic.renderer import ClassicRenderer
from aniportrait_cli.motion import Motion

StageProgress = Callable[[str, int, int], None]


class WarpRenderer:
    name = "warp"

    def render(self, square: np.ndarray, face, motion: Motion, emit: Callable[[np.ndarray], None],
               progress: StageProgress | None = None) -> None:
        """Frames of `square` (the reference crop, on which `face` was measured), one per motion frame, to `emit`."""
        renderer = ClassicRenderer.from_face(square, face)
        total = motion.num_frames
        for index, frame in enumerate(renderer.frames(motion)):
            emit(frame)
            if progress is not None:
                progress("Rendering", index + 1, total)
