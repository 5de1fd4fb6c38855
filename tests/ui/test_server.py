"""`aniportrait ui` as a command: its startup line, its one-line errors, and what it leaves behind (nothing)."""

from __future__ import annotations

import socket
import time

import pytest

from aniportrait_cli.ui.server import is_local, startup_line
from aniportrait_cli.ui.workspace import Workspace
from tests.cli.run import assert_clean_error


def run_cli_without_gradio(*args: str):
    """The CLI in a Python where `import gradio` fails, as without the ui extra."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['gradio'] = None; from aniportrait_cli.cli.app import main; "
            f"sys.argv = ['aniportrait', *{list(args)!r}]; main()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


def test_without_the_ui_extra_one_line_says_how_to_install_it():
    result = run_cli_without_gradio("ui")
    assert_clean_error(result, 2, "pip install 'aniportrait-cli[ui]'")
    assert result.stdout == ""


def test_a_busy_port_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        from tests.cli.run import aniportrait

        result = aniportrait("ui", "--port", str(port))
    assert_clean_error(result, 2, f"--port {port}", "Address already in use", "choose another port")


def test_share_links_are_never_made():
    from tests.cli.run import aniportrait

    assert_clean_error(aniportrait("ui", "--share", "public"), 2, "--share")


def test_startup_line_says_where_and_who_can_reach_it():
    assert startup_line("127.0.0.1", 7860) == "aniportrait ui: http://127.0.0.1:7860/ (this machine only; Ctrl-C stops it)"
    wide = startup_line("0.0.0.0", 8000)
    assert wide.startswith("aniportrait ui: http://0.0.0.0:8000/ (--host 0.0.0.0: reachable from other machines")
    assert startup_line("::1", 7860).startswith("aniportrait ui: http://[::1]:7860/ (this machine only")
    assert is_local("localhost") and is_local("127.0.0.2") and not is_local("192.168.1.10")


def test_a_closed_session_leaves_no_files(server, inputs):
    """Closing the page (here: the client's heartbeat ends) deletes the session's uploads and results."""
    gradio_client = pytest.importorskip("gradio_client")
    client = gradio_client.Client(server.url, verbose=False, analytics_enabled=False)
    _, _, log = client.predict(
        gradio_client.handle_file(str(inputs / "face.png")), gradio_client.handle_file(str(inputs / "voice.wav")),
        "still", None, "classic", 1, 10, 64, 25, 3.5, False, api_name="/audio2vid")
    session = server.root / "sessions" / client.session_hash
    assert session.is_dir() and log.splitlines()[-1].startswith("wrote "), log
    uploads = [p for p in server.root.rglob("*") if p.name in ("face.png", "voice.wav")]
    assert uploads
    client.close()
    deadline = time.monotonic() + 10
    while (session.exists() or any(p.exists() for p in uploads)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not session.exists() and not any(p.exists() for p in uploads)


def test_an_upload_shared_by_two_sessions_stays_until_both_end(tmp_path):
    workspace = Workspace(tmp_path / "root")
    shared = workspace.root / "abc123" / "face.png"
    own = workspace.root / "def456" / "voice.wav"
    for path in (shared, own):
        path.parent.mkdir()
        path.write_bytes(b"x")
    result = workspace.job_folder("one") / "out.mp4"
    result.write_bytes(b"x")
    workspace.remember_uploads("one", shared, own, "/etc/hostname", None)  # files outside are never touched
    workspace.remember_uploads("two", shared)
    workspace.end_session("one")
    assert shared.exists() and not own.parent.exists() and not result.parent.parent.exists()
    workspace.end_session("two")
    assert not shared.parent.exists()
    workspace.remove()
    assert not workspace.root.exists()


def test_help_lists_the_ui_command():
    from tests.cli.run import aniportrait

    result = aniportrait("--help")
    assert result.returncode == 0
    assert "│ ui " in result.stdout and "aniportrait-cli[ui]" in result.stdout, result.stdout
