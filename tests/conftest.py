"""Shared test fixtures: paths to ../shared (conformance kit, real media) and offline defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach a model hub: make every hub client answer from the local cache at once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("ANIPORTRAIT_SHARED_DIR", REPO_ROOT.parent / "shared"))
KIT_DIR = SHARED_DIR / "conformance"
MEDIA_DIR = SHARED_DIR / "media"


def require_shared(path: Path) -> Path:
    """Fail (never skip) when the shared material is missing: CI always has ../shared."""
    if not path.exists():
        pytest.fail(f"{path} is missing: clone the project next to its shared/ folder (see README, Tests)")
    return path


@pytest.fixture(scope="module")
def single_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core machine OpenMP threads waiting for
    each other make thousands of small steps many times slower: run such tests on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def kit_dir() -> Path:
    return require_shared(KIT_DIR)


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return require_shared(MEDIA_DIR)
