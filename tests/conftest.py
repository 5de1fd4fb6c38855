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


@pytest.fixture(scope="session")
def kit_dir() -> Path:
    return require_shared(KIT_DIR)


@pytest.fixture(scope="session")
def media_dir() -> Path:
    return require_shared(MEDIA_DIR)
