"""The page: one tab per command, laid out like the original AniPortrait demo, wired to `Actions`.

Only layout and wiring live here; what a button does is in actions.py, so the page and the CLI run the same jobs.
"""

# No `from __future__ import annotations` here: Gradio finds the `gr.Request` parameters by their annotations.
import gradio as gr

from aniportrait_cli.cli.common import CfgOpt, EngineOpt, FpsOpt, SizeOpt, StepsOpt
from aniportrait_cli.jobs.options import Engine, RenderOptions
from aniportrait_cli.ui.actions import POSE_CHOICES, POSE_FILE, POSE_OWN, Actions, Result

TABS = ("Audio → video", "Video → video", "Edit pose", "Check sync")
INTRO = ("# aniportrait\nOne portrait plus speech or singing becomes a talking, lip-synced video. Each tab runs the "
         "same job as the `aniportrait` command of the same name. Files stay on this machine, in a temporary folder "
         "that is deleted when you close this page or stop the server: download what you want to keep.")
POSE_TEMPLATE_TYPES = [".npy", ".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"]
SOURCE_TYPES = ["audio", "video", ".npz"]
CSS = ".aligned textarea { font-family: ui-monospace, monospace; }"  # check-sync's report is a column layout


def build_page(actions: Actions) -> gr.Blocks:
    def show(progress):
        return lambda fraction, description: progress(fraction, desc=description)

    def outputs(result: Result):
        return (str(result.video) if result.video else None,
                [str(f) for f in result.downloads] or None,
                result.log)

    with gr.Blocks(title="aniportrait", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as page:
        gr.Markdown(INTRO)
        with gr.Tabs():
            with gr.Tab(TABS[0], id="audio2vid"):
                with gr.Row():
                    with gr.Column():
                        portrait = _portrait()
                        audio = gr.Audio(label="Speech or singing", type="filepath", sources=["upload", "microphone"])
                        pose, pose_file = _pose_inputs("Head pose (own motion: from the audio)")
                        settings = _settings()
                        run = gr.Button("Generate video", variant="primary")
                    with gr.Column():
                        result = _results()

                def audio2vid(portrait, audio, pose, pose_file, engine, seed, fps, size, steps, cfg, fast,
                              request: gr.Request, progress=gr.Progress()):
                    return outputs(actions.audio_to_video(
                        request.session_hash, show(progress), portrait, audio,
                        _render_options(engine, seed, fps, size, steps, cfg, fast), pose, pose_file))

                run.click(audio2vid, [portrait, audio, pose, pose_file, *settings], result,
                          api_name="audio2vid", concurrency_id="jobs")

            with gr.Tab(TABS[1], id="vid2vid"):
                with gr.Row():
                    with gr.Column():
                        portrait = _portrait()
                        video = gr.Video(label="Driving video (its face motion and sound are used)", sources=["upload"])
                        settings = _settings(fps=0.0)
                        run = gr.Button("Generate video", variant="primary")
                    with gr.Column():
                        result = _results()

                def vid2vid(portrait, video, engine, seed, fps, size, steps, cfg, fast,
                            request: gr.Request, progress=gr.Progress()):
                    return outputs(actions.video_to_video(
                        request.session_hash, show(progress), portrait, video,
                        _render_options(engine, seed, fps, size, steps, cfg, fast)))

                run.click(vid2vid, [portrait, video, *settings], result, api_name="vid2vid", concurrency_id="jobs")

            with gr.Tab(TABS[2], id="edit_pose"):
                with gr.Row():
                    with gr.Column():
                        portrait = _portrait(label="Portrait (optional for a driving-video source: its first frame)")
                        source = gr.File(label="Expression from: speech, a driving video or a motion .npz",
                                         file_types=SOURCE_TYPES)
                        pose, pose_file = _pose_inputs("Head pose (own motion: the source's)")
                        with gr.Row():
                            scale = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Scale head motion")
                            smooth = gr.Slider(1, 31, value=1, step=1, label="Extra smoothing (frames)")
                        with gr.Row():
                            yaw = gr.Slider(-45, 45, value=0, step=1, label="Yaw offset (°)")
                            pitch = gr.Slider(-45, 45, value=0, step=1, label="Pitch offset (°)")
                            roll = gr.Slider(-45, 45, value=0, step=1, label="Roll offset (°)")
                        with gr.Row():
                            mirror = gr.Checkbox(label="Mirror left/right")
                            loop = gr.Radio(["pingpong", "wrap"], value="pingpong", label="Shorter pose track fills by")
                        settings = _settings()
                        with gr.Row():
                            preview = gr.Button("Landmark preview (no weights)")
                            run = gr.Button("Render video", variant="primary")
                    with gr.Column():
                        result = _results()

                def edit_pose(want_preview):
                    def handler(portrait, source, pose, pose_file, scale, smooth, yaw, pitch, roll, mirror, loop,
                                engine, seed, fps, size, steps, cfg, fast, request: gr.Request, progress=gr.Progress()):
                        return outputs(actions.edit_pose(
                            request.session_hash, show(progress), portrait, source,
                            _render_options(engine, seed, fps, size, steps, cfg, fast), pose, pose_file, scale,
                            (yaw, pitch, roll), smooth, mirror, loop, preview=want_preview))

                    return handler

                inputs = [portrait, source, pose, pose_file, scale, smooth, yaw, pitch, roll, mirror, loop, *settings]
                preview.click(edit_pose(True), inputs, result, api_name="edit_pose_preview", concurrency_id="jobs")
                run.click(edit_pose(False), inputs, result, api_name="edit_pose", concurrency_id="jobs")

            with gr.Tab(TABS[3], id="check_sync"):
                with gr.Row():
                    with gr.Column():
                        video = gr.Video(label="Talking-face video", sources=["upload"])
                        audio = gr.Audio(label="Audio to compare with (optional; default: the video's own)",
                                         type="filepath", sources=["upload"])
                        against = gr.Video(label="Or: a real video of the same speech, to compare the mouths with "
                                                 "(optional)", sources=["upload"])
                        run = gr.Button("Measure lip sync", variant="primary")
                    with gr.Column():
                        report = gr.Textbox(label="Report", lines=8, interactive=False, elem_classes="aligned")

                def check_sync(video, audio, against, request: gr.Request, progress=gr.Progress()):
                    return actions.check_sync(request.session_hash, show(progress), video, audio, against).log

                run.click(check_sync, [video, audio, against], report, api_name="check_sync", concurrency_id="jobs")

        def remember_upload(path, request: gr.Request):
            actions.workspace.remember_uploads(request.session_hash, path)

        # Every upload is noted at once (not only those a job used), so closing the tab deletes them all.
        for block in list(page.blocks.values()):
            if isinstance(block, (gr.Image, gr.Audio, gr.Video, gr.File)) and block.interactive is not False:
                block.upload(remember_upload, block, None, queue=False, api_name=False, show_progress="hidden")

        def end_session(request: gr.Request):
            actions.end_session(request.session_hash)

        page.unload(end_session)
    return page


def _portrait(label: str = "Portrait"):
    # image_mode=None + filepath: the job gets the uploaded file itself, as the CLI would.
    return gr.Image(label=label, type="filepath", image_mode=None, sources=["upload", "clipboard"], height=320)


def _pose_inputs(label: str):
    choice = gr.Radio(POSE_CHOICES, value=POSE_OWN, label=label)
    template = gr.File(label="Head pose file: a .npy template or a video", file_types=POSE_TEMPLATE_TYPES,
                       visible=False)
    choice.change(lambda value: gr.update(visible=value == POSE_FILE), choice, template, api_name=False, queue=False)
    return choice, template


def _settings(fps: float = 30.0):
    """The CLI's rendering options, with the same ranges (read from its option declarations)."""
    defaults = RenderOptions()
    with gr.Accordion("Settings", open=False):
        engine = gr.Radio([e.value for e in Engine], value=defaults.engine.value, label="Engine",
                          info=_help(EngineOpt))
        with gr.Row():
            seed = gr.Number(defaults.seed, precision=0, label="Seed")
            fps_slider = gr.Slider(0 if not fps else _low(FpsOpt), _high(FpsOpt), value=fps, step=1, label="FPS",
                                   info=_help(FpsOpt) + (" 0: the driving video's rate." if not fps else ""))
        with gr.Row():
            size = gr.Slider(_low(SizeOpt), 1024, value=defaults.size, step=8, label="Size (px)")
            steps = gr.Slider(_low(StepsOpt), 100, value=defaults.steps, step=1, label="Steps (neural)")
            cfg = gr.Slider(_low(CfgOpt), 10, value=defaults.cfg, step=0.1, label="Guidance scale (neural)")
        fast = gr.Checkbox(defaults.fast, label="Fast (neural): diffuse every 3rd frame, interpolate the rest (FILM)")
    return [engine, seed, fps_slider, size, steps, cfg, fast]


def _render_options(engine, seed, fps, size, steps, cfg, fast) -> RenderOptions:
    """The Settings controls' values (as the page sends them) as the CLI's options."""
    return RenderOptions(engine=Engine(engine), seed=int(seed), fps=float(fps), size=int(size), steps=int(steps),
                         cfg=float(cfg), fast=bool(fast))


def _results():
    video = gr.Video(label="Result", interactive=False, height=420)
    files = gr.File(label="Downloads: the video and its motion file", file_count="multiple", interactive=False)
    log = gr.Textbox(label="Messages", lines=4, interactive=False)
    return [video, files, log]


def _low(option) -> float:
    return option.__metadata__[0].min


def _high(option) -> float:
    return option.__metadata__[0].max


def _help(option) -> str:
    return option.__metadata__[0].help
