"""The page's reporter: what a job says goes to the page's log, its progress to the page's bar (and both to the
server's stderr)."""

from aniportrait_cli.ui.reporter import PageReporter


def test_progress_reaches_the_page_and_the_server_log(capsys):
    shown = []
    reporter = PageReporter(lambda fraction, description: shown.append((fraction, description)))
    with reporter.progress() as bar:
        step = bar.callback("Rendering", 4)
        for done in range(5):
            step(done)
        unknown = bar.add("Tracking", None)
        bar.advance(unknown)
    assert shown[:5] == [(0.0, "Rendering"), (0.0, "Rendering"), (0.25, "Rendering"), (0.5, "Rendering"),
                         (0.75, "Rendering")]
    assert shown[-3:] == [(1.0, "Rendering"), (None, "Tracking"), (None, "Tracking")]
    log = capsys.readouterr().err
    assert "Rendering: 4/4 (100%)" in log and "Tracking: 0" in log


def test_messages_are_the_page_log(capsys):
    reporter = PageReporter(lambda fraction, description: None)
    reporter.note_once("using the classic engine")
    reporter.note_once("using the classic engine")
    reporter.info("wrote out.mp4")
    reporter.error("face.png: no face found")
    assert reporter.text == "note: using the classic engine\nwrote out.mp4\nerror: face.png: no face found"
    assert capsys.readouterr().err.count("error: face.png: no face found") == 1
