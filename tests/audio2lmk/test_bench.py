"""Smoke test of the audio2lmk benchmark (`python -m aniportrait_cli.bench.audio2lmk --tiny`)."""

from __future__ import annotations

import torch

from aniportrait_cli.bench import audio2lmk


def test_tiny_bench_reports_speed_parts_and_memory(capsys):
    threads = torch.get_num_threads()
    results = audio2lmk.main(["--tiny", "--seconds", "2", "--threads", "1", "--no-warmup", "--json"])
    torch.set_num_threads(threads)
    assert results["frames"] == 60 and results["models"] == "tiny"
    assert results["realtime_factor"] > 0 and results["wall_s"] > 0
    assert {"mesh conv", "mesh encoder", "pose conv", "pose encoder", "pose decoder"} <= set(results["parts_s"])
    assert results["peak_rss_gib"] > 0
    printed = capsys.readouterr().out
    assert "x real time" in printed and "peak RSS" in printed


def test_shared_conv_and_compat_options():
    threads = torch.get_num_threads()
    results = audio2lmk.main(["--tiny", "--seconds", "6", "--threads", "1", "--no-warmup", "--shared-conv", "--compat"])
    torch.set_num_threads(threads)
    assert results["compat"] and results["shared_conv"]
    assert results["frames"] == 180


def test_hybrid_bench_times_every_stage(tmp_path, capsys):
    from aniportrait_cli.audio2lmk.tiny import write_tiny_checkpoints
    from aniportrait_cli.bench import hybrid

    write_tiny_checkpoints(tmp_path, seed=0)
    threads = torch.get_num_threads()
    results = hybrid.main(["--weights-dir", str(tmp_path), "--seconds", "2", "--size", "64", "--threads", "1"])
    torch.set_num_threads(threads)
    assert set(results["parts"]) == {"load checkpoints", "reference face", "audio -> motion", "warp + encode"}
    assert results["realtime_factor"] > 0 and results["seconds_audio"] > 1
    assert "x real time" in capsys.readouterr().out


def test_kit_clip_compare_reports_errors_against_fp32(kit_dir):
    threads = torch.get_num_threads()
    results = audio2lmk.main(["--kit", str(kit_dir), "--threads", "1", "--no-warmup", "--precision", "bf16", "--compare"])
    torch.set_num_threads(threads)
    assert results["models"] == "kit tiny" and results["frames"] == 195  # case 09: 6.5 s at 30 fps
    errors = results["errors_vs_fp32"]
    assert 0 < errors["mesh_mean"] <= errors["mesh_max"] and 0 < errors["pose_mean"] <= errors["pose_max"]
    assert errors["mesh_mean"] < 0.05 * errors["mesh_scale_mean"]
