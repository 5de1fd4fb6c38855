"""Frame folding: the original's (b, c, f, h, w) video layout <-> the (b*f, c, h, w) batch the 2D layers run on."""

from __future__ import annotations

import torch


def fold_frames(x: torch.Tensor) -> torch.Tensor:
    """(b, c, f, h, w) -> contiguous (b*f, c, h, w), batch-major (all frames of batch 0 first)."""
    b, c, f, h, w = x.shape
    return x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w).contiguous()


def unfold_frames(x: torch.Tensor, batch: int) -> torch.Tensor:
    """(b*f, c, h, w) -> (b, c, f, h, w) view (not contiguous)."""
    n, c, h, w = x.shape
    return x.reshape(batch, n // batch, c, h, w).permute(0, 2, 1, 3, 4)
