"""What scripts and people rely on: stdout vs stderr, one --json schema, progress in logs, help, install extras."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from PIL import Image

from aniportrait_cli.media import VideoReader
from tests.cli.run import aniportrait, assert_clean_error, items, json_lines

FAST = ("--size", "96", "--fps", "10", "--engine", "classic")
COMMANDS = ("audio2vid", "vid2vid", "edit-pose", "check-sync", "doctor", "ui", "weights list", "weights download",
            "weights verify", "weights path")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("conventions")
    Image.fromarray(np.ascontiguousarray(data.astronaut()[:, 64:448])).save(folder / "tall.png")
    rate = 16000
    t = np.arange(int(1.2 * rate)) / rate
    envelope = (np.sin(2 * np.pi * 2.0 * t) > 0.2).astype(np.float32)
    soundfile.write(folder / "voice.wav", (0.3 * envelope * np.sin(2 * np.pi * 140 * t)).astype(np.float32), rate)
    (folder / "notes.txt").write_text("not a portrait")
    return folder


def test_json_lines_of_singles_errors_and_batches_share_one_schema(inputs, tmp_path):
    ok = aniportrait("audio2vid", "--ref", inputs / "tall.png", "--audio", inputs / "voice.wav", "--json", *FAST,
                     cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    [line] = json_lines(ok)  # validated against result.schema.json
    assert line["status"] == "ok" and line["ref"] == str(inputs / "tall.png") and line["source"] == str(inputs / "voice.wav")
    assert line["frames"] == 12 and line["engine"] == "classic" and line["schema"] == 1

    failed = aniportrait("audio2vid", "--ref", inputs / "missing.png", "--audio", inputs / "voice.wav", "--json", *FAST,
                         cwd=tmp_path)
    [line] = json_lines(failed)
    assert failed.returncode == line["exit_code"] == 2
    assert line["status"] == "error" and line["ref"] == str(inputs / "missing.png") and "missing.png" in line["error"]

    usage = aniportrait("audio2vid", "--audio", inputs / "voice.wav", "--json", *FAST, cwd=tmp_path)
    [line] = json_lines(usage)
    assert line["kind"] == "item" and line["ref"] is None and "--ref" in line["error"]

    batch = aniportrait("audio2vid", "--ref", inputs / "tall.png", "--ref", inputs / "missing.png", "--audio",
                        inputs / "voice.wav", "-o", tmp_path / "out", "--json", *FAST)
    rows = json_lines(batch)
    assert [r["status"] for r in rows[:2]] == ["ok", "error"] and rows[0]["frames"] == 12
    assert rows[-1]["kind"] == "summary" and (rows[-1]["ok"], rows[-1]["failed"]) == (1, 1)

    sync = aniportrait("check-sync", tmp_path / "tall__voice.mp4", "--json")  # a measurement: its exit code is its verdict
    [line] = json_lines(sync)
    assert line["kind"] == "sync" and line["source"] == str(tmp_path / "tall__voice.mp4")

    for command in (("weights", "list"), ("weights", "path"), ("weights", "verify", "--engine", "classic"), ("doctor",)):
        result = aniportrait(*command, "--json", "--weights-dir", tmp_path)
        assert result.returncode == 0, result.stderr
        assert {row["command"] for row in json_lines(result)} == {" ".join(command[:2]) if command[0] == "weights" else "doctor"}


def test_progress_lines_in_a_redirected_stderr(inputs, tmp_path):
    log = tmp_path / "render.log"
    with open(log, "w") as stderr:
        result = subprocess.run([sys.executable, "-m", "aniportrait_cli", "audio2vid", "--ref", str(inputs / "tall.png"),
                                 "--audio", str(inputs / "voice.wav"), *FAST, "--fps", "25"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert result.returncode == 0
    lines = log.read_text().splitlines()
    progress = [line for line in lines if re.fullmatch(r"Rendering: \d+/30 \(\d+%\), \d+ s elapsed(, eta \d+ s)?", line)]
    assert progress[0].startswith("Rendering: 0/30 (0%)") and progress[-1].startswith("Rendering: 30/30 (100%)")
    assert 5 <= len(progress) <= 12  # about every 10%, not every frame
    assert not any("\r" in line or "\x1b[" in line for line in lines)  # no live-display control codes in a log


def test_output_conventions(inputs, tmp_path):
    # -o DIR/ for one item: a folder (created), the default name inside.
    result = aniportrait("audio2vid", "--ref", inputs / "tall.png", "--audio", inputs / "voice.wav", "-o", "new/dir/",
                         *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "dir" / "tall__voice.mp4").is_file()
    assert "wrote" in result.stderr and result.stdout == ""  # notes and the closing line go to stderr
    # A glob is filtered by suffix like a folder: notes.txt is not a portrait.
    globbed = aniportrait("audio2vid", "--ref", str(inputs / "*"), "--audio", inputs / "voice.wav", "-o", "g/",
                          "--json", *FAST, cwd=tmp_path)
    assert globbed.returncode == 0, globbed.stderr
    assert [row["ref"] for row in items(globbed)] == [str(inputs / "tall.png")]
    # A spreadsheet's "CSV UTF-8" starts with a byte-order mark.
    manifest = tmp_path / "jobs.csv"
    manifest.write_bytes(f"ref,audio\n{inputs / 'tall.png'},{inputs / 'voice.wav'}\n".encode("utf-8-sig"))
    result = aniportrait("audio2vid", "--manifest", manifest, "-o", tmp_path / "m", *FAST)
    assert result.returncode == 0, result.stderr


def test_odd_width_is_edge_replicated_and_tagged_bt709_with_48k_audio(tmp_path):
    from aniportrait_cli.media.ffmpeg import ffmpeg_exe
    from aniportrait_cli.media.video import VideoWriter

    audio = tmp_path / "8k.wav"
    soundfile.write(audio, (0.2 * np.sin(np.arange(8000) / 8000 * 2 * np.pi * 300)).astype(np.float32), 8000)
    frame = np.full((64, 53, 3), 200, np.uint8)
    frame[:, -1] = (0, 255, 0)  # a green last column
    frame[:16, :16] = (255, 0, 0)  # saturated colours show a matrix mismatch (BT.601 vs BT.709) at once
    frame[:16, 16:32] = (200, 120, 60)
    with VideoWriter(tmp_path / "odd.mp4", 10, 53, 64, audio_path=audio, num_frames=10) as writer:
        for _ in range(10):
            writer.write(frame)
    reader = VideoReader(tmp_path / "odd.mp4")
    assert (reader.info.width, reader.info.height) == (54, 64)
    decoded = next(reader.frames()).astype(int)
    assert decoded[:, -1, 1].mean() > 200 and decoded[:, -1, 0].mean() < 60  # green repeated, not a black edge
    assert np.abs(decoded[20:, :40] - 200).max() <= 3  # grey stays grey through the BT.709 round trip
    assert np.abs(decoded[4:12, 4:12] - (255, 0, 0)).max() <= 4
    assert np.abs(decoded[4:12, 20:28] - (200, 120, 60)).max() <= 4
    header = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(tmp_path / "odd.mp4")], capture_output=True,
                            text=True).stderr
    assert "yuv420p(tv, bt709" in header and "48000 Hz" in header


def test_vid2vid_frame_total_comes_from_the_video_stream(tmp_path):
    from aniportrait_cli.media.ffmpeg import probe, video_stream_frames
    from tests.media_factory import write_test_video

    # 2 s of video, 3 s of audio: the container says 3 s.
    clip = write_test_video(tmp_path / "clip.mp4", seconds=2.0, fps=10,
                            extra_input=["-f", "lavfi", "-t", "3", "-i", "anullsrc=r=16000"], with_audio=False)
    assert probe(clip).duration_s > 2.9 and video_stream_frames(clip) == 20
    reader = VideoReader(clip)
    assert reader.info.approx_num_frames == reader.num_frames == 20


def test_help_is_printed_once_without_python_types_or_truncation():
    bare = aniportrait(env={"COLUMNS": "80"})
    assert bare.returncode == 0 and bare.stdout.count("Usage:") == 1
    group = aniportrait("weights", env={"COLUMNS": "80"})
    assert group.returncode == 0 and group.stdout.count("Usage:") == 1
    for command in COMMANDS:
        result = aniportrait(*command.split(), "--help", env={"COLUMNS": "80"})
        assert result.returncode == 0, (command, result.stderr)
        text = result.stdout
        assert "<bool>" not in text and "list[" not in text and "<path>" not in text, command
        assert "…" not in text, (command, [line for line in text.splitlines() if "…" in line])
        assert "Examples" in text, command
        examples = text[text.index("Examples"):].splitlines()[1:]
        assert all(line.strip().startswith("aniportrait") for line in examples if line.strip()), (command, examples)
    audio = aniportrait("audio2vid", "--help", env={"COLUMNS": "80"}).stdout
    panels = [name for name in ("Inputs", "Motion", "Output", "Rendering", "Neural engine", "Batch")]
    assert [audio.index(f"─ {name} ") for name in panels] == sorted(audio.index(f"─ {name} ") for name in panels)
    assert "IMAGE|DIR|GLOB" in audio and "Required (unless --manifest)" in audio
    assert "pingpong|wrap" in aniportrait("edit-pose", "--help").stdout
    assert "neural|hybrid|classic|all" in aniportrait("weights", "list", "--help").stdout
    completion = aniportrait("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert "complete" in completion.stdout


def test_doctor_says_what_auto_would_pick(tmp_path):
    result = aniportrait("doctor", "--weights-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    for key in ("aniportrait_cli", "torch", "cuda", "mediapipe", "ffmpeg", "weights", "auto_engine"):
        assert re.search(rf"^{key}\s", result.stdout, re.M), key
    assert "classic on cpu" in result.stdout and "11.8 GB" in result.stdout


BLOCK_NEURAL = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "diffusers", "transformers", "safetensors"}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import importlib.util
importlib.util.find_spec = lambda name, *a, _f=importlib.util.find_spec: (
    None if name.split(".")[0] in {"torch", "diffusers", "transformers", "safetensors"} else _f(name, *a))
sys.argv = ["aniportrait", *sys.argv[1:]]
runpy.run_module("aniportrait_cli", run_name="__main__")
"""


def without_neural_libraries(*args, cwd):
    """The CLI as the default install runs it: torch, diffusers, transformers and safetensors cannot be imported."""
    return subprocess.run([sys.executable, "-c", BLOCK_NEURAL, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"})


def test_classic_path_never_imports_the_neural_libraries(inputs, tmp_path):
    result = without_neural_libraries("audio2vid", "--ref", inputs / "tall.png", "--audio", inputs / "voice.wav",
                                      "--size", "96", "--fps", "10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tall__voice.mp4").is_file()
    notes = [line for line in result.stderr.splitlines() if "using the classic engine" in line]
    assert len(notes) == 1 and "aniportrait-cli[neural]" in notes[0] and "ANIPORTRAIT_ENGINE=classic" in notes[0]
    neural = without_neural_libraries("audio2vid", "--ref", inputs / "tall.png", "--audio", inputs / "voice.wav",
                                      "--engine", "neural", "-o", "n.mp4", cwd=tmp_path)
    assert_clean_error(neural, 2, "--engine neural needs torch", "pipx inject aniportrait-cli")
    doctor = without_neural_libraries("doctor", cwd=tmp_path)
    assert doctor.returncode == 0 and "not installed" in doctor.stdout


def test_engine_env_silences_the_auto_note(inputs, tmp_path):
    result = aniportrait("audio2vid", "--ref", inputs / "tall.png", "--audio", inputs / "voice.wav", "--size", "96",
                         "--fps", "10", cwd=tmp_path, env={"ANIPORTRAIT_ENGINE": "classic"})
    assert result.returncode == 0, result.stderr
    assert "using the classic engine" not in result.stderr


def test_mediapipe_starts_without_matplotlib():
    """Half of a classic run's start-up was matplotlib, pulled in by MediaPipe's drawing helpers we never call."""
    code = """
import sys
from aniportrait_cli.landmarks.mediapipe_import import import_mediapipe
import_mediapipe()
from mediapipe.tasks.python import vision
assert vision.FaceLandmarker is not None
assert "matplotlib" not in sys.modules, "matplotlib imported at start-up"
from mediapipe.tasks.python.vision import drawing_utils
assert callable(drawing_utils.draw_landmarks) and vision.drawing_styles.get_default_face_mesh_contours_style()
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_plain_progress_prints_every_tenth_or_thirty_seconds(monkeypatch):
    import io

    from aniportrait_cli.cli import report

    now = [1000.0]
    monkeypatch.setattr(report.time, "monotonic", lambda: now[0])
    log = io.StringIO()
    progress = report.PlainProgress(log)
    task = progress.add_task("Diffusion", total=1000)
    for done in range(1, 41):  # 4% in 40 minutes: no 10% step, but a line every 30 s
        now[0] += 60
        progress.update(task, completed=done)
    lines = log.getvalue().splitlines()
    assert lines[0] == "Diffusion: 0/1000 (0%), 0 s elapsed" and len(lines) == 41
    assert lines[-1] == "Diffusion: 40/1000 (4%), 40:00 elapsed, eta 16:00:00"
    progress.update(task, completed=1000)
    progress.update(task, completed=1000)  # the end is said once
    assert log.getvalue().splitlines()[-1] == "Diffusion: 1000/1000 (100%), 40:00 elapsed" and len(log.getvalue().splitlines()) == 42
