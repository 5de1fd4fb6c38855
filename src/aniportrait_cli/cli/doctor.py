"""`aniportrait doctor`: the facts a bug report needs (like `hf env` or `yt-dlp -v`)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _torch_facts() -> dict[str, str]:
    from aniportrait_cli.jobs.devices import NEURAL_INSTALL_HINT, missing_neural_libraries

    if "torch" in missing_neural_libraries():
        return {"torch": f"not installed (neural engine: {NEURAL_INSTALL_HINT})", "cuda": "-", "mps": "-"}
    import torch

    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        cuda = f"{torch.version.cuda} ({names})"
    else:
        cuda = f"not available (torch built with CUDA {torch.version.cuda})" if torch.version.cuda else "not available (CPU build)"
    mps = getattr(torch.backends, "mps", None)
    return {"torch": torch.__version__, "cuda": cuda, "mps": "available" if mps is not None and mps.is_available() else "not available"}


def _ffmpeg() -> str:
    import subprocess

    from aniportrait_cli.media.ffmpeg import ffmpeg_exe

    try:
        exe = ffmpeg_exe()
        first = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True).stdout.splitlines()
    except Exception as exc:  # a report must still print when ffmpeg is broken
        return f"unusable ({exc})"
    return f"{first[0] if first else '?'} ({exe})"


def _weights(weights_dir: Path | None) -> tuple[str, str]:
    from aniportrait_cli.weights import manager
    from aniportrait_cli.weights.registry import cache_root, files_for

    counts = []
    for engine in ("hybrid", "neural"):
        states = manager.status(files_for(engine), weights_dir)
        counts.append(f"{engine}: {sum(s.usable for s in states)} of {len(states)} required files usable")
    return str(weights_dir or cache_root()), "; ".join(counts)


def _auto_engine(weights_dir: Path | None) -> str:
    from aniportrait_cli.jobs.engines import choose_engine
    from aniportrait_cli.jobs.options import RenderOptions

    choice = choose_engine(RenderOptions(weights_dir=weights_dir))
    return f"{choice.engine.value} on {choice.device}" + (f" ({choice.reason})" if choice.reason else "")


def collect(weights_dir: Path | None) -> dict[str, str]:
    from aniportrait_cli import __version__
    from aniportrait_cli.weights.registry import weights_dir_from_env

    folder = weights_dir_from_env(weights_dir)
    where, weights = _weights(folder)
    return {
        "aniportrait_cli": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        **_torch_facts(),
        "diffusers": _version("diffusers"),
        "transformers": _version("transformers"),
        "mediapipe": _version("mediapipe"),
        "numpy": _version("numpy"),
        "ffmpeg": _ffmpeg(),
        "weights_dir": where,
        "weights": weights,
        "auto_engine": _auto_engine(folder),
    }
