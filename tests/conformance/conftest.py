"""Helpers for the conformance tests: load a kit case and compare with the kit's tolerances."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import KIT_DIR, require_shared


def tolerance(case: str, name: str) -> tuple[float, float]:
    """(atol, rtol) for tensor `name` of `case`, matching wildcard entries like 'fea_*'."""
    table = json.loads(require_shared(KIT_DIR / "tolerances.json").read_text())[case]
    if name in table:
        atol, rtol = table[name]
        return float(atol), float(rtol)
    # The most specific wildcard wins ('fea_eval_*' before 'fea_*').
    matches = [(len(p), v) for p, v in table.items() if fnmatch.fnmatch(name, p) and isinstance(v, list)]
    if not matches:
        raise KeyError(f"no tolerance for {case}/{name}")
    atol, rtol = max(matches, key=lambda m: m[0])[1]
    return float(atol), float(rtol)


def assert_matches_golden(case: str, name: str, actual, expected) -> None:
    atol, rtol = tolerance(case, name)
    actual = torch.as_tensor(actual)
    expected = torch.as_tensor(expected)
    torch.testing.assert_close(actual.to(expected.dtype), expected, atol=atol, rtol=rtol, msg=lambda m: f"{case}/{name}: {m}")


def case_dir(case: str) -> Path:
    return require_shared(KIT_DIR / "cases" / case)


def manifest(name: str) -> dict[str, list[int]]:
    return json.loads(require_shared(KIT_DIR / "manifests" / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


def read_png(path: Path) -> np.ndarray:
    """A golden PNG as the raw array it was written from (PNG red = array channel 0)."""
    image = cv2.imread(str(require_shared(path)), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def assert_image_equal(actual: np.ndarray, path: Path) -> None:
    """Images are compared exactly: every pixel of `actual` equals the golden PNG at `path`."""
    expected = read_png(path)
    assert actual.dtype == np.uint8 and actual.shape == expected.shape, (path.name, actual.shape, expected.shape)
    differing = int(np.any(actual != expected, axis=-1).sum())
    assert differing == 0, f"{path.name}: {differing} pixels differ"
