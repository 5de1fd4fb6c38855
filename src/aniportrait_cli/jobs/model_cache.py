"""Models loaded once per process: a batch's items (and a web server's requests) share them."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class ModelCache:
    """Loaded models keyed by what they were built from (files, device, dtype ...)."""

    def __init__(self) -> None:
        self._models: dict[Hashable, object] = {}

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        if key not in self._models:
            self._models[key] = build()
        return self._models[key]  # type: ignore[return-value]

    def clear(self) -> None:
        self._models.clear()
