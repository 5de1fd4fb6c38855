"""`weights download` against a mocked hub (tests never touch the network)."""

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest

from aniportrait_cli.weights import hub, integrity, manager, registry


def fake_files(entries):
    """Deterministic content per weight file (a few KB each)."""
    return {e.id: hashlib.sha256(e.id.encode()).digest() * (64 + 8 * i) for i, e in enumerate(entries)}


@pytest.fixture
def mocked_hub(monkeypatch):
    entries = [e for e in registry.files_for("neural") if e.repo]
    content = fake_files(entries)
    by_name = {(e.repo, e.filename): content[e.id] for e in entries}
    calls = []

    def get_paths_info(self, repo, paths, revision=None):
        data = by_name[(repo, paths[0])]
        return [SimpleNamespace(size=len(data), lfs=SimpleNamespace(sha256=hashlib.sha256(data).hexdigest()))]

    def snapshot_download(repo, revision=None, allow_patterns=(), local_dir=None, max_workers=8, **kwargs):
        calls.append((repo, tuple(allow_patterns), local_dir, max_workers))
        for name in allow_patterns:
            target = Path(local_dir) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(by_name[(repo, name)])
        return local_dir

    monkeypatch.setattr(huggingface_hub.HfApi, "get_paths_info", get_paths_info)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(hub, "reachable", lambda timeout_s=3.0: (True, ""))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return entries, content, calls


def test_one_snapshot_download_per_repo_with_one_byte_bar(mocked_hub, tmp_path):
    entries, content, calls = mocked_hub
    started, progress = [], []
    paths = manager.download(entries, tmp_path, on_start=started.append, on_bytes=progress.append)
    repos = {e.repo for e in entries}
    assert sorted(c[0] for c in calls) == sorted(repos)  # one call per repo, each with its files as patterns
    assert all(c[3] > 1 for c in calls)  # parallel within a repo
    total = sum(len(content[e.id]) for e in entries)
    assert started == [total] and progress[-1] == total  # one bar, in bytes
    assert [p.read_bytes() for p in paths] == [content[e.id] for e in entries]
    # The original pretrained_model/ layout, so --weights-dir reads it back.
    assert all(registry.locate(e, tmp_path) == tmp_path / e.local_path for e in entries)
    assert all(integrity.recorded_hash(p)["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest() for p in paths)


def test_download_command_prints_the_paths_and_one_json_line(mocked_hub, tmp_path, capsys):
    from aniportrait_cli.cli.weights_cmd import EngineName, download

    entries, content, calls = mocked_hub
    download(engine=EngineName.neural, include_optional=False, weights_dir=tmp_path, json_output=True, quiet=False,
             debug=False)
    out = capsys.readouterr()
    [line] = [json.loads(x) for x in out.out.splitlines()]
    assert line["kind"] == "download" and line["downloaded"] == len(entries) and line["status"] == "ok"
    assert "Downloading" in out.err  # the one overall bar (plain lines: stderr is not a terminal here)


def test_offline_advice_names_a_weights_dir_download(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "reachable", lambda timeout_s=3.0: (False, "cannot reach https://huggingface.co (ConnectError)"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(Exception, match=r"weights download --engine neural --weights-dir DIR.*--weights-dir DIR"):
        manager.download(registry.files_for("neural"), None)


def test_reachability_goes_through_the_hub_clients_session(monkeypatch):
    """The hub client's own session (so HTTPS_PROXY / NO_PROXY apply), one request with a short timeout."""
    seen = []

    class Session:
        def head(self, url, timeout):
            seen.append((url, timeout))
            raise ConnectionError("proxy refused")

    monkeypatch.setattr(huggingface_hub.utils, "get_session", lambda: Session())
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example")
    ok, reason = hub.reachable(timeout_s=2.0)
    assert not ok and "mirror.example" in reason and "proxy refused" in reason
    assert seen == [("https://mirror.example/api/models?limit=1", 2.0)]


def test_hashes_of_cached_files_stay_outside_the_cache(monkeypatch, tmp_path):
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setattr(registry, "cache_root", lambda: cache)
    data = b"weights" * 1000
    sha = hashlib.sha256(data).hexdigest()
    repo = cache / "models--org--name"
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots" / "abc").mkdir(parents=True)
    (repo / "blobs" / sha).write_bytes(data)
    linked = repo / "snapshots" / "abc" / "model.pth"
    linked.symlink_to(repo / "blobs" / sha)
    integrity.record_hash(linked, sha, len(data))
    assert integrity.recorded_hash(linked)["sha256"] == sha  # the blob's own name
    copied = repo / "snapshots" / "abc" / "copy.pth"  # a cache without symlinks (e.g. Windows)
    copied.write_bytes(data)
    integrity.record_hash(copied, sha, len(data))
    assert integrity.recorded_hash(copied) == {"sha256": sha, "size": len(data)}
    assert not list(cache.rglob(integrity.RECORD_NAME))  # nothing written inside the cache
    assert (tmp_path / "hf" / integrity.RECORD_NAME).is_file()


def test_download_for_the_hybrid_engine_fetches_only_the_two_audio_checkpoints(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from aniportrait_cli.cli.app import app

    fetched = []

    def download(entries, weights_dir, **kwargs):
        fetched.extend(e.id for e in entries)
        return [weights_dir / e.local_path for e in entries]

    monkeypatch.setattr(manager, "download", download)
    result = CliRunner().invoke(app, ["weights", "download", "--engine", "hybrid", "--weights-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(fetched) == ["audio2mesh", "audio2pose"]
