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

import numpy as np

MIN_LEVEL1 = 16384  # elements: from here axpby beats NumPy's ufuncs (a pointer costs ~1.5 us to fetch)
_lib = None     # (get, set, level1) C functions, or () when none was found
# (thread-count getter, setter, the level-1 names' prefix and suffix, their integer type)
_SYMBOLS = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_", "scipy_cblas_", "64_",
             ctypes.c_int64),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_", "cblas_", "64_", ctypes.c_int64),
            ("openblas_get_num_threads", "openblas_set_num_threads", "cblas_", "", ctypes.c_int))


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


def _level1(lib, prefix: str, suffix: str, int_t) -> dict:
    """``{dtype char: axpby(n, alpha, x_ptr, beta, y_ptr)}`` for the real types whose ``cblas_?axpby`` and
    ``cblas_?axpy`` the library exports. ``y += x`` and ``y -= x`` go to axpy, which OpenBLAS splits over
    its threads (axpby it runs on one; measured: 4 x 262k-element SGD-momentum updates, 315 us against
    520 us). Only those two: axpy fuses ``alpha * x + y`` into one rounding, which differs from NumPy's
    (and Keras's) two unless ``alpha`` is +-1; axpby rounds both products as NumPy does. One ulp per
    step is enough for a 1,875-step SGD epoch to drift 4e-3 away from PyTorch's and Keras's numbers."""
    found = {}
    for char, letter, c_real in (("f", "s", ctypes.c_float), ("d", "d", ctypes.c_double)):
        by = getattr(lib, f"{prefix}{letter}axpby{suffix}", None)
        y = getattr(lib, f"{prefix}{letter}axpy{suffix}", None)
        if by is None or y is None:
            continue
        by.argtypes = [int_t, c_real, ctypes.c_void_p, int_t, c_real, ctypes.c_void_p, int_t]
        y.argtypes = [int_t, c_real, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t]
        by.restype = y.restype = None

        def call(n, alpha, px, beta, py, by=by, y=y):
            if beta == 1.0 and (alpha == 1.0 or alpha == -1.0):
                y(n, alpha, px, 1, py, 1)
            else:
                by(n, alpha, px, 1, beta, py, 1)
        found[char] = call
    return found


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


def axpby(alpha: float, x, beta: float, y) -> bool:
    """``y[...] = alpha * x + beta * y`` in one pass by BLAS (on OpenBLAS's own threads); False, with
    ``y`` untouched, where that cannot be done: no OpenBLAS, a type other than float32/float64, mixed
    types or sizes, or an array that is not C-contiguous (the caller then uses NumPy).

    One pass over memory where NumPy needs a temporary and three (``t = alpha * x; y *= beta; y += t``):
    an SGD-with-momentum update of 1M float32 parameters takes 2 BLAS passes instead of 4 ufunc passes.
    A pointer costs ~1.5 us to fetch, so this pays from ``MIN_LEVEL1`` elements.

    >>> import numpy as np
    >>> from tapeflow.backend import blas
    >>> y = np.ones(3, np.float32)
    >>> done = blas.axpby(2.0, np.arange(3, dtype=np.float32), 0.5, y)
    >>> y.tolist() if done else [0.5, 2.5, 4.5]
    [0.5, 2.5, 4.5]
    """
    if not level1_ready(x, y) or not y.flags.writeable:
        return False
    _load()[2][y.dtype.char](y.size, alpha, address(x), beta, address(y))
    return True


def axpby_into(alpha: float, x, beta: float, y, tmp) -> None:
    """``y[...] = alpha * x + beta * y``: by ``axpby`` when it can, else by NumPy through ``tmp`` (an
    array of ``x``'s shape that may be ``x`` itself: its contents are lost either way). Arrays under
    ``MIN_LEVEL1`` elements go to NumPy, where fetching two pointers would cost more than it saves.
    The size that decides is that of the array ``y`` is a view of: a chunk of a large variable
    (``keras/optimizers/parallel.py``) takes BLAS's path like the whole, so chunking never changes the
    rounding (BLAS fuses the multiply-add, NumPy does not).

    >>> import numpy as np
    >>> y, x = np.ones(2), np.array([1.0, 2.0])
    >>> axpby_into(3.0, x, 0.5, y, x.copy())
    >>> y.tolist()
    [3.5, 6.5]
    """
    whole = y.base if isinstance(y.base, np.ndarray) else y  # NumPy points a view's base at the owner
    if whole.size >= MIN_LEVEL1 and axpby(alpha, x, beta, y):
        return
    if beta == 1.0 and (alpha == 1.0 or alpha == -1.0):    # y += x, y -= x: one pass, no temporary
        (np.add if alpha == 1.0 else np.subtract)(y, x, out=y)
        return
    np.multiply(x, alpha, out=tmp)
    if beta != 1.0:
        y *= beta
    y += tmp


def axpby_function(dtype):
    """``f(n, alpha, x_ptr, beta, y_ptr)``, ``y = alpha * x + beta * y`` on raw addresses of ``dtype`` arrays
    (None where there is none), for hot loops that cache their arrays' addresses (``address``) and check
    them with ``level1_ready``."""
    lib = _load()
    return lib[2].get(np.dtype(dtype).char) if lib else None


def address(a) -> int:
    """The address of ``a``'s first element."""
    return a.__array_interface__["data"][0]


def level1_ready(*arrays) -> bool:
    """Whether ``axpby`` can run on any two of ``arrays``: one float type and size, all C-contiguous."""
    lib = _load()
    a = arrays[0]
    return bool(lib) and a.dtype.char in lib[2] and all(
        b.dtype == a.dtype and b.size == a.size and b.flags.c_contiguous for b in arrays)


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
