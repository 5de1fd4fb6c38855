"""Fixtures for the lmk2video unit tests: tiny networks, one CPU thread (tiny tensors gain nothing from threads,
and a busy CI machine makes extra threads much slower)."""

from __future__ import annotations

import numpy as np
import pytest

from aniportrait_cli.lmk2video.pipeline import Lmk2VideoPipeline
from aniportrait_cli.lmk2video.tiny import random_modules


@pytest.fixture(scope="module", autouse=True)
def _single_thread(single_torch_thread):
    yield


@pytest.fixture(scope="module")
def tiny_pipe() -> Lmk2VideoPipeline:
    return Lmk2VideoPipeline(**random_modules(seed=3), device="cpu")


@pytest.fixture(scope="module")
def inputs():
    """A 70x80 reference image and 7 random 64x64 pose drawings."""
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (80, 70, 3), dtype=np.uint8)
    poses = rng.integers(0, 256, (7, 64, 64, 3), dtype=np.uint8)
    return ref, poses


# Small settings that still exercise 3 wrapping windows: [0..3], [3..6], [6, 0, 1, 2].
CALL = dict(width=64, height=64, steps=2, context_frames=4, context_overlap=1)
