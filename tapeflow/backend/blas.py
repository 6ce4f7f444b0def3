"""The thread count of the BLAS NumPy links (OpenBLAS), read and set through its C API.

``fit`` runs large traced steps as batch shards on its own threads (``keras/sharded_step.py``);
each shard's matmuls must then run on the calling thread only, or the two shards' BLAS calls and
BLAS's own worker threads (which spin on the cores for a while after each call) fight over the
cores. ``single_threaded()`` sets OpenBLAS to one thread for a block and restores the old count.
Where the BLAS is not OpenBLAS (MKL, Accelerate) ``available()`` is False and callers keep to one
thread of their own. A switch is not free: the next multi-threaded matmul pays ~0.15 ms to bring
the workers back (a batch-32 MLP epoch that switched around every optimizer update took 0.3 s
longer), so switch around large work only.

>>> from tapeflow.backend import blas
>>> n = blas.get_threads()
>>> with blas.single_threaded():
...     inside = blas.get_threads()
>>> (inside, blas.get_threads() == n) if blas.available() else (1, True)
(1, True)
"""
from __future__ import annotations

import contextlib
import ctypes
import glob
import os

_lib = None     # (get, set) C functions, or () when none was found
_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads"))


def _candidates():
    import numpy as np
    root = os.path.dirname(np.__file__)
    yield from sorted(glob.glob(os.path.join(root, "..", "numpy.libs", "*openblas*.so*")))  # Linux wheels
    yield from sorted(glob.glob(os.path.join(root, ".dylibs", "*openblas*.dylib")))          # macOS wheels
    try:
        with open("/proc/self/maps") as f:                                                # a system NumPy
            yield from sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass


def _load():
    global _lib
    if _lib is not None:
        return _lib
    _lib = ()
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                _lib = (get, set_)
                return _lib
    return _lib


def available() -> bool:
    """Whether NumPy's BLAS thread count can be read and set here (an OpenBLAS was found)."""
    return bool(_load())


def get_threads() -> int:
    """OpenBLAS's current thread count (1 where it cannot be read)."""
    lib = _load()
    return int(lib[0]()) if lib else 1


def set_threads(n: int) -> None:
    """Set OpenBLAS's thread count (a no-op where there is no OpenBLAS)."""
    lib = _load()
    if lib:
        lib[1](int(n))


@contextlib.contextmanager
def single_threaded():
    """Run the block with OpenBLAS on one thread, then restore the previous count."""
    before = get_threads()
    if before != 1:
        set_threads(1)
    try:
        yield
    finally:
        if before != 1:
            set_threads(before)
