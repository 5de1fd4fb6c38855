"""`aniportrait ui`: the original AniPortrait's web demo as a local page, running the same jobs as the CLI.

workspace.py  the temporary files of the server and of each browser session
reporter.py   the CLI's Reporter, speaking to the page (messages, progress)
actions.py    what each tab's button does (no Gradio here)
page.py       the Gradio layout and wiring
server.py     start, announce, stop and clean up
"""
