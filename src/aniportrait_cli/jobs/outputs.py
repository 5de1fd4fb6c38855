"""Output paths: default names derived from the inputs, no silent overwrite, writable folder."""

from __future__ import annotations

import os
from pathlib import Path

from aniportrait_cli.errors import InputError


def default_output(*inputs: Path, suffix: str = ".mp4", cwd: Path | None = None) -> Path:
    """`face__song.mp4` in the current folder: a shell loop over a folder needs no -o."""
    name = "__".join(Path(p).stem for p in inputs) + suffix
    return (cwd or Path.cwd()) / name


def check_output(path: Path, overwrite: bool, suffixes: tuple[str, ...] = (".mp4",)) -> Path:
    path = Path(path).expanduser().absolute()
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{path}: output must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name such as {path / 'out.mp4'}")
    if path.exists() and not overwrite:
        raise InputError(f"{path}: already exists; pass --overwrite to replace it or choose another name with -o")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{folder}: output folder does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{folder}: output folder is not writable; choose another folder with -o")
    return path
