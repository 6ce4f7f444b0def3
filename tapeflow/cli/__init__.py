"""The ``tapeflow`` command line."""
