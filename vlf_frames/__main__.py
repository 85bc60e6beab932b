"""``python -m vlf_frames``: the same command as ``vlf-frames``."""

from vlf_frames.console import run

run()
