import json
import time

import torch

from tests.cli.run import aniportrait, assert_clean_error


def test_help_lists_the_commands():
    result = aniportrait("--help")
    assert result.returncode == 0
    for command in ("audio2vid", "vid2vid", "edit-pose", "weights", "check-sync"):
        assert command in result.stdout


def test_version():
    result = aniportrait("--version")
    assert result.returncode == 0 and result.stdout.startswith("aniportrait-cli ")


def test_weights_list_shows_sizes_and_locations(tmp_path):
    result = aniportrait("weights", "list", "--weights-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    # The listing is the command's result: stdout, one plain line per file in a pipe (`| grep missing` works).
    lines = result.stdout.splitlines()
    assert any(line.startswith("denoising_unet") and "3.4 GB" in line and "missing" in line for line in lines)
    assert "missing: sd-vae-ft-mse/diffusion_pytorch_model.safetensors" in result.stdout
    assert any(line.startswith("face_landmarker") and "packaged" in line for line in lines)
    assert "denoising_unet" not in result.stderr and "classic: ready" in result.stderr
    assert "hybrid: 2 files missing; get them with `aniportrait weights download --engine hybrid" in result.stderr
    assert "neural: 10 files missing" in result.stderr


def test_weights_list_json_lines(tmp_path):
    result = aniportrait("weights", "list", "--json", "--weights-dir", tmp_path)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    states = {row["id"]: row["state"] for row in rows}
    assert states["face_landmarker"] == "packaged"
    assert states["audio2mesh"] == "missing"
    assert all(row["size"] >= 0 for row in rows)


def test_weights_download_without_network_fails_fast(tmp_path):
    started = time.monotonic()
    # hub.invalid never resolves, even on a machine with network.
    result = aniportrait("weights", "download", "--weights-dir", tmp_path, env={"HF_ENDPOINT": "https://hub.invalid"},
                         unset=("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    elapsed = time.monotonic() - started
    assert_clean_error(result, 1, "no network", "aniportrait weights download", "denoising_unet")
    assert elapsed < 10, elapsed  # interpreter start included; the probe itself takes milliseconds


def test_weights_download_refuses_when_offline_mode_is_set(tmp_path):
    result = aniportrait("weights", "download", "--weights-dir", tmp_path, env={"HF_HUB_OFFLINE": "1"})
    assert_clean_error(result, 2, "HF_HUB_OFFLINE")


def test_weights_verify_reports_truncated_files(tmp_path):
    good = {"w": torch.zeros(1000)}
    torch.save(good, tmp_path / "pose_guider.pth")
    torch.save(good, tmp_path / "audio2mesh.pt")
    data = (tmp_path / "audio2mesh.pt").read_bytes()
    (tmp_path / "audio2mesh.pt").write_bytes(data[: len(data) // 2])
    result = aniportrait("weights", "verify", "--engine", "neural", "--json", "--weights-dir", tmp_path)
    verdicts = {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert verdicts["audio2mesh"]["verdict"] == "corrupt"
    assert verdicts["pose_guider"]["verdict"] == "unverified"  # whole, but no published hash to compare
    assert verdicts["denoising_unet"]["verdict"] == "missing"
    assert result.returncode == 1


def test_truncated_weights_are_never_loaded(tmp_path):
    from aniportrait_cli.errors import WeightsMissing
    from aniportrait_cli.weights import manager
    import pytest

    torch.save({"w": torch.zeros(1000)}, tmp_path / "audio2mesh.pt")
    data = (tmp_path / "audio2mesh.pt").read_bytes()
    (tmp_path / "audio2mesh.pt").write_bytes(data[:-300])
    with pytest.raises(WeightsMissing, match=r"audio2mesh.pt \(.*truncated|audio2mesh.pt \(damaged"):
        manager.require("neural", tmp_path, ids=["audio2mesh"])


def test_safetensors_truncation_is_detected(tmp_path):
    from safetensors.torch import save_file

    from aniportrait_cli.weights.integrity import structural_problem

    path = tmp_path / "vae.safetensors"
    save_file({"a": torch.ones(256)}, path)
    assert structural_problem(path) is None
    path.write_bytes(path.read_bytes()[:-100])
    assert "truncated" in structural_problem(path)


def test_weights_path(tmp_path):
    result = aniportrait("weights", "path", "--weights-dir", tmp_path)
    assert result.stdout.strip() == str(tmp_path)
    result = aniportrait("weights", "path", "face_landmarker")
    assert result.returncode == 0 and result.stdout.strip().endswith("face_landmarker.task")
    assert_clean_error(aniportrait("weights", "path", "audio2pose", "--weights-dir", tmp_path), 1, "audio2pose")


def test_missing_optional_file_names_the_command_that_fetches_it(tmp_path):
    import pytest

    from aniportrait_cli.errors import WeightsMissing
    from aniportrait_cli.weights import manager

    with pytest.raises(WeightsMissing, match="film_net_fp16.pt.*--include-optional"):
        manager.require("neural", tmp_path, ids=["film_net"])
