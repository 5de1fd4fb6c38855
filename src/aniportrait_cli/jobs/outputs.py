"""Output paths: default names derived from the inputs, no silent overwrite, writable folder."""

from __future__ import annotations

import os
from pathlib import Path

from aniportrait_cli.errors import InputError
from aniportrait_cli.media.atomic import remove_stale_parts


def default_output(*inputs: Path, suffix: str = ".mp4", cwd: Path | None = None) -> Path:
    """`face__song.mp4` in the current folder: a shell loop over a folder needs no -o."""
    name = "__".join(Path(p).stem for p in inputs) + suffix
    return (cwd or Path.cwd()) / name


def check_output(path: Path, overwrite: bool, suffixes: tuple[str, ...] = (".mp4",), flag: str = "-o") -> Path:
    """Refuse, before any work, an output that would fail or silently replace a file; clear stale temporaries."""
    path = Path(path).expanduser().absolute()
    if path.suffix.lower() not in suffixes:
        raise InputError(f"{path}: {flag} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give {flag} a file name such as {path / ('out' + suffixes[0])}")
    if path.exists() and not overwrite:
        raise InputError(f"{path}: already exists; pass --overwrite to replace it or choose another name with {flag}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{folder}: output folder does not exist; create it first or choose another {flag}")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{folder}: output folder is not writable; choose another folder with {flag}")
    remove_stale_parts(folder)
    return path


def check_side_output(path: Path | None, overwrite: bool, suffix: str, flag: str = "--save-motion") -> Path | None:
    """--save-motion / --save-pose: checked like -o before any work (None when not asked for)."""
    return None if path is None else check_output(path, overwrite, (suffix,), flag)
