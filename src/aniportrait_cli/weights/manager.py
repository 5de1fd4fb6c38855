"""What the weights commands do: status, require (for the engines), download and verify."""

from __future__ import annotations

import shlex
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
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[WeightFile, int], None] | None = None,
) -> list[Path]:
    """Fetch `entries` through huggingface_hub (resumable), then check size and sha256 against the hub metadata.

    Raises quickly, before any hub call, when the endpoint cannot be reached.
    """
    if hub.offline_requested():
        raise InputError("HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it and run the command again")
    ok, reason = hub.reachable()
    if not ok:
        ids = " ".join(e.id for e in entries)
        raise RuntimeFailure(
            f"no network: {reason}. On a machine with internet run `aniportrait weights download` "
            f"(files: {ids}) and copy the folder here, then pass it with --weights-dir"
        )
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi()
    todo = [e for e in entries if not e.packaged and e.repo]
    metadata = {}
    for entry in todo:
        info = next(iter(api.get_paths_info(entry.repo, [entry.filename], revision=entry.revision)), None)
        if info is None:
            raise RuntimeFailure(f"{entry.source}: not found on the hub; the file may have moved (update weights.toml)")
        sha = entry.sha256 or (info.lfs.sha256 if getattr(info, "lfs", None) else "")
        metadata[entry.id] = (int(info.size), sha)
    if on_start:
        on_start(sum(size for size, _ in metadata.values()))

    paths = []
    for entry in todo:
        size, sha = metadata[entry.id]
        kwargs = {"repo_id": entry.repo, "filename": entry.filename, "revision": entry.revision}
        if weights_dir is not None:
            # Keep the original `pretrained_model/` layout: local_path minus the repo-relative filename.
            kwargs["local_dir"] = str(weights_dir / entry.local_prefix)
        path = Path(hf_hub_download(**kwargs))
        actual_size = path.stat().st_size
        if actual_size != size:
            raise RuntimeFailure(f"{path}: downloaded {actual_size} B, the hub says {size} B; run the command again")
        if sha:
            actual = integrity.sha256_of(path)
            if actual != sha:
                path.unlink(missing_ok=True)
                raise RuntimeFailure(f"{path}: sha256 mismatch after download (deleted); run the command again")
            integrity.record_hash(path, sha, size)
        paths.append(path)
        if on_file:
            on_file(entry, size)
    return paths


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
