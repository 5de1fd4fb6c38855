"""Folders of portraits x audio clips in one invocation with the weightless engine."""

import numpy as np
import pytest
import soundfile
from PIL import Image

from tests.cli.run import aniportrait, assert_clean_error, items, json_lines

COMMON = ("--size", "96", "--fps", "10", "--engine", "classic")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from skimage import data

    root = tmp_path_factory.mktemp("batch")
    faces, voices = root / "faces", root / "voices"
    faces.mkdir()
    voices.mkdir()
    astronaut = data.astronaut()
    variants = [astronaut, astronaut[:, ::-1], astronaut[16:496, 16:496], (astronaut * 0.8).astype(np.uint8),
                astronaut[:448, 32:480]]
    for i, image in enumerate(variants):
        Image.fromarray(np.ascontiguousarray(image)).save(faces / f"p{i}.png")
    rate = 16000
    t = np.arange(rate) / rate
    for i in range(3):
        envelope = (np.sin(2 * np.pi * (1.5 + i) * t) > 0).astype(np.float32)
        soundfile.write(voices / f"v{i}.wav", (0.3 * envelope * np.sin(2 * np.pi * (120 + 40 * i) * t)).astype(np.float32), rate)
    return root


def test_cross_batch_with_a_corrupt_item_then_resume(folders, tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    for p in sorted((folders / "faces").iterdir()):
        (faces / p.name).write_bytes(p.read_bytes())
    (faces / "p2.png").write_bytes(b"this is not a png")  # a corrupt item in the middle
    args = ("audio2vid", "--ref", faces, "--audio", folders / "voices", "--cross", "-o", tmp_path / "out", "--json", *COMMON)
    result = aniportrait(*args)
    rows = items(result)
    assert len(rows) == 15
    failed = [r for r in rows if r["status"] == "error"]
    assert len(failed) == 3 and all("p2.png" in r["ref"] and "not a readable image" in r["error"] for r in failed)
    done = [r for r in rows if r["status"] == "ok"]
    assert len(done) == 12 and all(r["frames"] == 10 and r["engine"] == "classic" and r["source"] for r in done)
    summary = json_lines(result)[-1]
    assert summary["kind"] == "summary" and (summary["ok"], summary["failed"], summary["exit_code"]) == (12, 3, 2)
    assert result.returncode == 2  # the worst item's code: bad input
    assert "Traceback" not in result.stderr and "12 done, 0 skipped, 3 failed" in result.stderr
    outputs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(outputs) == 12 and not any(name.startswith(".") for name in outputs)  # nothing half-written

    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    rerun = aniportrait(*args, "--skip-existing")
    statuses = [r["status"] for r in items(rerun)]
    assert statuses.count("skipped") == 12 and statuses.count("ok") == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()} == before


def test_shards_split_the_job_list_exactly(folders, tmp_path):
    produced = []
    for k in (1, 2):
        result = aniportrait("audio2vid", "--ref", folders / "faces", "--audio", folders / "voices", "--cross",
                             "-o", tmp_path / "out", "--shard", f"{k}/2", "--json", "-q", *COMMON)
        assert result.returncode == 0, result.stderr
        produced.append({r["output"] for r in items(result)})
    assert produced[0].isdisjoint(produced[1])
    assert len(produced[0] | produced[1]) == 15
    assert {p.name for p in (tmp_path / "out").iterdir()} == {f"p{i}__v{j}.mp4" for i in range(5) for j in range(3)}


def test_zip_pairing_and_manifest(folders, tmp_path):
    faces = sorted((folders / "faces").iterdir())[:3]
    args = []
    for face in faces:
        args += ["--ref", face]
    result = aniportrait("audio2vid", *args, "--audio", folders / "voices", "-o", tmp_path / "zip", "--json", *COMMON)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "zip").iterdir()) == ["p0__v0.mp4", "p1__v1.mp4", "p2__v2.mp4"]

    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"ref,audio,output,seed\n{faces[0]},{folders / 'voices' / 'v0.wav'},m/first.mp4,3\n"
                        f"{faces[1]},{folders / 'voices' / 'v2.wav'},,\n")
    result = aniportrait("audio2vid", "--manifest", manifest, "-o", tmp_path / "mout", "--json", *COMMON)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m" / "first.mp4").is_file() and (tmp_path / "mout" / "p1__v2.mp4").is_file()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--shard", "3/2"], "--shard"),
        (["-o", "one.mp4"], "output folder"),
        (["--save-motion", "m.npz"], "single item"),
    ],
)
def test_batch_usage_errors(folders, tmp_path, extra, fragment):
    result = aniportrait("audio2vid", "--ref", folders / "faces", "--audio", folders / "voices", "--cross", *extra,
                         *COMMON, cwd=tmp_path)
    assert_clean_error(result, 2, fragment)


def test_unpairable_counts(folders, tmp_path):
    result = aniportrait("audio2vid", "--ref", folders / "faces", "--audio", folders / "voices", *COMMON, cwd=tmp_path)
    assert_clean_error(result, 2, "5 portraits and 3 audio files", "--cross")


def test_edit_pose_batch_previews(folders, tmp_path):
    faces = sorted((folders / "faces").iterdir())[:2]
    result = aniportrait("edit-pose", "--ref", faces[0], "--ref", faces[1], "--audio", folders / "voices" / "v0.wav",
                         "--preview", "--pose-from", "still", "-o", tmp_path / "prev", "--json", *COMMON)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "prev").iterdir()) == ["p0__v0__preview.mp4", "p1__v0__preview.mp4"]
