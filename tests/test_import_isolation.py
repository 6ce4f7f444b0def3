"""Every public namespace imports on its own, as the first tapeflow module of a fresh process.

An import cycle hides when a test session has already imported one side of it: ``import
tapeflow.keras.mixed_precision`` failed in a new interpreter (mixed_precision -> optimizers ->
optimizers.loss_scale -> mixed_precision) while every test passed. Each package and each
top-level module is imported here in a child forked from a parent that holds only NumPy.
"""
from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import tapeflow

_CHILD = r"""
import importlib, os, sys
import numpy
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(name)
        except BaseException as e:
            print(f"{name}: {type(e).__name__}: {e}", flush=True)
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)
"""


def _namespaces() -> list[str]:
    """The packages and the modules directly under ``tapeflow`` (what ``tf.<name>`` loads)."""
    names = ["tapeflow"]
    for info in pkgutil.walk_packages(tapeflow.__path__, "tapeflow.", onerror=lambda name: None):
        if info.ispkg or info.name.count(".") == 1:
            names.append(info.name)
    return sorted(set(names))


def test_the_namespace_list_covers_the_api():
    names = _namespaces()
    for expected in ("tapeflow.keras.mixed_precision", "tapeflow.keras.optimizers", "tapeflow.nn", "tapeflow.data"):
        assert expected in names
    assert len(names) > 40


def test_each_namespace_imports_first_in_a_fresh_process():
    if not hasattr(os, "fork"):
        import pytest
        pytest.skip("needs os.fork")
    root = os.path.dirname(os.path.dirname(os.path.abspath(tapeflow.__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", _CHILD, *_namespaces()], capture_output=True, text=True,
                            cwd=root, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "", "modules that fail to import first:\n" + result.stdout
