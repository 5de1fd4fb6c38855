"""Checks that a weight file is whole before anything loads it.

A truncated download must never be loaded: torch's zip checkpoints (.pt/.pth/.bin written by torch.save) keep
their central directory at the end, and safetensors files declare their data size in the header, so both can be
checked in milliseconds without reading the tensors. `weights verify` additionally re-hashes (sha256).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import struct
import zipfile
from pathlib import Path

from aniportrait_cli.weights.registry import WeightFile

RECORD_NAME = ".aniportrait-sha256.json"


def structural_problem(path: Path) -> str | None:
    """A one-line reason if the file is visibly damaged (truncated, not what its name says), else None.

    Never raises for a bad file: whatever is wrong with it is the answer."""
    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        suffix = path.suffix.lower()
        if suffix in {".pt", ".pth", ".bin", ".ckpt"}:
            return _zip_checkpoint_problem(path, size) if zipfile.is_zipfile(path) else legacy_checkpoint_problem(path, size)
        if suffix == ".safetensors":
            return _safetensors_problem(path, size)
        if suffix == ".json":
            json.loads(path.read_text())
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    except (ValueError, UnicodeDecodeError):
        return "damaged JSON"
    return None


def _zip_checkpoint_problem(path: Path, size: int) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            last = max((info.header_offset + info.compress_size for info in archive.infolist()), default=0)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return f"damaged zip checkpoint ({exc})"
    if last > size:
        return "truncated (zip entries extend past the end of the file)"
    return None


def _safetensors_problem(path: Path, size: int) -> str | None:
    with open(path, "rb") as handle:
        raw = handle.read(8)
        if len(raw) < 8:
            return "truncated (no safetensors header)"
        header_len = struct.unpack("<Q", raw)[0]
        if header_len > size - 8:
            return "truncated (safetensors header runs past the end)"
        try:
            header = json.loads(handle.read(header_len))
        except (ValueError, UnicodeDecodeError):
            return "damaged safetensors header (not JSON)"
    if not isinstance(header, dict):
        return "damaged safetensors header (not a JSON object)"
    ends = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            return f"damaged safetensors header (tensor {name!r} has no valid data_offsets)"
        ends.append(offsets[1])
    if 8 + header_len + max(ends, default=0) > size:
        return "truncated (tensor data missing at the end)"
    return None


# The legacy (non-zip) torch.save format: pickles of a magic number, the protocol version, system info and
# the object (its tensors' storages as persistent ids), then a pickled list of storage keys, then for each
# storage in that order an 8-byte element count and the raw data.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_ELEMENT_SIZES = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
    "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexDoubleStorage": 16, "ComplexFloatStorage": 8,
}


class _Placeholder:
    """Stands in for every class a checkpoint pickle names: nothing is imported or executed."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _ScanningUnpickler(pickle.Unpickler):
    def __init__(self, handle):
        super().__init__(handle)
        self.storages: dict[str, int] = {}  # key -> element size (0 = unknown type)

    def find_class(self, module, name):
        return type(name, (_Placeholder,), {})

    def persistent_load(self, pid):
        if isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage":
            kind = getattr(pid[1], "__name__", "")
            self.storages[str(pid[2])] = _ELEMENT_SIZES.get(kind, 0)
        return _Placeholder()


def legacy_checkpoint_problem(path: Path, size: int | None = None) -> str | None:
    """Check a non-zip torch checkpoint's pickles and that every storage's data is in the file, without torch
    and without executing anything from it (classes named by the pickle are replaced by placeholders)."""
    size = path.stat().st_size if size is None else size
    with open(path, "rb") as handle:
        try:
            if pickle.load(handle) != _LEGACY_MAGIC:
                return "not a torch checkpoint (wrong magic number)"
            pickle.load(handle)  # protocol version
            pickle.load(handle)  # system info
            scanner = _ScanningUnpickler(handle)
            scanner.load()
            keys = pickle.load(handle)
        except Exception:  # any unpickling failure of any type: the file is not a readable checkpoint
            return "not a torch checkpoint (damaged or truncated)"
        if not isinstance(keys, list):
            return "not a torch checkpoint (no storage list)"
        for key in keys:
            raw = handle.read(8)
            if len(raw) < 8:
                return "truncated (tensor data missing at the end)"
            element_size = scanner.storages.get(str(key), 0)
            if element_size == 0:
                return None  # a storage type this check does not know: leave the rest to torch
            end = handle.tell() + struct.unpack("<q", raw)[0] * element_size
            if end > size:
                return "truncated (tensor data missing at the end)"
            handle.seek(end)
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
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read ({exc.strerror or exc})"
    recorded = recorded_hash(path)
    if recorded and recorded.get("size") and size != recorded["size"]:
        return f"size {size} B, expected {recorded['size']} B (truncated or replaced)"
    if entry.size_exact and entry.size and size != entry.size:
        return f"size {size} B, expected {entry.size} B"
    return structural_problem(path)
