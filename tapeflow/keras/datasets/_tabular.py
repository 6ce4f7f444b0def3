"""The regression datasets' shared steps: read ``x``/``y`` from an npz without pickle, shuffle, split."""
from __future__ import annotations

import zipfile

import numpy as np

from .idx import DatasetFileError


def check_test_split(test_split) -> None:
    if not (0 <= test_split < 1):
        raise ValueError(f"Invalid `test_split` argument: {test_split}. It must be between 0 and 1 "
                         "(exclusive of 1).")


def load_xy(path: str, features: int | None = None) -> tuple:
    """``(x, y)`` from an npz holding numeric arrays ``x`` (n, features) and ``y`` (n,); errors name the file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("x", "y") if k not in f.files]
            if missing:
                raise DatasetFileError(f"{path}: no array named {', '.join(missing)} (the file holds {f.files}); "
                                       "not the expected dataset file")
            x, y = f["x"], f["y"]
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetFileError(f"{path}: cannot read the .npz archive ({e}); delete it and fetch it again") from None
    except ValueError as e:
        if isinstance(e, DatasetFileError):
            raise
        raise DatasetFileError(f"{path}: cannot read it without unpickling ({e}); not the expected file") from None
    if x.ndim != 2 or (features is not None and x.shape[1] != features) or y.shape != (len(x),):
        want = f"(n, {features})" if features else "(n, features)"
        raise DatasetFileError(f"{path}: expected x of shape {want} and y of shape (n,), found x {x.shape} "
                               f"and y {y.shape}")
    return x, y


def shuffle_split(x: np.ndarray, y: np.ndarray, test_split: float, seed) -> tuple:
    """Keras's split: permute with ``RandomState(seed).shuffle``, the first ``int(n * (1 - test_split))`` train.

    >>> (a, b), (c, d) = shuffle_split(np.arange(10.0)[:, None], np.arange(10.0), 0.2, 113)
    >>> a.shape, c.shape, sorted(b.tolist() + d.tolist()) == list(range(10))
    ((8, 1), (2, 1), True)
    """
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
