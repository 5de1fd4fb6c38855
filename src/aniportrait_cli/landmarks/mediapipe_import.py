"""Import MediaPipe's face landmarker without paying for its drawing helpers.

`import mediapipe` (and so any of its submodules) runs `mediapipe.tasks.python.vision/__init__`, which imports
`drawing_utils` and `drawing_styles`, and those import `matplotlib.pyplot`: about half of a classic run's start-up
(`python -X importtime`), for plotting code we never call. Those two modules are imported as placeholders that run
their real code on first use, so nothing changes for code that does use them.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

DRAWING_MODULES = ("mediapipe.tasks.python.vision.drawing_utils", "mediapipe.tasks.python.vision.drawing_styles")


class _Deferred(types.ModuleType):
    """A module whose code runs when one of its attributes is first read."""

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        real_spec = self.__dict__.pop("_real_spec")
        self.__class__ = types.ModuleType
        self.__spec__ = real_spec
        real_spec.loader.exec_module(self)
        return getattr(self, attribute)


class _DeferredLoader(importlib.abc.Loader):
    def __init__(self, real_spec: importlib.machinery.ModuleSpec):
        self.real_spec = real_spec

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        module.__class__ = _Deferred
        module.__dict__["_real_spec"] = self.real_spec


class _DeferDrawing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in DRAWING_MODULES:
            return None
        real = importlib.machinery.PathFinder.find_spec(name, path)
        if real is None or real.loader is None:
            return None
        return importlib.util.spec_from_loader(name, _DeferredLoader(real), origin=real.origin)


def import_mediapipe() -> types.ModuleType:
    """`mediapipe`, imported with its drawing helpers deferred (a no-op if it is already imported)."""
    if "mediapipe" in sys.modules:
        return sys.modules["mediapipe"]
    finder = _DeferDrawing()
    sys.meta_path.insert(0, finder)
    try:
        import mediapipe
    finally:
        sys.meta_path.remove(finder)
    return mediapipe
