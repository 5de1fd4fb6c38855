"""What the weights commands do: status, require (for the engines), download and verify."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aniportrait_cli.errors import InputError, RuntimeFailure, WeightsMissing
from aniportrait_cli.weights import hub, integrity
from aniportrait_cli.weights.registry import WeightFile, files_for, locate


@dataclass(frozen=True)
class FileStatus:
    entry: WeightFile
    path: Path | None
    problem: str | None = None

    @property
    def state(self) -> str:
        if self.path is None:
            return "missing"
        if self.problem:
            return "damaged"
        return "packaged" if self.entry.packaged else "ok"

    @property
    def usable(self) -> bool:
        return self.path is not None and self.problem is None


def status(entries: Iterable[WeightFile], weights_dir: Path | None) -> list[FileStatus]:
    result = []
    for entry in entries:
        path = locate(entry, weights_dir)
        problem = integrity.quick_problem(entry, path) if path is not None else None
        result.append(FileStatus(entry, path, problem))
    return result


def download_command(engine: str, weights_dir: Path | None, include_optional: bool = False) -> str:
    command = f"aniportrait weights download --engine {engine}"
    if include_optional:
        command += " --include-optional"
    if weights_dir is not None:
        command += f" --weights-dir {shlex.quote(str(weights_dir))}"
    return command


def require(engine: str, weights_dir: Path | None, ids: Iterable[str] | None = None) -> dict[str, Path]:
    """Paths of the files `engine` needs (or just `ids`); WeightsMissing naming every missing or damaged one."""
    wanted = set(ids) if ids is not None else None
    entries = [e for e in files_for(engine, include_optional=wanted is not None) if wanted is None or e.id in wanted]
    states = status(entries, weights_dir)
    bad = [s for s in states if not s.usable]
    if bad:
        where = f"in {weights_dir}" if weights_dir is not None else "in the Hugging Face cache"
        names = ", ".join(
            f"{s.entry.local_path}" + (f" ({s.problem})" if s.problem else "") for s in bad
        )
        raise WeightsMissing(
            f"{engine} engine weights missing or damaged {where}: {names}; "
            f"run `{download_command(engine, weights_dir, any(not s.entry.required for s in bad))}`"
        )
    return {s.entry.id: s.path for s in states}


def download(
    entries: list[WeightFile],
    weights_dir: Path | None,
    engine: str = "neural",
    on_start: Callable[[int], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    max_workers: int = 8,
) -> list[Path]:
    """Fetch `entries` with huggingface_hub.snapshot_download, one call per repo, all repos at once (parallel
    and resumable), then check size and sha256 against the hub metadata.

    `on_start(total_bytes)` once, then `on_bytes(bytes_on_disk)` about twice a second (measured on disk, so it
    works with every hub version and counts resumed bytes). Raises quickly, before any download, when the hub
    cannot be reached.
    """
    if hub.offline_requested():
        raise InputError("HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it and run the command again")
    todo = [e for e in entries if not e.packaged and e.repo]
    ok, reason = hub.reachable()
    if not ok:
        ids = " ".join(e.id for e in todo)
        raise RuntimeFailure(
            f"no network: {reason}. On a machine with internet run `{download_command(engine, Path('DIR'))}`, "
            f"copy DIR here and pass it with --weights-dir DIR (files: {ids})"
        )
    from concurrent.futures import ThreadPoolExecutor

    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # one overall bar, ours
    metadata = _hub_metadata(HfApi(), todo)
    if on_start:
        on_start(sum(size for size, _ in metadata.values()))

    groups: dict[tuple, list[WeightFile]] = {}
    for entry in todo:
        groups.setdefault((entry.repo, entry.revision, entry.local_prefix), []).append(entry)

    def fetch(key: tuple) -> None:
        repo, revision, prefix = key
        snapshot_download(repo, revision=revision, allow_patterns=[e.filename for e in groups[key]],
                          local_dir=str(weights_dir / prefix) if weights_dir is not None else None,
                          max_workers=max_workers)

    with ThreadPoolExecutor(max_workers=len(groups) or 1) as pool:
        futures = [pool.submit(fetch, key) for key in groups]
        while not all(f.done() for f in futures):
            if on_bytes:
                on_bytes(_bytes_on_disk(todo, weights_dir))
            time.sleep(0.5)
        for future in futures:
            future.result()
    if on_bytes:
        on_bytes(_bytes_on_disk(todo, weights_dir))
    return [_checked(entry, weights_dir, *metadata[entry.id]) for entry in todo]


def _hub_metadata(api, entries: list[WeightFile]) -> dict[str, tuple[int, str]]:
    """id -> (size, sha256) from the hub (sha256 empty for small non-LFS files)."""
    metadata = {}
    for entry in entries:
        info = next(iter(api.get_paths_info(entry.repo, [entry.filename], revision=entry.revision)), None)
        if info is None:
            raise RuntimeFailure(f"{entry.source}: not found on the hub; the file may have moved (update weights.toml)")
        sha = entry.sha256 or (info.lfs.sha256 if getattr(info, "lfs", None) else "")
        metadata[entry.id] = (int(info.size), sha)
    return metadata


def _bytes_on_disk(entries: list[WeightFile], weights_dir: Path | None) -> int:
    """Bytes downloaded so far: finished files plus the hub client's partial `.incomplete` files."""
    from aniportrait_cli.weights.registry import cache_root

    done = sum(path.stat().st_size for e in entries if (path := locate(e, weights_dir)) is not None)
    if weights_dir is not None:
        partial_dirs = [weights_dir / e.local_prefix / ".cache" / "huggingface" for e in entries]
    else:
        partial_dirs = [cache_root() / f"models--{e.repo.replace('/', '--')}" / "blobs" for e in entries]
    partial = 0
    for folder in set(partial_dirs):
        if folder.is_dir():
            partial += sum(p.stat().st_size for p in folder.rglob("*.incomplete") if p.is_file())
    return done + partial


def _checked(entry: WeightFile, weights_dir: Path | None, size: int, sha: str) -> Path:
    path = locate(entry, weights_dir)
    if path is None:
        raise RuntimeFailure(f"{entry.source}: the download finished but the file is not there; run the command again")
    actual_size = path.stat().st_size
    if actual_size != size:
        raise RuntimeFailure(f"{path}: downloaded {actual_size} B, the hub says {size} B; run the command again")
    if sha:
        if integrity.sha256_of(path) != sha:
            path.unlink(missing_ok=True)
            raise RuntimeFailure(f"{path}: sha256 mismatch after download (deleted); run the command again")
        integrity.record_hash(path, sha, size)
    return path


@dataclass(frozen=True)
class VerifyResult:
    entry: WeightFile
    path: Path | None
    verdict: str  # ok | missing | corrupt | unverified
    detail: str = ""


def verify(entries: list[WeightFile], weights_dir: Path | None, progress: Callable[[int], None] | None = None) -> list[VerifyResult]:
    results = []
    for entry in entries:
        path = locate(entry, weights_dir)
        if path is None:
            results.append(VerifyResult(entry, None, "missing"))
            continue
        problem = integrity.quick_problem(entry, path)
        if problem:
            results.append(VerifyResult(entry, path, "corrupt", problem))
            if progress:
                progress(path.stat().st_size)
            continue
        actual = integrity.sha256_of(path, progress)
        expected = integrity.expected_hash(entry, path)
        if expected is None:
            results.append(VerifyResult(entry, path, "unverified", f"sha256 {actual} (no published hash to compare)"))
        elif actual != expected:
            results.append(VerifyResult(entry, path, "corrupt", f"sha256 {actual}, expected {expected}"))
        else:
            results.append(VerifyResult(entry, path, "ok", f"sha256 {actual}"))
    return results
