"""``tf.version``: tapeflow's own version strings, under TensorFlow's names.

* ``VERSION``: tapeflow's release (``tapeflow.__version__``), not a TensorFlow version: code that checks for
  TensorFlow 2 should test the API it needs, not this number.
* ``GIT_VERSION``: ``"v" + VERSION`` (tapeflow reads no git metadata at import time).
* ``COMPILER_VERSION``: tapeflow has no compiled code; this names the Python implementation and the NumPy it
  runs on, e.g. ``"CPython 3.11.9, NumPy 2.1.0 (pure Python, no compiled extensions)"``.

TensorFlow's ``GRAPH_DEF_VERSION`` constants describe its GraphDef format, which tapeflow does not have.

>>> import tapeflow as tf
>>> tf.version.VERSION == tf.__version__, tf.version.GIT_VERSION == "v" + tf.version.VERSION
(True, True)
>>> "NumPy" in tf.version.COMPILER_VERSION
True
"""
from __future__ import annotations

import platform as _platform

import numpy as _np

from . import __version__ as VERSION  # noqa: N812 - TF's name

__all__ = ["VERSION", "GIT_VERSION", "COMPILER_VERSION"]

GIT_VERSION = "v" + VERSION
COMPILER_VERSION = (f"{_platform.python_implementation()} {_platform.python_version()}, NumPy {_np.__version__} "
                    "(pure Python, no compiled extensions)")
