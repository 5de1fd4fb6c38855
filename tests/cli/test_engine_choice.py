"""--engine auto|neural|hybrid|classic: which halves a run gets, and the one line that says why."""

import pytest

from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs import engines
from aniportrait_cli.jobs.engines import EngineChoice, MotionSource, Renderer, choose_engine
from aniportrait_cli.jobs.options import Device, Engine, RenderOptions


@pytest.fixture
def audio_weights(tmp_path):
    from aniportrait_cli.audio2lmk.tiny import write_tiny_checkpoints

    write_tiny_checkpoints(tmp_path, seed=0)
    return tmp_path


def test_presets_name_their_halves():
    halves = {e: (EngineChoice(e, "cpu", "").motion, EngineChoice(e, "cpu", "").renderer)
              for e in (Engine.neural, Engine.hybrid, Engine.classic)}
    assert halves == {Engine.neural: (MotionSource.learned, Renderer.diffusion),
                      Engine.hybrid: (MotionSource.learned, Renderer.warp),
                      Engine.classic: (MotionSource.signal, Renderer.warp)}


def test_auto_ladder(audio_weights, tmp_path_factory, monkeypatch):
    monkeypatch.setattr(engines, "gpu_available", lambda: None)
    options = RenderOptions(device=Device.auto, weights_dir=audio_weights)
    choice = choose_engine(options)
    assert choice.engine is Engine.hybrid and choice.device == "cpu" and "hybrid" in choice.reason
    # A video gives the motion: the audio checkpoints do not matter, the photo warp renders.
    video = choose_engine(options, given_motion=MotionSource.video)
    assert (video.engine, video.motion, video.renderer) == (Engine.classic, MotionSource.video, Renderer.warp)
    empty = RenderOptions(weights_dir=tmp_path_factory.mktemp("empty"))
    assert "weights download --engine hybrid" in choose_engine(empty).reason
    monkeypatch.setattr(engines, "missing_neural_libraries", lambda: ["torch"])
    choice = choose_engine(options)
    assert choice.engine is Engine.classic and "need torch" in choice.reason


def test_explicit_learned_engines_need_the_neural_libraries(audio_weights, monkeypatch):
    monkeypatch.setattr(engines, "missing_neural_libraries", lambda: ["torch"])
    with pytest.raises(InputError, match="--engine hybrid needs torch"):
        choose_engine(RenderOptions(engine=Engine.hybrid, weights_dir=audio_weights))
