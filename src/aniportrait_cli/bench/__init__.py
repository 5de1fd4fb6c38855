"""Benchmarks runnable with `python -m aniportrait_cli.bench.<name>`."""
