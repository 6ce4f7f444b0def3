"""The ``.keras`` format (Keras 3): a zip of ``metadata.json``, ``config.json`` and ``model.weights.h5``.

``config.json`` is the model's serialized config plus ``compile_config`` (optimizer, loss, metrics);
``model.weights.h5`` is the Keras 3 weights layout (see ``weights_h5``), optimizer state included.
Files written here load in Keras 3, and Keras 3's files load here.

Reading is guarded: the zip's entries are size-checked (no zip bombs, no oversized config), CRCs are
verified, the config is checked for code (lambdas) before anything is built, classes come only from the
registry of known names, and every weight's shape is compared with the model before it is assigned.

>>> import os, tempfile, numpy as np, tapeflow as tf
>>> m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
>>> p = os.path.join(tempfile.mkdtemp(), "m.keras")
>>> m.save(p)
>>> m2 = tf.keras.models.load_model(p)
>>> bool(np.array_equal(m.predict(np.ones((1, 3)), verbose=0), m2.predict(np.ones((1, 3)), verbose=0)))
True
"""
from __future__ import annotations

import datetime
import io
import json
import warnings
import zipfile

import numpy as np

from .safety import (MAX_JSON_BYTES, ZIP_SIGNATURE, ModelFileError, atomic_write, check_config_safe, open_h5,
                     parse_json, read_head)

KERAS_VERSION = "3.15.1"  # the Keras file layout written (and the API version tapeflow follows)
CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_H5 = "model.weights.h5"
WEIGHTS_NPZ = "model.weights.npz"
MAX_WEIGHTS_BYTES = 32 << 30
MAX_RATIO = 200  # uncompressed/compressed size above which an entry is treated as a zip bomb


def _tapeflow_version() -> str:
    try:
        from importlib.metadata import version
        return version("tapeflow")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "0.1.0"


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


# -- configs -----------------------------------------------------------------------------------
def _serialize_loss_like(obj, kind):
    from .. import losses as L
    from .. import metrics as M
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        return {k: _serialize_loss_like(v, kind) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_serialize_loss_like(v, kind) for v in obj]
    if isinstance(obj, L.Loss):
        return L.serialize(obj)
    if isinstance(obj, M.Metric):
        out = M.serialize(obj)
        if "_user_name" in obj.__dict__:  # compile named it "<output>_auc" for the logs; the user named it "auc"
            out["config"]["name"] = obj.__dict__["_user_name"]
        return out
    name = getattr(obj, "__name__", None)
    if name and name != "<lambda>":
        return name
    raise ValueError(f"Cannot save {kind} {obj!r}: only built-in or registered {kind}es can be saved")


def compile_config(model):
    """Keras 3's ``compile_config`` for a compiled model (None when not compiled)."""
    if not getattr(model, "_is_compiled", False):
        return None
    from .. import optimizers
    raw = getattr(model, "_compile_config", {}) or {}
    return {"optimizer": optimizers.serialize(model.optimizer),
            "loss": _serialize_loss_like(raw.get("loss", model.loss), "loss"),
            "loss_weights": _serialize_loss_like(raw.get("loss_weights"), "loss weight"),
            "metrics": _serialize_loss_like(raw.get("metrics"), "metric"),
            "weighted_metrics": _serialize_loss_like(raw.get("weighted_metrics"), "metric"),
            "run_eagerly": bool(getattr(model, "_run_eagerly", False)), "steps_per_execution": 1,
            "jit_compile": False}


def model_config(model, include_compile: bool = True) -> dict:
    from ..layers import serialize
    cfg = serialize(model)
    if getattr(model, "built", False) and "build_config" not in cfg:
        shape = getattr(model, "_build_input_shape", None)
        if shape is None and model.__dict__.get("_self_graph") is None:
            shape = getattr(model, "_batch_input_shape", None)
        if shape is not None:
            cfg["build_config"] = {"input_shape": json.loads(json.dumps(shape, default=_json_default))}
    if include_compile:
        cc = compile_config(model)
        if cc is not None:
            cfg["compile_config"] = cc
    return cfg


def build_model(config, path, custom_objects=None, safe_mode: bool = True, old_tapeflow: bool = False):
    """Rebuild a model from a config read from ``path``: code is refused; classes by known names only.
    ``old_tapeflow``: a file tapeflow wrote before it numbered nested models' nodes as Keras 3 does."""
    from ..layers import deserialize
    from ..models import functional
    check_config_safe(config, path, safe_mode=safe_mode, custom_objects=custom_objects)
    cfg = {k: v for k, v in config.items() if k != "compile_config"}
    objs = dict(custom_objects or {})
    functional.LEGACY_ARG_OFFSET[0] = old_tapeflow
    try:
        model = deserialize(cfg, custom_objects=objs or None)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError) as e:
        raise ModelFileError(path, f"its model config cannot be rebuilt: {e}") from e
    finally:
        functional.LEGACY_ARG_OFFSET[0] = False
    if not getattr(model, "_is_layer", False):
        raise ModelFileError(path, f"its config describes a {type(model).__name__}, not a model")
    _build_subclassed(model, config.get("build_config"), path)
    return model


def _build_subclassed(model, build_config, path) -> None:
    """A subclassed model creates its weights by running ``call``: do that once on zeros of the saved shape."""
    if model.__dict__.get("_self_graph") is not None or "_seq_layers" in model.__dict__:
        return
    shape = (build_config or {}).get("input_shape") if isinstance(build_config, dict) else None
    if shape is None or all(layer.built for layer in model._flatten_layers(include_self=False)):
        return
    try:
        object.__setattr__(model, "built", False)
        model.build(tuple(shape) if isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape)
                    else shape)
    except (ValueError, TypeError) as e:
        raise ModelFileError(path, f"the subclassed model '{model.name}' could not be built from its saved input "
                                   f"shape {shape}: {e}") from e


def compile_from_config(model, cc, path, custom_objects=None) -> None:
    """``model.compile`` from a saved ``compile_config`` (optimizer, loss, metrics)."""
    from .. import losses as L
    from .. import metrics as M
    from .. import optimizers
    if not isinstance(cc, dict):
        raise ModelFileError(path, f"compile_config should be a JSON object, got {type(cc).__name__}")
    from ..trainer import Trainer
    own = getattr(type(model), "compile_from_config", None)
    if own is not None and own is not Trainer.compile_from_config:
        model.compile_from_config(cc)  # a model that says how to compile itself from its saved config
        return
    if type(model).compile is not Trainer.compile:  # as Keras: a custom compile() is not guessed at
        warnings.warn(f"{path}: compile() was not called as part of model loading because the model's compile() "
                      "method is custom; override get_compile_config() and compile_from_config(config) in the "
                      "model class, or call compile() after loading.", stacklevel=3)
        return

    def loss_of(c):
        if isinstance(c, dict) and "class_name" not in c:
            return {k: loss_of(v) for k, v in c.items()}
        if isinstance(c, list):
            return [loss_of(v) for v in c]
        return None if c is None else L.deserialize(c, custom_objects=custom_objects)

    def metric_of(c):
        if isinstance(c, dict) and "class_name" not in c:
            return {k: metric_of(v) for k, v in c.items()}
        if isinstance(c, list):
            return [metric_of(v) for v in c]
        if c is None or isinstance(c, str):
            return c
        return M.deserialize(c, custom_objects=custom_objects)
    try:
        opt = optimizers.deserialize(cc["optimizer"], custom_objects=custom_objects) \
            if cc.get("optimizer") is not None else "rmsprop"
        model.compile(optimizer=opt, loss=loss_of(cc.get("loss")), loss_weights=cc.get("loss_weights"),
                      metrics=metric_of(cc.get("metrics")), weighted_metrics=metric_of(cc.get("weighted_metrics")))
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError) as e:
        raise ModelFileError(path, f"its compile_config cannot be restored ({e}); load with compile=False "
                                   "to get the model without it") from e


# -- save --------------------------------------------------------------------------------------
def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` to a ``.keras`` zip atomically (temp file in the same folder, fsync, rename)."""
    import h5py

    from .weights_h5 import write_weights_group
    config = model_config(model)
    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "tapeflow_version": _tapeflow_version(), "tapeflow_format": 2}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_weights_group(f, model, include_optimizer=include_optimizer)
    with atomic_write(filepath, overwrite=overwrite) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(METADATA_FILE, json.dumps(metadata))
            zf.writestr(CONFIG_FILE, json.dumps(config, default=_json_default))
            zf.writestr(WEIGHTS_H5, buf.getvalue())


# -- load --------------------------------------------------------------------------------------
def _read_entry(zf, info, path, limit):
    if info.file_size > limit:
        raise ModelFileError(path, f"entry {info.filename!r} declares {info.file_size} bytes, over the {limit} limit")
    if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_RATIO * max(info.compress_size, 1024):
        raise ModelFileError(path, f"entry {info.filename!r} expands {info.compress_size} -> {info.file_size} bytes; "
                                   "refused as a zip bomb")
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        raise ModelFileError(path, f"entry {info.filename!r} is corrupted or truncated ({e})") from None
    if len(data) != info.file_size:
        raise ModelFileError(path, f"entry {info.filename!r} holds {len(data)} bytes but its header says "
                                   f"{info.file_size}; the archive is inconsistent")
    return data


def open_archive(filepath):
    """``(zipfile, {name: info})`` for a ``.keras`` file, after signature and structure checks."""
    head = read_head(filepath, 4)
    if head != ZIP_SIGNATURE:
        raise ModelFileError(filepath, f"is not a .keras (zip) archive: first bytes {head!r}"
                                       + (" look like HDF5; use a .h5 name" if head == b"\x89HDF" else ""))
    try:
        zf = zipfile.ZipFile(filepath, "r")
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ModelFileError(filepath, f"is a truncated or corrupted zip archive ({e})") from None
    names = {}
    for info in infos:
        if info.filename in names:
            zf.close()
            raise ModelFileError(filepath, f"lists entry {info.filename!r} twice; the archive is inconsistent")
        names[info.filename] = info
    if CONFIG_FILE not in names:
        zf.close()
        raise ModelFileError(filepath, f"has no {CONFIG_FILE}; entries are {sorted(names)[:8]} (not a Keras model file)")
    return zf, names


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Load a ``.keras`` file written by tapeflow or Keras 3."""
    from .weights_h5 import load_weights_group
    filepath = str(filepath)
    zf, names = open_archive(filepath)
    with zf:
        meta = {}
        if METADATA_FILE in names:
            meta = parse_json(_read_entry(zf, names[METADATA_FILE], filepath, 1 << 20), filepath, METADATA_FILE)
        config = parse_json(_read_entry(zf, names[CONFIG_FILE], filepath, MAX_JSON_BYTES), filepath, CONFIG_FILE)
        if "class_name" not in config:
            raise ModelFileError(filepath, f"{CONFIG_FILE} has no 'class_name'; not a Keras model config")
        old_tapeflow = isinstance(meta, dict) and "tapeflow_version" in meta and "tapeflow_format" not in meta
        model = build_model(config, filepath, custom_objects=custom_objects, safe_mode=safe_mode,
                            old_tapeflow=old_tapeflow)
        cc = config.get("compile_config")
        if compile and cc:
            compile_from_config(model, cc, filepath, custom_objects=custom_objects)
        if WEIGHTS_H5 in names:
            data = _read_entry(zf, names[WEIGHTS_H5], filepath, MAX_WEIGHTS_BYTES)
            where = f"{filepath}!{WEIGHTS_H5}"
            with open_h5(io.BytesIO(data), path=where) as f:
                load_weights_group(f, model, where)
        elif WEIGHTS_NPZ in names:
            data = _read_entry(zf, names[WEIGHTS_NPZ], filepath, MAX_WEIGHTS_BYTES)
            try:
                npz = np.load(io.BytesIO(data), allow_pickle=False)
            except (ValueError, OSError, zipfile.BadZipFile) as e:
                raise ModelFileError(filepath, f"{WEIGHTS_NPZ} cannot be read safely ({e})") from None
            _load_npz(model, npz, f"{filepath}!{WEIGHTS_NPZ}")
        else:
            raise ModelFileError(filepath, f"has neither {WEIGHTS_H5} nor {WEIGHTS_NPZ}")
    return model


def _load_npz(model, npz, path):
    """Keras 3's npz weights: arrays keyed ``<path>/vars/<i>``; read with ``allow_pickle=False``."""
    from .weights_h5 import own_variables, walk_saveables
    plan = []
    for p, obj in walk_saveables(model):
        prefix = f"{p}/vars" if p else "vars"
        for i, v in enumerate(own_variables(obj)):
            key = f"{prefix}/{i}"
            if key not in npz.files:
                if getattr(obj, "_is_layer", False):
                    raise ModelFileError(path, f"has no array {key!r} for '{obj.name}'")
                break
            try:
                a = npz[key]
            except (ValueError, OSError, zipfile.BadZipFile) as e:
                raise ModelFileError(path, f"array {key!r} cannot be read safely ({e})") from None
            if a.dtype.kind not in "biuf" or tuple(a.shape) != tuple(v.shape):
                raise ModelFileError(path, f"array {key!r} has {a.dtype} {a.shape}; expected {tuple(v.shape)}")
            plan.append((v, a))
    for v, a in plan:
        v._value[...] = a


__all__ = ["save_model", "load_model", "model_config", "compile_config", "build_model", "compile_from_config"]
