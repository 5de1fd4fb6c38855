"""Output paths: default names derived from the inputs, no silent overwrite, writable folder."""

from __future__ import annotations

import os
from pathlib import Path

from aniportrait_cli.errors import InputError


def default_output(*inputs: Path, suffix: str = ".mp4", cwd: Path | None = None) -> Path:
    """`face__song.mp4` in the current folder: a shell loop over a folder needs no -o."""
    name = "__".join(Path(p).stem for p in inputs) + suffix
    return (cwd or Path.cwd()) / name


def wants_folder(output: str | Path) -> bool:
    """`-o out/` (a trailing slash, existing or not) or an existing folder: outputs go inside it."""
    return str(output).endswith(("/", os.sep)) or Path(output).expanduser().is_dir()


def resolve_output(output: str | Path | None, *inputs: Path, suffix: str = ".mp4") -> Path:
    """-o as given (a file, or a folder for the default name), else the default name in the current folder."""
    if output is None:
        return default_output(*inputs, suffix=suffix)
    if wants_folder(output):
        return default_output(*inputs, suffix=suffix, cwd=Path(output).expanduser())
    return Path(output)


def check_output(path: Path, overwrite: bool, suffixes: tuple[str, ...] = (".mp4",)) -> Path:
    """An absolute output path that may be written; its missing parent folders are created (like a batch's)."""
    path = Path(path).expanduser().absolute()
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{path}: output must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name such as {path / 'out.mp4'}")
    if path.exists() and not overwrite:
        raise InputError(f"{path}: already exists; pass --overwrite to replace it or choose another name with -o")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot create the output folder ({exc.strerror}); choose another with -o") from None
    if not os.access(folder, os.W_OK):
        raise InputError(f"{folder}: output folder is not writable; choose another folder with -o")
    return path
