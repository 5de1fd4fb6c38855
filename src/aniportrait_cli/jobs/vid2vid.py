"""vid2vid: reference portrait + driving video -> re-enacted video."""

from __future__ import annotations

from pathlib import Path

from aniportrait_cli.errors import NotAvailableYet
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.jobs.outputs import check_output, default_output


def run(ref: Path, video: Path, output: Path | None, options: RenderOptions, reporter) -> Path:
    from aniportrait_cli.media import VideoReader, load_image

    output = check_output(output or default_output(ref, video), options.overwrite)
    load_image(ref)
    VideoReader(video)
    raise NotAvailableYet("vid2vid rendering is not available yet in this build (engines land in a later release)")
