"""Checks that a weight file is whole before anything loads it.

A truncated download must never be loaded: torch's zip checkpoints (.pt/.pth/.bin written by torch.save) keep
their central directory at the end, and safetensors files declare their data size in the header, so both can be
checked in milliseconds without reading the tensors. `weights verify` additionally re-hashes (sha256).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zipfile
from pathlib import Path

from aniportrait_cli.weights.registry import WeightFile

RECORD_NAME = ".aniportrait-sha256.json"


def structural_problem(path: Path) -> str | None:
    """A one-line reason if the file is visibly damaged (truncated, not what its name says), else None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    if size == 0:
        return "empty file"
    suffix = path.suffix.lower()
    if suffix in {".pt", ".pth", ".bin", ".ckpt"}:
        if zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    last = max((info.header_offset + info.compress_size for info in archive.infolist()), default=0)
                    if last > size:
                        return "truncated (zip entries extend past the end of the file)"
            except (zipfile.BadZipFile, OSError) as exc:
                return f"damaged zip checkpoint ({exc})"
            return None
        with open(path, "rb") as handle:
            head = handle.read(2)
        # Legacy (non-zip) pickles start with the pickle protocol opcode; anything else is not a checkpoint.
        return None if head[:1] == b"\x80" else "not a torch checkpoint (truncated or wrong file)"
    if suffix == ".safetensors":
        with open(path, "rb") as handle:
            raw = handle.read(8)
            if len(raw) < 8:
                return "truncated (no safetensors header)"
            header_len = struct.unpack("<Q", raw)[0]
            if header_len > size - 8:
                return "truncated (safetensors header runs past the end)"
            try:
                header = json.loads(handle.read(header_len))
            except ValueError:
                return "damaged safetensors header"
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        if 8 + header_len + max(ends, default=0) > size:
            return "truncated (tensor data missing at the end)"
        return None
    if suffix == ".json":
        try:
            json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            return "damaged JSON"
    return None


def sha256_of(path: Path, progress=None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def _cache_blob_sha256(path: Path) -> str | None:
    """Large files in the Hugging Face cache are links to blobs/<sha256>: the cache's own record of the hash."""
    target = path.resolve()
    if target != path.absolute() and target.parent.name == "blobs" and re.fullmatch(r"[0-9a-f]{64}", target.name):
        return target.name
    return None


def _record_location(path: Path) -> tuple[Path, str]:
    """(record file, key) for the hashes of downloaded files.

    Next to the file in a --weights-dir folder; for files in the Hugging Face cache, outside it (in HF_HOME), so
    `hf cache` never lists it as a repository file.
    """
    from aniportrait_cli.weights.registry import cache_root

    root = cache_root()
    try:
        relative = path.absolute().relative_to(root)
    except ValueError:
        return path.parent / RECORD_NAME, path.name
    return root.parent / RECORD_NAME, relative.as_posix()


def recorded_hash(path: Path) -> dict | None:
    """The size and sha256 recorded for this file when it was downloaded (hub metadata), if any."""
    record, key = _record_location(path)
    if record.is_file():
        try:
            found = json.loads(record.read_text()).get(key)
        except ValueError:
            found = None
        if found:
            return found
    blob_sha = _cache_blob_sha256(path)
    return {"sha256": blob_sha} if blob_sha else None


def record_hash(path: Path, sha256: str, size: int) -> None:
    if _cache_blob_sha256(path) == sha256:
        return  # the cache already names the blob by this hash
    record, key = _record_location(path)
    try:
        data = json.loads(record.read_text()) if record.is_file() else {}
    except ValueError:
        data = {}
    data[key] = {"sha256": sha256, "size": size}
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(record)


def expected_hash(entry: WeightFile, path: Path) -> str | None:
    if entry.sha256:
        return entry.sha256
    recorded = recorded_hash(path)
    return recorded["sha256"] if recorded else None


def quick_problem(entry: WeightFile, path: Path) -> str | None:
    """Cheap pre-load check: recorded/exact size, then the structure. Used before every load."""
    size = path.stat().st_size
    recorded = recorded_hash(path)
    if recorded and recorded.get("size") and size != recorded["size"]:
        return f"size {size} B, expected {recorded['size']} B (truncated or replaced)"
    if entry.size_exact and entry.size and size != entry.size:
        return f"size {size} B, expected {entry.size} B"
    return structural_problem(path)
