"""Safe file handling for model files: atomic writes, guarded HDF5/JSON/zip reading.

Every reader here treats a file as data, never code:

* HDF5: external links, soft links, external storage and virtual datasets are refused; datasets must
  hold plain numbers (bool/int/uint/float), so no object, opaque, reference or variable-length
  payload is ever decoded; shapes are checked against the model before an array is read.
* JSON: size-limited, UTF-8, must decode to the expected type.
* Every error is a :class:`ModelFileError` (a ``ValueError``) that names the file and the problem.

Writers go through :func:`atomic_write`: the bytes land in a temporary file in the destination folder,
are flushed and fsynced, then renamed over the destination, so a crash leaves the old file intact.

>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> with atomic_write(os.path.join(d, "a.txt")) as tmp:
...     _ = open(tmp, "w").write("hello")
>>> open(os.path.join(d, "a.txt")).read()
'hello'
"""
from __future__ import annotations

import contextlib
import json
import os
import uuid

import numpy as np

MAX_JSON_BYTES = 64 << 20          # a config larger than this is not a model config
MAX_H5_OBJECTS = 200_000           # groups + datasets walked in one weights file
MAX_ARRAY_BYTES = 16 << 30         # one weight array
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"


class ModelFileError(ValueError):
    """A model/weights file that cannot be loaded safely; the message names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


# -- writing -----------------------------------------------------------------------------------
def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path, overwrite: bool = True):
    """Yield a temporary path next to ``path``; on success fsync it and rename it onto ``path``.

    On an exception (or a kill) the temporary file is removed (or left as a stray ``.tmp`` file) and
    the previous ``path`` is untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path}: exists and overwrite=False")
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(folder)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_bytes_atomic(path, data: bytes, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_write`."""
    with atomic_write(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


# -- reading: generic --------------------------------------------------------------------------
def read_head(path, n: int = 8) -> bytes:
    """The first ``n`` bytes of ``path`` (a ``ModelFileError`` when it is missing or unreadable)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except FileNotFoundError:
        raise ModelFileError(path, "no such file") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a directory, not a model file") from None
    except OSError as e:
        raise ModelFileError(path, f"cannot be read ({e})") from None


def parse_json(data, path, what: str, expect=dict, limit: int = MAX_JSON_BYTES):
    """Decode JSON ``data`` (bytes or str) from ``what`` inside ``path``; size- and type-checked."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) > limit:
            raise ModelFileError(path, f"{what} is {len(data)} bytes, over the {limit}-byte limit for a config")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ModelFileError(path, f"{what} is not UTF-8 text ({e})") from None
    elif len(data) > limit:
        raise ModelFileError(path, f"{what} is {len(data)} characters, over the {limit} limit for a config")
    try:
        out = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise ModelFileError(path, f"{what} is not valid JSON ({e})") from None
    if expect is not None and not isinstance(out, expect):
        raise ModelFileError(path, f"{what} should be a JSON {expect.__name__}, got {type(out).__name__}")
    return out


def check_config_safe(config, path, safe_mode: bool = True, custom_objects=None) -> None:
    """Refuse, before anything is built, a config that asks for code: Keras's serialized ``__lambda__``
    bytecode always; a lambda (``"<lambda>"``) function or activation unless ``safe_mode=False`` and
    the user supplies it in ``custom_objects``."""
    custom_objects = custom_objects or {}
    stack = [(config, "config")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            cls = node.get("class_name")
            if cls == "__lambda__" or (cls == "function" and node.get("module") == "builtins"
                                       and node.get("config") == "<lambda>"):
                raise ModelFileError(path, f"{where} holds serialized Python code (a lambda); tapeflow never runs "
                                           "code from a file: rebuild the model in code and load only its weights, "
                                           "or replace the lambda with a registered function")
            for k, v in node.items():
                stack.append((v, f"{where}.{k}"))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, f"{where}[{i}]"))
        elif node == "<lambda>":
            if safe_mode:
                raise ModelFileError(path, f"{where} is a lambda; loading a lambda is refused in safe mode. "
                                           "Pass safe_mode=False and the function in custom_objects={'<lambda>': fn} "
                                           "if you trust this file (its code is never read from the file)")
            if "<lambda>" not in custom_objects:
                raise ModelFileError(path, f"{where} is a lambda whose code is not in the file; pass "
                                           "custom_objects={'<lambda>': fn}")


# -- reading: HDF5 -----------------------------------------------------------------------------
def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a declared extra
        raise ImportError("Saving/loading HDF5 model files needs h5py: pip install 'tapeflow[h5]'") from None
    return h5py


def open_h5(source, path=None, mode: str = "r"):
    """Open an HDF5 file (a path or a file object) for reading, checking the signature, then walk it
    with :func:`check_h5_tree`. ``path`` is the name used in errors."""
    h5py = _h5py()
    path = path if path is not None else source
    if isinstance(source, (str, os.PathLike)):
        head = read_head(source, 8)
    else:
        pos = source.tell()
        head = source.read(8)
        source.seek(pos)
    if head != HDF5_SIGNATURE:
        what = "a zip archive (.keras)" if head.startswith(ZIP_SIGNATURE) else "not an HDF5 file"
        raise ModelFileError(path, f"expected an HDF5 file, but the file is {what} (first bytes {head[:8]!r})")
    try:
        f = h5py.File(source, mode)
    except (OSError, ValueError) as e:
        raise ModelFileError(path, f"is not a readable HDF5 file (truncated or corrupted?): {e}") from None
    try:
        check_h5_tree(f, path)
    except BaseException:
        f.close()
        raise
    return f


_ALLOWED_KINDS = "biuf"


def check_h5_tree(f, path) -> None:
    """Walk every link of an open HDF5 file; refuse anything that is not a plain group or numeric dataset."""
    h5py = _h5py()
    count = 0
    stack = [("", f)]
    while stack:
        prefix, group = stack.pop()
        try:
            names = list(group.keys())
        except (OSError, KeyError, RuntimeError) as e:
            raise ModelFileError(path, f"group '/{prefix}' cannot be listed (corrupted file?): {e}") from None
        for name in names:
            full = f"{prefix}/{name}" if prefix else name
            count += 1
            if count > MAX_H5_OBJECTS:
                raise ModelFileError(path, f"holds more than {MAX_H5_OBJECTS} objects; not a model weights file")
            try:
                link = group.get(name, getlink=True)
            except (OSError, KeyError, RuntimeError) as e:
                raise ModelFileError(path, f"entry '/{full}' cannot be read (corrupted file?): {e}") from None
            if isinstance(link, h5py.ExternalLink):
                raise ModelFileError(path, f"entry '/{full}' is an external link to {link.filename!r}; "
                                           "external links are refused")
            if isinstance(link, h5py.SoftLink):
                raise ModelFileError(path, f"entry '/{full}' is a soft link to {link.path!r}; links are refused")
            try:
                obj = group[name]
            except (OSError, KeyError, RuntimeError) as e:
                raise ModelFileError(path, f"entry '/{full}' cannot be opened (corrupted file?): {e}") from None
            if isinstance(obj, h5py.Group):
                stack.append((full, obj))
            elif isinstance(obj, h5py.Dataset):
                check_dataset(obj, path, full)
            else:
                raise ModelFileError(path, f"entry '/{full}' is a {type(obj).__name__}; only groups and numeric "
                                           "datasets are allowed")


def check_dataset(dset, path, name) -> None:
    """Refuse a dataset with non-numeric dtype, external storage or virtual mapping."""
    dt = dset.dtype
    if dt.kind not in _ALLOWED_KINDS or dt.fields is not None or dt.subdtype is not None or dt.hasobject:
        raise ModelFileError(path, f"dataset '/{name}' has dtype {dt!r}; only plain numeric arrays are allowed "
                                   "(object, string, opaque and compound data are refused)")
    if dset.is_virtual:
        raise ModelFileError(path, f"dataset '/{name}' is a virtual dataset mapping other files; refused")
    if dset.external:
        raise ModelFileError(path, f"dataset '/{name}' keeps its data in external files {dset.external!r}; refused")
    nbytes = int(np.prod(dset.shape, dtype=np.float64) * dt.itemsize) if dset.shape else dt.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise ModelFileError(path, f"dataset '/{name}' declares {nbytes} bytes ({dset.shape}); over the limit")


def read_dataset(dset, path, name, expected_shape=None, expected_dtype=None) -> np.ndarray:
    """Read a (checked) dataset after comparing its shape with ``expected_shape``; float data may be
    stored at another float width (cast), integers as integers; anything else is refused."""
    shape = tuple(dset.shape)
    if expected_shape is not None and shape != tuple(expected_shape):
        raise ModelFileError(path, f"weight '{name}' has shape {shape} in the file but the model expects "
                                   f"{tuple(expected_shape)}; the file does not match this architecture")
    if expected_dtype is not None:
        want = np.dtype(expected_dtype)
        have = dset.dtype
        ok = (have.kind == want.kind) or (want.kind == "f" and have.kind in "iub") or \
             (want.kind in "iu" and have.kind in "iub") or want.kind == "b" and have.kind == "b"
        if not ok:
            raise ModelFileError(path, f"weight '{name}' is stored as {have} but the model variable is {want}")
    try:
        arr = dset[()]
    except (OSError, RuntimeError, ValueError) as e:
        raise ModelFileError(path, f"weight '{name}' cannot be read (truncated or corrupted file?): {e}") from None
    arr = np.asarray(arr)
    if expected_dtype is not None and arr.dtype != np.dtype(expected_dtype):
        arr = arr.astype(expected_dtype)
    return arr


def h5_text_attr(obj, key, path, default=None):
    """A string attribute (``bytes`` or ``str``) of an HDF5 object, or ``default``."""
    try:
        v = obj.attrs.get(key, default)
    except (OSError, RuntimeError, TypeError) as e:
        raise ModelFileError(path, f"attribute {key!r} cannot be read: {e}") from None
    if isinstance(v, (bytes, np.bytes_)):
        v = bytes(v).decode("utf-8", "replace")
    return v


def h5_name_list_attr(obj, key, path) -> list:
    """A list-of-names attribute as Python strings (empty when absent)."""
    try:
        v = obj.attrs.get(key, None)
    except (OSError, RuntimeError, TypeError) as e:
        raise ModelFileError(path, f"attribute {key!r} cannot be read: {e}") from None
    if v is None:
        return []
    arr = np.asarray(v)
    if arr.size == 0:
        return []
    out = []
    for x in arr.reshape(-1).tolist():
        if isinstance(x, bytes):
            x = x.decode("utf-8", "replace")
        if not isinstance(x, str):
            raise ModelFileError(path, f"attribute {key!r} should hold names, found {type(x).__name__}")
        out.append(x)
    return out


__all__ = ["ModelFileError", "atomic_write", "write_bytes_atomic", "open_h5", "check_h5_tree", "read_dataset",
           "parse_json", "check_config_safe", "read_head"]
