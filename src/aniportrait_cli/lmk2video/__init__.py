"""Lmk2Video: the diffusion renderer (reference portrait + landmark pose drawings -> video frames).

Public API (imported lazily, so `import aniportrait_cli.lmk2video` does not pull in torch/diffusers):

* `Lmk2VideoPipeline` - `from_pretrained(weights, device, dtype, low_vram)`, `from_config(...)`,
  `from_kit_case(...)`, and `__call__(ref_image, pose_images, width, height, ...)` -> (F, H, W, 3) uint8 frames.
* `ReleaseFiles` - paths of the released weight files (`ReleaseFiles.in_folder(folder)`).
* `Numerics` - opt-in deviations from the original's numerics.
* `ModelConfigs`, `tiny_configs` - network sizes (full size embedded; tiny = the kit's case 04).
* `write_tiny_release(folder, seed=0)` - a tiny random-weight release in the original file layout.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Lmk2VideoPipeline": "pipeline",
    "Numerics": "pipeline",
    "ReleaseFiles": "loading",
    "WeightsMismatch": "loading",
    "ModelConfigs": "configs",
    "tiny_configs": "configs",
    "write_tiny_release": "tiny",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
