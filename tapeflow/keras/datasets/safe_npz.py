"""Read ``.npz`` files whose object arrays are stored as pickles, without running code from the file.

``imdb.npz`` and ``reuters.npz`` hold ragged sequences (object arrays of Python lists of ints), which NumPy can
only store as a pickle stream; ``np.load(allow_pickle=True)`` would let a tampered file run any code through a
pickle ``__reduce__`` gadget. Here numeric members are read with ``allow_pickle=False`` and object members with
``RestrictedUnpickler``, which resolves exactly three globals: ``numpy.ndarray``, ``numpy.dtype`` and NumPy's
``multiarray._reconstruct`` (spelled ``numpy.core.multiarray`` by NumPy < 2 and ``numpy._core.multiarray`` by
NumPy >= 2). Any other global (``os.system``, ``builtins.eval``, ``subprocess.Popen``, NumPy scalars ...) is
refused with ``pickle.UnpicklingError`` naming it. The result must also be an ndarray of the dtype and shape the
``.npy`` header declares. Keras 3.15 reads these files with the same three globals.
"""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

from .idx import DatasetFileError

_RECONSTRUCT = np.empty(0).__reduce__()[0]  # multiarray._reconstruct, whatever module NumPy keeps it in
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays of plain Python objects and nothing else.

    >>> import pickle, io, os
    >>> RestrictedUnpickler(io.BytesIO(pickle.dumps([1, [2, 3]]))).load()
    [1, [2, 3]]
    >>> RestrictedUnpickler(io.BytesIO(pickle.dumps(os.system))).load()
    Traceback (most recent call last):
    ...
    _pickle.UnpicklingError: refusing to load the global ...system from a dataset file: only numpy.ndarray, ...
    """

    def find_class(self, module: str, name: str):
        obj = _ALLOWED.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(
                f"refusing to load the global {module}.{name} from a dataset file: only numpy.ndarray, numpy.dtype "
                "and numpy's multiarray._reconstruct are allowed; the file is corrupt or malicious")
        return obj


def read_npy(data: bytes, where: str = "<bytes>") -> np.ndarray:
    """One ``.npy`` member: numeric arrays without pickle, object arrays through ``RestrictedUnpickler``.

    >>> buf = io.BytesIO(); np.save(buf, np.array([[1, 2], [3]], dtype=object)); read_npy(buf.getvalue()).tolist()
    [[1, 2], [3]]
    """
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):  # 3.0 differs from 2.0 only in the header's text encoding
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
        if not dtype.hasobject:
            fp.seek(0)
            return np.lib.format.read_array(fp, allow_pickle=False)
        arr = RestrictedUnpickler(fp).load()
    except pickle.UnpicklingError as e:
        raise DatasetFileError(f"{where}: {e}") from None
    except (ValueError, EOFError, TypeError, AttributeError, IndexError, KeyError, OverflowError,
            MemoryError) as e:
        raise DatasetFileError(f"{where}: not a readable .npy array ({type(e).__name__}: {e})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.shape != tuple(shape):
        got = f"{type(arr).__name__} {getattr(arr, 'dtype', '')} {getattr(arr, 'shape', '')}".strip()
        raise DatasetFileError(f"{where}: the header declares an array of {dtype} {tuple(shape)} but the data is "
                               f"a {got}; the file is corrupt")
    return arr


def load_npz(path: str, keys) -> dict:
    """``{key: array}`` for the members ``keys`` of the ``.npz`` file ``path``; errors name the file.

    >>> import tempfile, os
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "seqs.npz")
    >>> np.savez(f, x=np.array([[4, 5], [6]], dtype=object), y=np.array([0, 1]))
    >>> d = load_npz(f, ["x", "y"]); d["x"].tolist(), d["y"].tolist()
    ([[4, 5], [6]], [0, 1])
    >>> tmp.cleanup()
    """
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            missing = [k for k in keys if k + ".npy" not in names]
            if missing:
                have = sorted(n[:-4] for n in names if n.endswith(".npy"))
                raise DatasetFileError(f"{path}: no array named {', '.join(missing)} (the file holds {have}); "
                                       "not the expected dataset file")
            return {k: read_npy(z.read(k + ".npy"), f"{path}:{k}.npy") for k in keys}
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetFileError(f"{path}: cannot read the .npz archive ({e}); delete it and fetch it again") from None
