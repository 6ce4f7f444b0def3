"""Keep glibc from handing freshly freed gradient buffers back to the kernel every step.

A training step frees and re-allocates the same few arrays (a 784x128 float32 weight
gradient is 400 KB). glibc serves such sizes with mmap, or trims them off the heap top as
soon as they are freed, so every step pays ~100 page faults per such array (measured: the
first layer's weight gradient costs 2-3x its matmul). Raising the mmap and trim thresholds
once, as TensorFlow's and PyTorch's own caching allocators effectively do, makes the memory
stay in the process for reuse. Set ``TAPEFLOW_MALLOC_TUNING=0`` to leave malloc alone.
"""
from __future__ import annotations

import os
import sys

_done = False

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024   # arrays above 32 MB still come straight from mmap
TRIM_THRESHOLD = 128 * 1024 * 1024  # keep up to 128 MB of freed heap for reuse


def tune() -> bool:
    """Apply the thresholds once per process (glibc only); returns whether they are set."""
    global _done
    if _done:
        return True
    _done = True
    if os.environ.get("TAPEFLOW_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
            bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
