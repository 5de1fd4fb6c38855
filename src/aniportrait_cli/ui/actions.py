"""What each tab's button does, without Gradio: turn the page's values into the same job calls the CLI makes.

Every action runs one job in a fresh folder of the session, returns what the page shows (the video, the files to
download, the job's messages) and turns a failure into the CLI's own `error: ...` line.
"""

from __future__ import annotations

import shutil
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from aniportrait_cli.errors import AniportraitError, InputError
from aniportrait_cli.jobs.batch import AUDIO_SUFFIXES, VIDEO_SUFFIXES
from aniportrait_cli.jobs.limits import check_option, resolve_seed
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import RenderOptions
from aniportrait_cli.jobs.outputs import default_output
from aniportrait_cli.ui.reporter import PageReporter, ShowProgress
from aniportrait_cli.ui.workspace import Workspace

# Head-pose choices shared by the audio and edit-pose tabs: the source's own motion, a still head, or a file.
POSE_OWN = "own motion"
POSE_STILL = "still"
POSE_FILE = "from a file"
POSE_CHOICES = [POSE_OWN, POSE_STILL, POSE_FILE]


@dataclass
class Result:
    video: Path | None = None
    downloads: list[Path] = field(default_factory=list)
    log: str = ""


class Actions:
    """One per server: the workspace, the weights folder (the CLI's --weights-dir) and the models loaded so far
    (kept between jobs, like a batch does)."""

    def __init__(self, workspace: Workspace, weights_dir: Path | None = None):
        self.workspace = workspace
        self.weights_dir = weights_dir
        self._models = ModelCache()

    def audio_to_video(self, session: str, show: ShowProgress, portrait: str | None, audio: str | None,
                       settings: RenderOptions, pose: str = POSE_OWN, pose_file: str | None = None) -> Result:
        from aniportrait_cli.jobs import audio2vid

        def job(folder: Path, reporter) -> list[Path]:
            ref, sound = _given(portrait, "a portrait image"), _given(audio, "speech or singing (an audio file)")
            options = self._options(settings, folder, reporter)
            output = audio2vid.run(ref=ref, audio=sound, motion=None, pose_from=_pose_from(pose, pose_file),
                                   output=default_output(ref, sound, cwd=folder), options=options, reporter=reporter, models=self._models)
            return [output, options.save_motion]

        return self._run(session, show, job, portrait, audio, pose_file)

    def video_to_video(self, session: str, show: ShowProgress, portrait: str | None, video: str | None,
                       settings: RenderOptions) -> Result:
        from aniportrait_cli.jobs import vid2vid

        def job(folder: Path, reporter) -> list[Path]:
            ref, driving = _given(portrait, "a portrait image"), _given(video, "a driving video")
            options = self._options(settings, folder, reporter)
            output = vid2vid.run(ref=ref, video=driving, output=default_output(ref, driving, cwd=folder),
                                 options=options, reporter=reporter, models=self._models)
            return [output, options.save_motion]

        return self._run(session, show, job, portrait, video)

    def edit_pose(self, session: str, show: ShowProgress, portrait: str | None, source: str | None,
                  settings: RenderOptions, pose: str = POSE_OWN, pose_file: str | None = None,
                  scale: float = 1.0, offset: tuple[float, float, float] = (0.0, 0.0, 0.0), smooth: int = 1,
                  mirror: bool = False, loop: str = "pingpong", preview: bool = False) -> Result:
        from aniportrait_cli.jobs import edit_pose

        def job(folder: Path, reporter) -> list[Path]:
            src = _given(source, "the expression source (speech, a driving video or a motion .npz)")
            ref = Path(portrait) if portrait else None
            kind = _source_kind(src)
            options = self._options(settings, folder, reporter)
            template = folder / "head_pose.npy"
            output = edit_pose.run(
                ref=ref, audio=src if kind == "audio" else None, video=src if kind == "video" else None,
                motion=src if kind == "motion" else None, pose_from=_pose_from(pose, pose_file),
                pose_scale=scale, pose_offset=",".join(f"{v:g}" for v in offset) if any(offset) else None,
                pose_smooth=int(smooth), mirror=bool(mirror), loop=loop, save_pose=template, preview=preview,
                output=default_output(*(p for p in (ref, src) if p is not None),
                                      suffix="__preview.mp4" if preview else "__edit.mp4", cwd=folder),
                options=options, reporter=reporter, models=self._models)
            return [output, options.save_motion, template]

        return self._run(session, show, job, portrait, source, pose_file)

    def check_sync(self, session: str, show: ShowProgress, video: str | None, audio: str | None = None,
                   against: str | None = None) -> Result:
        import typer

        from aniportrait_cli.jobs import check_sync

        def job(folder: Path, reporter) -> list[Path]:
            try:
                check_sync.run(video=_given(video, "a talking-face video"), audio=Path(audio) if audio else None,
                               against=Path(against) if against else None, reporter=reporter)
            except typer.Exit as verdict:  # "not lip-synced" is the CLI's exit code 3: a measurement, not an error
                if verdict.exit_code != check_sync.NOT_LIP_SYNCED_EXIT:
                    raise
            return []

        return self._run(session, show, job, video, audio, against)

    def end_session(self, session: str) -> None:
        self.workspace.end_session(session)

    def _options(self, settings: RenderOptions, folder: Path, reporter) -> RenderOptions:
        """The page's settings with the seed checked and a negative one resolved as the CLI does (Gradio checks
        the sliders' ranges itself; the seed box has none), plus what the server decides: the weights folder
        and where the motion file goes."""
        check_option("seed", settings.seed)
        return replace(settings, seed=resolve_seed(settings.seed, reporter), weights_dir=self.weights_dir,
                       save_motion=folder / "motion.npz")

    def _run(self, session: str, show: ShowProgress, job: Callable[[Path, PageReporter], list[Path]],
             *uploads: str | None) -> Result:
        self.workspace.remember_uploads(session, *uploads)
        folder = self.workspace.job_folder(session)
        reporter = PageReporter(show)
        try:
            files = [Path(f) for f in job(folder, reporter) if f is not None and Path(f).is_file()]
        except AniportraitError as exc:
            reporter.error(str(exc))
            shutil.rmtree(folder, ignore_errors=True)
            return Result(log=reporter.text)
        except Exception as exc:  # a bug: keep the server up, say so in the page, full traceback in the server log
            traceback.print_exc(file=sys.stderr)
            reporter.error(f"internal error: {exc!r} (the server's log has the details)")
            shutil.rmtree(folder, ignore_errors=True)
            return Result(log=reporter.text)
        video = next((f for f in files if f.suffix == ".mp4"), None)
        return Result(video=video, downloads=files, log=reporter.text)


def _given(path: str | None, what: str) -> Path:
    if not path:
        raise InputError(f"{what} is required: add it above")
    return Path(path)


def _pose_from(choice: str, pose_file: str | None) -> str | None:
    if choice == POSE_STILL:
        return "still"
    if choice == POSE_FILE:
        if not pose_file:
            raise InputError("head pose 'from a file' needs a file: a .npy pose template or a video")
        return pose_file
    return None


def _source_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return "motion"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    raise InputError(f"{path.name}: not an audio file, a video or a motion .npz")
