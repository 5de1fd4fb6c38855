"""CI smoke test of the lmk2video benchmark on tiny networks on the CPU."""

from __future__ import annotations

from aniportrait_cli.bench.lmk2video import main


def test_tiny_cpu_benchmark_runs_the_real_pipeline(capsys):
    result = main(
        "--tiny --device cpu --frames 7 --size 64 --steps 2 --context-frames 4 --context-overlap 1 --threads 1".split()
    )
    out = capsys.readouterr().out
    assert "s/frame" in out and "frames/s" in out and "denoising_unet" in out
    assert result["windows"] == 3 and result["component_calls"]["denoising_unet"] == 6
    assert result["component_calls"]["pose_guider"] == 3  # pyramid cached per window
    assert result["component_calls"]["vae_decode"] == 2  # 7 frames in chunks of 4
    assert result["s_per_frame"] > 0 and result["frames_per_s"] > 0
