"""Seeded random weights, and tiny checkpoint files in the released format for end-to-end tests.

`write_tiny_checkpoints` writes what a real download looks like to the loader (pickled state dicts, original key
names, legacy `weight_g` / `weight_v`), only small: the loader infers the tiny sizes from the tensor shapes.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from aniportrait_cli.audio2lmk.configs import MESH_CONFIG, POSE_CONFIG, TINY_MESH_CONFIG, TINY_POSE_CONFIG
from aniportrait_cli.audio2lmk.loading import to_release_names
from aniportrait_cli.audio2lmk.models import Audio2MeshModel, Audio2PoseModel

MESH_FILE = "audio2mesh.pt"
POSE_FILE = "audio2pose.pt"


@torch.no_grad()
def randomize_(module: nn.Module, seed: int) -> nn.Module:
    """The conformance kit's recipe: matrices ~N(0, 1/fan_in), norm weights ~1+0.1N, other vectors ~0.1N.

    Buffers (the PPE sinusoid table) keep their analytic values.
    """
    generator = torch.Generator().manual_seed(seed)
    for name, param in module.named_parameters():
        noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
        if param.dim() >= 2:
            fan_in = param[0].numel()
            value = noise / fan_in**0.5
        elif "norm" in name and name.endswith("weight"):
            value = 1.0 + 0.1 * noise
        else:
            value = 0.1 * noise
        param.copy_(value.to(param.dtype))
    return module


def write_tiny_checkpoints(folder: str | Path, seed: int = 0, full_size: bool = False) -> tuple[Path, Path]:
    """Write `audio2mesh.pt` and `audio2pose.pt` with tiny (or, for benchmarks, full-size) seeded random weights;
    returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    mesh_config, pose_config = (MESH_CONFIG, POSE_CONFIG) if full_size else (TINY_MESH_CONFIG, TINY_POSE_CONFIG)
    for cls, config, name, offset in (
        (Audio2MeshModel, mesh_config, MESH_FILE, 0),
        (Audio2PoseModel, pose_config, POSE_FILE, 1),
    ):
        model = randomize_(cls(**config), seed * 2 + offset)
        path = folder / name
        torch.save(to_release_names(model.state_dict()), path)
        paths.append(path)
    return paths[0], paths[1]
