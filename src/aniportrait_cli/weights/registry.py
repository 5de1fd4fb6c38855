"""The list of weight files (weights.toml) and where each one is on this machine.

Lookup order for a file: `--weights-dir` / ANIPORTRAIT_WEIGHTS_DIR (a folder laid out like the original project's
`pretrained_model/`), then the Hugging Face cache (HF_HOME / HF_HUB_CACHE), read without any network access.
Packaged files (the MediaPipe landmarker) are always found inside the installed package.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

WEIGHTS_DIR_ENV = "ANIPORTRAIT_WEIGHTS_DIR"
# Lightest first: each engine needs the files tagged with its name and those of every lighter engine.
ENGINES = ("classic", "hybrid", "neural")


@dataclass(frozen=True)
class WeightFile:
    id: str
    local_path: str
    engine: str
    required: bool
    description: str
    license: str
    size: int = 0
    size_exact: bool = False
    sha256: str = ""
    repo: str | None = None
    filename: str | None = None
    revision: str = "main"
    url: str | None = None
    packaged: bool = False
    alternatives: tuple[str, ...] = ()  # other repo filenames with the same content in another format

    def __post_init__(self) -> None:
        object.__setattr__(self, "alternatives", tuple(self.alternatives))

    @property
    def local_prefix(self) -> str:
        """The folder part of `local_path` that is not part of the repo filename ('sd-vae-ft-mse/', '')."""
        if self.filename and self.local_path.endswith(self.filename):
            return self.local_path[: len(self.local_path) - len(self.filename)]
        return ""

    def candidates(self) -> list[tuple[str, str]]:
        """(repo filename, local path) of the file and its alternatives, preferred first."""
        names = [self.filename, *self.alternatives] if self.filename else []
        return [(name, self.local_prefix + name) for name in names] or [("", self.local_path)]

    @property
    def source(self) -> str:
        if self.repo:
            return f"{self.repo}/{self.filename}@{self.revision}"
        return self.url or "packaged"


def _toml_text() -> str:
    packaged = resources.files("aniportrait_cli.weights").joinpath("weights.toml")
    if packaged.is_file():
        return packaged.read_text()
    # Editable/source checkout: the file lives at the repository root.
    return (Path(__file__).resolve().parents[3] / "weights.toml").read_text()


@lru_cache(maxsize=1)
def all_files() -> tuple[WeightFile, ...]:
    entries = tomllib.loads(_toml_text())["file"]
    return tuple(WeightFile(**entry) for entry in entries)


def get(file_id: str) -> WeightFile:
    for entry in all_files():
        if entry.id == file_id:
            return entry
    raise KeyError(file_id)


def needed_by(entry: WeightFile, engine: str) -> bool:
    """Whether `engine` (classic, hybrid, neural) loads `entry` (the file's tag is the lightest engine using it)."""
    return ENGINES.index(entry.engine) <= ENGINES.index(engine)


def files_for(engine: str, include_optional: bool = False) -> list[WeightFile]:
    return [f for f in all_files() if needed_by(f, engine) and (f.required or include_optional)]


def packaged_path(entry: WeightFile) -> Path:
    if entry.id == "face_landmarker":
        return Path(str(resources.files("aniportrait_cli.landmarks").joinpath("assets/face_landmarker.task")))
    raise KeyError(f"{entry.id} is not packaged")


def weights_dir_from_env(explicit: str | os.PathLike | None) -> Path | None:
    value = explicit or os.environ.get(WEIGHTS_DIR_ENV)
    return Path(value).expanduser() if value else None


def locate(entry: WeightFile, weights_dir: Path | None) -> Path | None:
    """Where `entry` is on disk now, or None. Never touches the network."""
    if entry.packaged:
        path = packaged_path(entry)
        return path if path.is_file() else None
    for filename, local_path in entry.candidates():
        if weights_dir is not None:
            candidate = weights_dir / local_path
            if candidate.is_file():
                return candidate
        elif entry.repo:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(entry.repo, filename, revision=entry.revision)
            if isinstance(found, str) and Path(found).is_file():
                return Path(found)
    return None


def cache_root() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)
