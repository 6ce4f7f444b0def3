"""The BLAS NumPy links (OpenBLAS), reached through its C API: its thread count, and axpy/scal.

``fit`` runs large traced steps as batch shards on its own threads (``keras/sharded_step.py``);
each shard's matmuls must then run on the calling thread only, or the two shards' BLAS calls and
BLAS's own worker threads (which spin on the cores for a while after each call) fight over the
cores. ``single_threaded()`` sets OpenBLAS to one thread for a block and restores the old count.
Where the BLAS is not OpenBLAS (MKL, Accelerate) ``available()`` is False and callers keep to one
thread of their own.

NumPy has no fused ``y += a * x``: it takes a temporary and two passes over memory. Optimizer
updates are memory-bound, so ``axpy``/``scal`` call BLAS level 1 directly (one pass each) on
contiguous float32/float64 arrays; ``level1(*arrays)`` says whether they can. BLAS uses fused
multiply-adds, so results differ from NumPy's in the last bit, and a call on a slice matches the
whole-array call bitwise only where the slice starts a multiple of ``ALIGN`` elements in.

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

_lib = None     # (get, set, {dtype: (axpy, scal)}) C functions, or () when none was found
# (thread count getter, setter, cblas symbol prefix, suffix, integer type of n and strides)
_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_", "scipy_cblas_", "64_",
             ctypes.c_int64),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_", "cblas_", "64_", ctypes.c_int64),
            ("openblas_get_num_threads", "openblas_set_num_threads", "cblas_", "", ctypes.c_int))
ALIGN = 256  # elements: BLAS kernels finish an array's last partial block differently


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
        for get_name, set_name, prefix, suffix, int_t in _SYMBOLS:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                _lib = (get, set_, _level1(lib, prefix, suffix, int_t))
                return _lib
    return _lib


def _level1(lib, prefix, suffix, int_t) -> dict:
    import numpy as np
    out = {}
    for letter, dtype, real in (("s", np.float32, ctypes.c_float), ("d", np.float64, ctypes.c_double)):
        axpy = getattr(lib, f"{prefix}{letter}axpy{suffix}", None)
        scal = getattr(lib, f"{prefix}{letter}scal{suffix}", None)
        if axpy is None or scal is None:
            continue
        axpy.restype = scal.restype = None
        axpy.argtypes = [int_t, real, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t]
        scal.argtypes = [int_t, real, ctypes.c_void_p, int_t]
        out[np.dtype(dtype)] = (axpy, scal)
    return out


def level1(*arrays) -> bool:
    """Whether ``axpy``/``scal`` can run on these: ndarrays of one size and one float dtype BLAS has, C-contiguous."""
    lib = _load()
    if not lib:
        return False
    import numpy as np
    first = arrays[0]
    if not isinstance(first, np.ndarray) or first.dtype not in lib[2]:
        return False
    return all(isinstance(a, np.ndarray) and a.dtype == first.dtype and a.size == first.size
               and a.flags.c_contiguous for a in arrays)


def axpy(alpha, x, y) -> None:
    """``y += alpha * x`` in one pass (arrays of one size, and ``level1(x, y)``).

    >>> import numpy as np
    >>> y = np.ones(3, np.float32)
    >>> if level1(y):
    ...     axpy(2.0, np.arange(3, dtype=np.float32), y)
    ... else:
    ...     y += 2.0 * np.arange(3, dtype=np.float32)
    >>> y.tolist()
    [1.0, 3.0, 5.0]
    """
    if x.size != y.size or not y.flags.writeable:
        raise ValueError(f"blas.axpy: x and y must be the same size and y writable, got {x.size} and {y.size}")
    _load()[2][y.dtype][0](y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)


def scal(alpha, x) -> None:
    """``x *= alpha`` in place (``level1(x)``)."""
    if not x.flags.writeable:
        raise ValueError("blas.scal: x must be writable")
    _load()[2][x.dtype][1](x.size, alpha, x.ctypes.data, 1)


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
