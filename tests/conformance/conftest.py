"""Helpers for the conformance tests: load a kit case and compare with the kit's tolerances."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

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
