"""Options shared by the rendering commands, as the CLI parsed them (no parsing here)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Engine(str, Enum):
    """The user-facing presets: which motion source and which renderer (see `jobs.engines.PRESETS`)."""

    auto = "auto"
    neural = "neural"
    hybrid = "hybrid"
    classic = "classic"


class Device(str, Enum):
    auto = "auto"
    cuda = "cuda"
    mps = "mps"
    cpu = "cpu"


class DType(str, Enum):
    fp16 = "fp16"
    bf16 = "bf16"
    fp32 = "fp32"


@dataclass
class RenderOptions:
    engine: Engine = Engine.auto
    device: Device = Device.auto
    dtype: DType = DType.fp16
    weights_dir: Path | None = None
    seed: int = 42
    fps: float = 30.0
    size: int = 512
    steps: int = 25
    cfg: float = 3.5
    overwrite: bool = False
    paste_back: bool | None = None  # None = on for non-square references
    max_output_size: int = 1920  # longest side of the output; bigger portraits are scaled down
    grid: bool = False
    fast: bool = False
    fast_stride: int = 3
    compat: bool = False
    low_vram: bool = False
    report: bool = False
    pose_style: int | None = None  # None = derived from the seed
    pose_mode: str = "driver"  # vid2vid head pose: "driver" (the original's) or "relative"
    save_motion: Path | None = None

    @property
    def resolved_pose_style(self) -> int:
        return self.pose_style if self.pose_style is not None else self.seed % 100
