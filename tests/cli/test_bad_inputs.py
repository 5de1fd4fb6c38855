"""The bad-input corpus of issue 12, one test (or table row) per case: each must give one `error:` line (or the
right note), the right exit code, no traceback, no partial file, and never a silently wrong output.

Real subprocess runs of the CLI where the CLI is involved; all media are tiny and made here.
"""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from aniportrait_cli.classic.audio_motion import ArticulationStyle
from aniportrait_cli.media import VideoReader, load_audio
from aniportrait_cli.media.ffmpeg import ffmpeg_exe
from aniportrait_cli.motion import Motion
from tests.cli.run import aniportrait, assert_clean_error
from tests.media_factory import write_test_video

TINY = ("--size", "128", "--fps", "10", "--engine", "classic")


def voice(seconds: float, rate: int = 16000) -> np.ndarray:
    """Syllable-like bursts of a voiced tone with pauses in between."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 2.0 * t) > 0.2).astype(np.float32)
    return (0.3 * envelope * np.sign(np.sin(2 * np.pi * 140 * t)) * (1 + 0.3 * np.sin(2 * np.pi * 700 * t))).astype(np.float32)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    from skimage import data

    folder = tmp_path_factory.mktemp("bad_inputs")
    Image.fromarray(data.astronaut()).save(folder / "face.png")
    soundfile.write(folder / "voice.wav", voice(1.2), 16000)
    soundfile.write(folder / "long.wav", voice(20.0), 16000)
    return folder


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- 1. an audio stream that starts late -----------------------------------------------------------------


def test_01_late_audio_stream_drives_and_muxes_the_offset_audio(inputs, tmp_path):
    late = tmp_path / "late.mp4"
    soundfile.write(tmp_path / "speech.wav", voice(1.0, 44100), 44100)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=10:d=2",
                    "-itsoffset", "1.0", "-i", str(tmp_path / "speech.wav"), "-map", "0:v", "-map", "1:a",
                    "-c:v", "libx264", "-c:a", "aac", str(late)], check=True)
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", late, "-o", "out.mp4",
                         "--save-motion", "m.npz", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    mouth = Motion.load(tmp_path / "m.npz").extra["mouth_open"]
    assert len(mouth) in (20, 21)  # 2.0 s at 10 fps (+ AAC padding): the leading second is part of the video
    # At rest (nearly closed, still) until the speech starts at 1.0 s.
    style = ArticulationStyle()
    assert mouth[:9].max() < style.rest_gap / style.max_mouth_gap + 0.01 and np.ptp(mouth[:9]) < 0.01
    assert mouth[11:].max() > 0.3
    sound = load_audio(tmp_path / "out.mp4").samples
    assert np.abs(sound[: int(0.9 * 16000)]).max() < 0.01 and np.abs(sound[int(1.1 * 16000):]).max() > 0.1


# --- 2. stereo with one channel phase-inverted (and 7. --seed -1) -----------------------------------------


def test_02_07_phase_inverted_stereo_and_random_seed(inputs, tmp_path):
    mono = voice(1.0)
    soundfile.write(tmp_path / "inverted.wav", np.stack([mono, -mono], axis=1), 16000)
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", tmp_path / "inverted.wav",
                         "--seed", "-1", "--save-motion", "m.npz", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "phase-inverted" in result.stderr and "louder channel" in result.stderr
    assert Motion.load(tmp_path / "m.npz").extra["mouth_open"].max() > 0.3  # it talks
    seed_line = next(line for line in result.stderr.splitlines() if line.startswith("seed "))
    seed = int(seed_line.split()[1])
    assert 0 <= seed < 2**32 and f"--seed {seed}" in seed_line


# --- 3. a still image as --video --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["vid2vid", "check-sync"])
def test_03_still_image_is_not_a_video(inputs, tmp_path, command):
    one_frame = tmp_path / "one.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(inputs / "face.png"), "-frames:v", "1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(one_frame)], check=True)
    for video, fragment in ((inputs / "face.png", "still image"), (one_frame, "single frame")):
        if command == "vid2vid":
            result = aniportrait("vid2vid", "--ref", inputs / "face.png", "--video", video, *TINY, cwd=tmp_path)
        else:
            result = aniportrait("check-sync", video, "--audio", inputs / "voice.wav", cwd=tmp_path)
        assert_clean_error(result, 2, str(video), fragment)
    assert files_in(tmp_path) == ["one.mp4"]


# --- 4. 16-bit grayscale and 5. RGBA portraits ----------------------------------------------------------------


def test_04_sixteen_bit_grayscale_is_scaled_not_clipped(inputs, tmp_path):
    from aniportrait_cli.landmarks.extractor import detect_reference_face
    from aniportrait_cli.media import load_image

    gray = np.asarray(Image.open(inputs / "face.png").convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray).save(tmp_path / "gray16.png")
    assert Image.open(tmp_path / "gray16.png").mode.startswith("I;16")
    image = load_image(tmp_path / "gray16.png")
    assert np.abs(image[..., 0].astype(int) - gray // 257).max() <= 1
    detect_reference_face(image, "gray16.png")  # raises "no face found" on an all-white image


def test_05_transparent_pixels_are_composited_onto_grey(inputs, tmp_path):
    from aniportrait_cli.media import load_image

    rgba = np.dstack([np.asarray(Image.open(inputs / "face.png")), np.full((512, 512), 255, np.uint8)])
    rgba[:100, :, :3] = (255, 0, 0)  # hidden red
    rgba[:100, :, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    notes = []
    image = load_image(tmp_path / "alpha.png", on_warning=notes.append)
    assert (image[:100] == 128).all() and len(notes) == 1 and "transparent" in notes[0]
    opaque = rgba.copy()
    opaque[..., 3] = 255
    Image.fromarray(opaque).save(tmp_path / "opaque.png")
    assert load_image(tmp_path / "opaque.png", on_warning=notes.append)[0, 0].tolist() == [255, 0, 0]
    assert len(notes) == 1  # no note when nothing is transparent


# --- 6. manifest rows: the command line's rules, exit 2 --------------------------------------------------------


@pytest.mark.parametrize(
    "column, value, fragment",
    [("fps", "0", "--fps 0: must be between 1 and 120"), ("fps", "-5", "--fps -5: must be between 1 and 120"),
     ("fps", "nan", "--fps nan: not a finite number"), ("fps", "1000", "--fps 1000: must be between 1 and 120"),
     ("size", "0", "--size 0: must be between 64 and 2048"), ("steps", "abc", "not a valid integer"),
     ("engine", "turbo", "engine='turbo' is not valid; choose auto, neural")],
)
def test_06_manifest_rows_are_checked_like_the_command_line(inputs, tmp_path, column, value, fragment):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"ref,audio,{column}\nface.png,voice.wav,30\nface.png,voice.wav,{value}\n".replace(",30\n", ",\n"))
    (tmp_path / "face.png").write_bytes((inputs / "face.png").read_bytes())
    (tmp_path / "voice.wav").write_bytes((inputs / "voice.wav").read_bytes())
    result = aniportrait("audio2vid", "--manifest", manifest, "-o", tmp_path / "out", cwd=tmp_path)
    assert_clean_error(result, 2, f"{manifest}:3", fragment)
    assert not (tmp_path / "out").exists()


def test_06_command_line_gives_the_same_range_message(inputs, tmp_path):
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--fps", "1000")
    assert_clean_error(result, 2, "--fps 1000: must be between 1 and 120")


# --- 8. non-finite floats; 9. side outputs into missing folders; 14. --save-motion onto a file ---------------


@pytest.mark.parametrize(
    "extra, code, fragments",
    [
        (["--fps", "nan"], 2, ["--fps nan", "not a finite number"]),
        (["--cfg", "inf"], 2, ["--cfg inf", "not a finite number"]),
        (["--seed", str(2**40)], 2, ["--seed", "at most 4294967295"]),
        (["--save-motion", "existing.npz/m.npz"], 2, ["existing.npz", "cannot create the output folder", "--save-motion"]),
        (["--save-motion", "m.txt"], 2, ["--save-motion must end in .npz"]),
        (["--save-motion", "existing.npz"], 2, ["existing.npz", "already exists", "--overwrite"]),
    ],
    ids=["fps-nan", "cfg-inf", "seed-too-big", "save-motion-folder-is-a-file", "save-motion-suffix",
         "save-motion-exists"],
)
def test_08_09_14_options_are_checked_before_any_work(inputs, tmp_path, extra, code, fragments):
    (tmp_path / "existing.npz").write_bytes(b"keep me")
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", *extra, cwd=tmp_path)
    assert_clean_error(result, code, *fragments)
    assert files_in(tmp_path) == ["existing.npz"] and (tmp_path / "existing.npz").read_bytes() == b"keep me"


@pytest.mark.parametrize(
    "extra, fragments",
    [(["--pose-scale", "nan"], ["--pose-scale nan", "not a finite number"]),
     (["--pose-offset", "nan,0,0"], ["--pose-offset", "three numbers"]),
     (["--save-pose", "file.txt/p.npy"], ["file.txt", "cannot create the output folder", "--save-pose"])],
    ids=["pose-scale-nan", "pose-offset-nan", "save-pose-folder-is-a-file"],
)
def test_08_09_edit_pose_options(inputs, tmp_path, extra, fragments):
    (tmp_path / "file.txt").write_text("a file, not a folder")
    result = aniportrait("edit-pose", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", *extra, cwd=tmp_path)
    assert_clean_error(result, 2, *fragments)
    assert files_in(tmp_path) == ["file.txt"]


def test_14_save_motion_overwrite_replaces_through_the_atomic_helper(inputs, tmp_path):
    (tmp_path / "m.npz").write_bytes(b"old")
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--save-motion",
                         "m.npz", "--overwrite", "-o", "out.mp4", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Motion.load(tmp_path / "m.npz").num_frames == 12
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o666 & ~umask  # a normal file, not mkstemp's 0600
    assert files_in(tmp_path) == ["m.npz", "out.mp4"]


# --- 10. malformed safetensors header; 16./17. weights verify verdicts and exit codes -------------------------


def malformed_safetensors(path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1]}}).encode()  # valid length, no data_offsets
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(4))


def test_10_malformed_safetensors_is_reported_and_never_matters_to_classic(inputs, tmp_path):
    weights = tmp_path / "weights"
    malformed_safetensors(weights / "sd-vae-ft-mse" / "diffusion_pytorch_model.safetensors")
    listing = aniportrait("weights", "list", "--json", "--weights-dir", weights)
    assert listing.returncode == 0 and "Traceback" not in listing.stderr, listing.stderr
    vae = next(row for row in map(json.loads, listing.stdout.splitlines()) if row["id"] == "vae")
    assert vae["state"] == "damaged" and "data_offsets" in vae["problem"]
    verify = aniportrait("weights", "verify", "--weights-dir", weights)
    assert verify.returncode == 1 and "Traceback" not in verify.stderr and "corrupt" in verify.stdout + verify.stderr
    run = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--size", "128",
                      "--fps", "10", "-o", "out.mp4", cwd=tmp_path, env={"ANIPORTRAIT_WEIGHTS_DIR": str(weights)})
    assert run.returncode == 0 and "using the classic engine" in run.stderr, run.stderr


@pytest.mark.parametrize("damage", ["truncated-legacy", "garbage-0x80"])
def test_16_legacy_checkpoint_damage_is_corrupt(tmp_path, damage):
    path = tmp_path / "audio2mesh.pt"
    torch.save({"w": torch.zeros(1000), "b": torch.ones(10)}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    path.write_bytes(data[:-200] if damage == "truncated-legacy" else b"\x80" + bytes(range(256)) * 40)
    result = aniportrait("weights", "verify", "--engine", "neural", "--json", "--weights-dir", tmp_path)
    rows = {row["id"]: row for row in map(json.loads, result.stdout.splitlines()) if "id" in row}
    assert rows["audio2mesh"]["verdict"] == "corrupt", rows["audio2mesh"]
    assert result.returncode == 1 and "weights_only" not in result.stdout + result.stderr


def test_16_whole_legacy_checkpoint_is_not_corrupt(tmp_path):
    from aniportrait_cli.weights.integrity import structural_problem

    path = tmp_path / "audio2mesh.pt"
    torch.save(torch.nn.Linear(4, 3).state_dict(), path, _use_new_zipfile_serialization=False)
    assert structural_problem(path) is None


def test_17_verify_exits_1_when_required_files_are_missing(tmp_path):
    result = aniportrait("weights", "verify", "--weights-dir", tmp_path / "nowhere")
    assert_clean_error(result, 1, "required files missing", "weights download")
    assert "note:" in result.stderr and "does not exist" in result.stderr


# --- 11. decompression bombs --------------------------------------------------------------------------------------


def test_11_huge_image_is_refused_before_decoding(inputs, tmp_path):
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    # A header-only PNG just over 200 MP: refused before any pixel is decoded (there are none).
    header = struct.pack(">IIBBBBB", 20001, 10000, 8, 0, 0, 0, 0)
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    result = aniportrait("audio2vid", "--ref", tmp_path / "huge.png", "--audio", inputs / "voice.wav", cwd=tmp_path)
    assert_clean_error(result, 2, "huge.png", "20001x10000", "200 MP limit")
    assert "Warning" not in result.stderr


# --- 12. unexpected exceptions, --debug ---------------------------------------------------------------------------


def run_with_patched_job(exc: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real entry point with the audio2vid job replaced by one that raises `exc`."""
    code = ("import errno, sys\n"
            "import aniportrait_cli.jobs.audio2vid as job\n"
            "def run(**kwargs):\n"
            f"    raise {exc}\n"
            "job.run = run\n"
            "from aniportrait_cli.cli.app import main\n"
            f"sys.argv = ['aniportrait', 'audio2vid', *{list(args)!r}]\n"
            "main()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"})


def test_12_unexpected_exception_is_one_line(inputs, tmp_path):
    args = ["--ref", str(inputs / "face.png"), "--audio", str(inputs / "voice.wav")]
    result = run_with_patched_job("KeyError('boom')", *args, cwd=tmp_path)
    assert_clean_error(result, 1, "internal error", "KeyError", "rerun with --debug and report it")
    debug = run_with_patched_job("KeyError('boom')", *args, "--debug", cwd=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "error: internal error" in debug.stderr
    full = run_with_patched_job("OSError(errno.ENOSPC, 'No space left on device', 'out.mp4')", *args, cwd=tmp_path)
    assert_clean_error(full, 1, "disk full", "out.mp4")


def test_debug_keeps_the_exit_code_of_bad_input(inputs, tmp_path):
    result = aniportrait("audio2vid", "--ref", tmp_path / "missing.png", "--audio", inputs / "voice.wav", "--debug")
    assert result.returncode == 2 and "Traceback" in result.stderr and "error: " in result.stderr


# --- 13. SIGTERM / SIGHUP, stale temporary files; 15. Ctrl-C in a batch -----------------------------------------


def start(args: list, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "aniportrait_cli", *map(str, args)], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "200"})


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("signum, code, words", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                  (signal.SIGHUP, 129, "hung up (SIGHUP)")])
def test_13_signals_clean_up_like_ctrl_c(inputs, tmp_path, signum, code, words):
    out = tmp_path / "out"
    out.mkdir()
    process = start(["audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "long.wav", "-o", out / "v.mp4",
                     "--size", "128", "--fps", "30", "--engine", "classic"], tmp_path)
    wait_for(lambda: any(p.name.endswith(".part.mp4") for p in out.iterdir()))  # rendering has begun
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and f"error: {words}; no output was written" in stderr
    assert files_in(out) == []


def test_13_an_ignored_sighup_stays_ignored(inputs, tmp_path):
    """`nohup aniportrait ...` must survive its terminal closing: a signal ignored by the parent is left alone."""
    out = tmp_path / "v.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "aniportrait_cli", "audio2vid", "--ref", str(inputs / "face.png"), "--audio",
         str(inputs / "long.wav"), "-o", str(out), *TINY], cwd=tmp_path, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    wait_for(lambda: any(p.name.endswith(".part.mp4") for p in tmp_path.iterdir()))
    process.send_signal(signal.SIGHUP)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and out.is_file(), stderr


def test_13_stale_part_files_are_removed_and_never_count_as_done(inputs, tmp_path):
    from aniportrait_cli.media.atomic import temporary_sibling

    out = tmp_path / "out"
    out.mkdir()
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()  # a process id that is gone, like a run killed with SIGKILL
    stale = temporary_sibling(out / "face__voice.mp4").name.replace(f"-{os.getpid()}.", f"-{killed.pid}.")
    write_test_video(out / stale, seconds=0.5)
    (out / ".face__voice.otherhost-1.part.mp4").write_bytes(b"another machine's run")  # never touched
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--json",
                         "--skip-existing", "-o", out / "face__voice.mp4", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "ok"  # rendered, not "skipped"
    assert files_in(out) == [".face__voice.otherhost-1.part.mp4", "face__voice.mp4"]
    # A folder given as input never picks up hidden temporary files.
    from aniportrait_cli.jobs.batch import expand

    assert [p.name for p in expand([out], {".mp4"}, "video")] == ["face__voice.mp4"]


def test_15_ctrl_c_in_a_batch_keeps_and_reports_finished_items(inputs, tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "a_short.wav").write_bytes((inputs / "voice.wav").read_bytes())
    (audio / "b_long.wav").write_bytes((inputs / "long.wav").read_bytes())
    out = tmp_path / "out"
    process = start(["audio2vid", "--ref", inputs / "face.png", "--audio", audio, "-o", out, "--size", "128",
                     "--fps", "30", "--engine", "classic"], tmp_path)
    wait_for(lambda: out.is_dir() and any(p.name.endswith(".part.mp4") and "b_long" in p.name for p in out.iterdir()))
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "1 done, 0 skipped, 0 failed, 1 not run (interrupted)" in stderr
    assert "error: interrupted (Ctrl-C); 1 finished output kept; resume with --skip-existing" in stderr
    assert files_in(out) == ["face__a_short.mp4"]


# --- smaller: disk full, manifest line numbers, huge portraits, long audio ----------------------------------------


def test_disk_full_is_said_plainly(tmp_path):
    from aniportrait_cli.errors import RuntimeFailure
    from aniportrait_cli.media.ffmpeg import run_ffmpeg

    with pytest.raises(RuntimeFailure, match="disk full"):
        run_ffmpeg(["-f", "lavfi", "-i", "sine=d=1", "-f", "wav", "-y", "/dev/full"], "writing a test file")


def test_manifest_errors_name_the_right_line(inputs, tmp_path):
    jsonl = tmp_path / "jobs.jsonl"
    jsonl.write_text('{"ref": "face.png", "audio": "voice.wav"}\n\n{"ref": "face.png", "audio": "voice.wav", "fps": 0}\n')
    assert_clean_error(aniportrait("audio2vid", "--manifest", jsonl), 2, f"{jsonl}:3", "--fps")
    csv_file = tmp_path / "jobs.csv"
    csv_file.write_text("ref,audio\nface.png,voice.wav,extra\n")
    assert_clean_error(aniportrait("audio2vid", "--manifest", csv_file), 2, f"{csv_file}:2", "more field(s)")


def test_huge_portrait_is_capped_by_max_output_size(inputs, tmp_path):
    face = np.asarray(Image.open(inputs / "face.png"))
    canvas = np.full((900, 700, 3), 90, np.uint8)
    canvas[200:712, 94:606] = face
    Image.fromarray(canvas).save(tmp_path / "big.png")
    result = aniportrait("audio2vid", "--ref", tmp_path / "big.png", "--audio", inputs / "voice.wav", "-o", "out.mp4",
                         "--max-output-size", "450", *TINY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--max-output-size 450" in result.stderr
    info = VideoReader(tmp_path / "out.mp4").info
    assert max(info.width, info.height) <= 451 and info.height == 450  # (odd widths are padded by one pixel)


def test_long_audio_speech_features_are_measured_in_blocks(monkeypatch):
    """Frame-local analysis block by block (flat memory) gives exactly the features of one whole-clip pass."""
    from aniportrait_cli.classic import speech

    samples = voice(12.0)
    whole = speech.speech_features(samples, 30.0)
    monkeypatch.setattr(speech, "BLOCK_FRAMES", 50)  # 360 frames in 8 blocks, the last one partial
    blocks = speech.speech_features(samples, 30.0)
    for name in ("level", "speech", "openness", "brightness", "hiss", "onset", "pitch"):
        np.testing.assert_array_equal(getattr(blocks, name), getattr(whole, name), err_msg=name)
    assert blocks.silence_db == whole.silence_db


def test_long_audio_meshes_are_made_in_chunks(inputs):
    from aniportrait_cli.classic.audio_motion import articulation_from_audio, motion_from_audio
    from aniportrait_cli.classic.face_rig import FaceRig
    from aniportrait_cli.landmarks.extractor import detect_reference_face
    from aniportrait_cli.motion import CHUNK_FRAMES, ChunkedMeshes

    face = detect_reference_face(np.asarray(Image.open(inputs / "face.png")), "face.png")
    samples = voice(40.0)
    motion = motion_from_audio(samples, face.mesh3d, face.transform, face.landmarks, seed=1)
    assert isinstance(motion.mesh, ChunkedMeshes) and motion.num_frames == 1200 > CHUNK_FRAMES
    articulation = articulation_from_audio(samples, 30.0, 1)
    whole = FaceRig(face.mesh3d).deform(articulation.mouth_gap, articulation.lip_round, articulation.blink)
    np.testing.assert_array_equal(np.asarray(motion.mesh), whole)  # same meshes as made in one go
    resampled = motion.resampled(25.0)
    assert isinstance(resampled.mesh, ChunkedMeshes)
    expected = Motion(whole, motion.pose, 30.0, motion.ref_trans_mat, motion.ref_landmarks).resampled(25.0)
    np.testing.assert_allclose(np.asarray(resampled.mesh), expected.mesh, atol=1e-6)
    assert math.isclose(resampled.duration_s, 40.0, abs_tol=0.05)


def test_square_portrait_keeps_its_resolution_for_the_renderers(inputs):
    """--max-output-size only limits pasted-back (non-square) outputs; a square photo reaches the renderers whole."""
    from aniportrait_cli.jobs.common import load_reference

    class Quiet:
        def note_once(self, message):
            raise AssertionError(f"unexpected note: {message}")

    face = Image.open(inputs / "face.png")
    big = np.asarray(face.resize((4 * face.width, 4 * face.height), Image.BICUBIC))
    reference = load_reference(inputs / "face.png", 64, Quiet(), image=big, max_side=450)
    assert reference.prepared.image.shape[:2] == big.shape[:2]
    assert not reference.prepared.cropped
