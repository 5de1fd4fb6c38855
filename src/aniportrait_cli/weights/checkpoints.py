"""Reading checkpoint files into flat state dicts, the one way every model loader does it."""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from aniportrait_cli.errors import InputError, WeightsMissing


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """{key: tensor} on the CPU from a .pt/.pth/.bin (pickled, `weights_only`) or .safetensors file.

    Zip-format torch files are memory-mapped, so their pages stay in the file until a tensor is used (no 2x
    RAM while loading GBs); the legacy non-zip format cannot be mapped and is read normally.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsMissing(f"{path}: checkpoint not found; run `aniportrait weights download`")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            loaded = load_file(path)
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except (pickle.UnpicklingError, RuntimeError, OSError, ValueError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        if "weights_only" in str(exc) or "Weights only load failed" in reason:
            # torch suggests weights_only=False, i.e. running code from the file: never pass that on.
            reason = "damaged, or holds more than tensors"
        raise InputError(f"{path}: not a readable checkpoint ({reason}); download it again") from None
    if not isinstance(loaded, Mapping) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise InputError(f"{path}: expected a state dict (name -> tensor), got {type(loaded).__name__}; is this the right file?")
    return dict(loaded)
