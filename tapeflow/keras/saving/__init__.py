"""``keras.saving``: save and load models and weights, safely.

Formats (chosen by the file name, and checked against the file's first bytes when loading):

* ``.keras``: Keras 3's zip (``config.json`` + ``metadata.json`` + ``model.weights.h5``),
* ``.h5`` / ``.hdf5``: the legacy whole-model HDF5 layout,
* ``.weights.h5``: weights (and optimizer state) only, in Keras 3's layout.

Files hold JSON and numeric arrays only: no pickle, no code. Classes come from the registry of known
names (``register_keras_serializable`` / ``custom_objects``); writes are atomic.

>>> import os, tempfile, numpy as np, tapeflow as tf
>>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
>>> p = os.path.join(tempfile.mkdtemp(), "model.keras")
>>> tf.keras.saving.save_model(m, p)
>>> type(tf.keras.saving.load_model(p)).__name__
'Sequential'
"""
from __future__ import annotations

import os

from .._serialization import (CustomObjectScope, custom_object_scope,  # noqa: F401
                              deserialize_keras_object, get_custom_objects, get_registered_name,
                              get_registered_object, register_keras_serializable, serialize_keras_object)
from .safety import HDF5_SIGNATURE, ZIP_SIGNATURE, ModelFileError, read_head


def _kind(filepath: str) -> str:
    p = str(filepath).lower()
    if p.endswith(".weights.h5"):
        return "weights"
    if p.endswith(".keras"):
        return "keras"
    if p.endswith((".h5", ".hdf5")):
        return "h5"
    return ""


def save_model(model, filepath, overwrite: bool = True, zipped=None, include_optimizer: bool = True,
               **kwargs) -> None:
    """Save ``model`` to ``filepath`` (``.keras`` or ``.h5``); atomic: an old file survives a crash."""
    filepath = os.fspath(filepath)
    if kwargs.pop("save_format", None) not in (None, "keras", "h5", "tf"):
        raise ValueError("save_model: save_format must be 'keras' or 'h5'")
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword arguments {sorted(kwargs)}")
    kind = _kind(filepath)
    if kind == "weights":
        raise ValueError(f"save_model: {filepath!r} names a weights file; use model.save_weights() for "
                         "`.weights.h5`, or save the whole model to a `.keras` file")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath}: exists and overwrite=False")
    if kind == "h5":
        from .hdf5 import save_model as save_h5
        save_h5(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)
        return
    if kind != "keras":
        raise ValueError(f"save_model: the filename must end in `.keras` (or `.h5` for the legacy format), "
                         f"got {filepath!r}")
    from .keras_zip import save_model as save_keras
    save_keras(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Load a model saved as ``.keras`` or ``.h5`` (by tapeflow or by Keras 3).

    ``custom_objects`` maps names to your own classes/functions; ``safe_mode=True`` refuses lambdas.
    Errors (a :class:`ModelFileError`, a ``ValueError``) name the file and what is wrong.
    """
    from ..config import _STATE as _config
    if _config["unsafe"]:                      # keras.config.enable_unsafe_deserialization()
        safe_mode = False
    filepath = os.fspath(filepath)
    head = read_head(filepath, 8)
    if head.startswith(ZIP_SIGNATURE):
        from .keras_zip import load_model as load_keras
        return load_keras(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    if head == HDF5_SIGNATURE:
        from .hdf5 import load_model as load_h5
        return load_h5(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    raise ModelFileError(filepath, f"is neither a .keras archive nor an HDF5 file (first bytes {head!r}); "
                                   "it may be truncated, corrupted, or a different format")


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """``model.save_weights``: ``.weights.h5`` in Keras 3's layout."""
    from .weights_h5 import save_weights as _save
    _save(model, filepath, overwrite=overwrite)


def load_weights(model, filepath, skip_mismatch: bool = False) -> None:
    """``model.load_weights``: a ``.weights.h5`` file, a legacy ``.h5``, or the weights of a ``.keras`` file."""
    filepath = os.fspath(filepath)
    head = read_head(filepath, 8)
    if head.startswith(ZIP_SIGNATURE):
        import io

        from .keras_zip import MAX_WEIGHTS_BYTES, WEIGHTS_H5, _read_entry, open_archive
        from .safety import open_h5
        from .weights_h5 import load_weights_group
        zf, names = open_archive(filepath)
        with zf:
            if WEIGHTS_H5 not in names:
                raise ModelFileError(filepath, f"has no {WEIGHTS_H5}")
            data = _read_entry(zf, names[WEIGHTS_H5], filepath, MAX_WEIGHTS_BYTES)
        where = f"{filepath}!{WEIGHTS_H5}"
        with open_h5(io.BytesIO(data), path=where) as f:
            load_weights_group(f, model, where, skip_mismatch=skip_mismatch)
        return
    from .weights_h5 import load_weights as _load
    _load(model, filepath, skip_mismatch=skip_mismatch)


__all__ = ["save_model", "load_model", "save_weights", "load_weights", "ModelFileError",
           "register_keras_serializable", "get_custom_objects", "serialize_keras_object",
           "deserialize_keras_object", "get_registered_name", "get_registered_object"]
