"""One module per command of the ``vlf-frames`` CLI."""
