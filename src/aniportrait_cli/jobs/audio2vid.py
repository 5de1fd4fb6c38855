"""audio2vid: reference portrait + audio -> talking video."""

from __future__ import annotations

from pathlib import Path

from aniportrait_cli.errors import InputError, NotAvailableYet
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.jobs.outputs import check_output, default_output


def run(ref: Path, audio: Path | None, motion: Path | None, pose_from: str | None, output: Path | None,
        options: RenderOptions, reporter) -> Path:
    from aniportrait_cli.media import load_audio, load_image

    if audio is None:
        raise InputError("--audio is required: the speech or singing to lip-sync (and to put in the video)")
    output = check_output(output or default_output(ref, audio), options.overwrite)
    load_image(ref)
    load_audio(audio)
    raise NotAvailableYet("audio2vid rendering is not available yet in this build (engines land in a later release)")
