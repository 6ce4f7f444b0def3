"""``tf.train`` checkpoints for custom training loops: ``Checkpoint``, ``CheckpointManager``,
``latest_checkpoint``, ``list_variables``, ``load_variable``, ``load_checkpoint``.

A checkpoint holds the variables reachable from its attributes (``tf.Variable``, Keras layers and models, Keras
optimizers, ``tf.Module``, nested ``Checkpoint``, lists and dicts of those), each keyed by its object-graph path
(attribute names, list indices, dict keys, then a layer's ``weights`` / an optimizer's ``variables`` order), so a
checkpoint written by one program restores into a freshly built copy of the same objects in another. Values meant
for optimizer slots that do not exist yet are kept and assigned when the optimizer builds them (as TF defers).

The file is a zip archive holding ``checkpoint.json`` (keys, shapes, dtypes) and one ``.npy`` entry per variable,
read back with ``allow_pickle=False``; it is written to a temporary name and renamed into place. Next to it,
TensorFlow's text ``checkpoint`` state file names the latest one.

>>> import tempfile
>>> import tapeflow as tf
>>> v = tf.Variable([1.0, 2.0])
>>> ckpt = tf.train.Checkpoint(v=v)
>>> manager = tf.train.CheckpointManager(ckpt, tempfile.mkdtemp(), max_to_keep=2)
>>> path = manager.save()
>>> _ = v.assign([0.0, 0.0])
>>> ckpt.restore(manager.latest_checkpoint).assert_consumed() is not None
True
>>> v.numpy().tolist(), path.endswith("ckpt-1")
([1.0, 2.0], True)
"""
from __future__ import annotations

import io
import json
import os
import re
import time
import types
import zipfile

import numpy as np

from .autodiff.tensor import Variable
from .errors import DataLossError, NotFoundError
from .framework import Module

__all__ = ["Checkpoint", "CheckpointManager", "CheckpointOptions", "CheckpointReader", "latest_checkpoint",
           "list_variables", "load_checkpoint", "load_variable", "get_checkpoint_state"]

_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_META = "checkpoint.json"
_FORMAT = "tapeflow-checkpoint"


class CheckpointOptions:
    """``tf.train.CheckpointOptions``: accepted for compatibility; every option is ignored."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


# -- the object graph -----------------------------------------------------------------------------------------
def _is_layer(obj) -> bool:
    return hasattr(obj, "weights") and hasattr(obj, "trainable_weights") and hasattr(obj, "built")


def _is_optimizer(obj) -> bool:
    return hasattr(obj, "apply_gradients") and hasattr(obj, "variables") and not _is_layer(obj)


def _is_trackable(obj) -> bool:
    return isinstance(obj, (Variable, Module, Checkpoint, list, tuple, dict)) or _is_layer(obj) or _is_optimizer(obj)


class _Graph:
    """The variables reachable from a root: ``variables`` {key: Variable}, unbuilt layers and unbuilt
    optimizers {key prefix: object}."""

    def __init__(self):
        self.variables: dict = {}
        self.unbuilt_layers: dict = {}
        self.optimizers: dict = {}
        self._seen: set = set()

    def walk(self, obj, prefix: str) -> None:
        join = (lambda k: f"{prefix}/{k}") if prefix else (lambda k: str(k))
        if isinstance(obj, Variable):
            self.variables.setdefault(prefix, obj)
            return
        if id(obj) in self._seen:   # an object reached twice is saved under its first path, as TF does
            return
        self._seen.add(id(obj))
        if isinstance(obj, Checkpoint):
            for name, child in obj._children.items():
                self.walk(child, join(name))
        elif isinstance(obj, dict):
            for k, child in obj.items():
                self.walk(child, join(k))
        elif isinstance(obj, (list, tuple)):
            for i, child in enumerate(obj):
                self.walk(child, join(i))
        elif _is_layer(obj):
            weights = list(obj.weights)
            if not obj.built or not weights:
                self.unbuilt_layers[join("weights")] = obj
            for i, w in enumerate(weights):
                self.walk(w, join(f"weights/{i}"))
        elif _is_optimizer(obj):
            self.optimizers[join("variables")] = obj
            for i, v in enumerate(obj.variables):
                self.walk(v, join(f"variables/{i}"))
        elif isinstance(obj, Module):
            for name, child in sorted(vars(obj).items()):
                if not name.startswith("_Module__") and _is_trackable(child):
                    self.walk(child, join(name))


def _strip(name: str) -> str:
    name = name[:-len(_SUFFIX)] if name.endswith(_SUFFIX) else name
    return name[:-2] if name.endswith(":0") else name


# -- the file ------------------------------------------------------------------------------------------------
def _atomic_write_bytes(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_file(path: str, variables: dict) -> None:
    buf = io.BytesIO()
    meta = {"format": _FORMAT, "version": 1, "variables": {}}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i, (key, var) in enumerate(variables.items()):
            arr = np.asarray(var._value, order="C")
            entry = f"arrays/{i}.npy"
            with zf.open(entry, "w") as f:
                np.save(f, arr, allow_pickle=False)
            meta["variables"][key + _SUFFIX] = {"entry": entry, "shape": list(arr.shape), "dtype": arr.dtype.str,
                                                "name": str(getattr(var, "path", None) or var.name)}
        zf.writestr(_META, json.dumps(meta, indent=1))
    _atomic_write_bytes(path, buf.getvalue())


class CheckpointReader:
    """Reads a checkpoint file (``tf.train.load_checkpoint``): ``get_variable_to_shape_map()``,
    ``get_variable_to_dtype_map()``, ``has_tensor(name)``, ``get_tensor(name)``."""

    def __init__(self, path: str):
        self.path = str(path)
        if not os.path.isfile(self.path):
            raise NotFoundError(None, None, f"Checkpoint file {self.path!r} not found (a checkpoint path is the "
                                            "prefix returned by save(), e.g. 'dir/ckpt-3').")
        try:
            with zipfile.ZipFile(self.path) as zf:
                meta = json.loads(zf.read(_META))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
            raise DataLossError(None, None, f"{self.path!r} is not a tapeflow checkpoint ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise DataLossError(None, None, f"{self.path!r} is not a tapeflow checkpoint (format "
                                            f"{meta.get('format') if isinstance(meta, dict) else None!r})")
        self._meta = meta["variables"]

    def _entry(self, name: str) -> dict:
        key = _strip(name) + _SUFFIX
        if key not in self._meta:
            raise NotFoundError(None, None, f"Key {name!r} not found in checkpoint {self.path!r}; it holds: "
                                            f"{sorted(self._meta)}")
        return self._meta[key]

    def get_variable_to_shape_map(self) -> dict:
        return {k: list(m["shape"]) for k, m in self._meta.items()}

    def get_variable_to_dtype_map(self) -> dict:
        return {k: np.dtype(m["dtype"]) for k, m in self._meta.items()}

    def has_tensor(self, name: str) -> bool:
        return _strip(name) + _SUFFIX in self._meta

    def get_tensor(self, name: str) -> np.ndarray:
        with zipfile.ZipFile(self.path) as zf:
            return self._load(zf, name, self._entry(name))

    def _load(self, zf, key: str, m: dict) -> np.ndarray:
        try:
            with zf.open(m["entry"]) as f:
                arr = np.load(io.BytesIO(f.read()), allow_pickle=False)
        except (KeyError, ValueError, OSError) as e:
            raise DataLossError(None, None, f"{self.path!r}: entry {key!r} cannot be read ({e})") from None
        if list(arr.shape) != list(m["shape"]) or arr.dtype.str != m["dtype"]:
            raise DataLossError(None, None, f"{self.path!r}: entry {key!r} has shape {arr.shape} / dtype "
                                            f"{arr.dtype}, the index says {tuple(m['shape'])} / {m['dtype']}")
        return arr

    def _read_all(self) -> dict:
        """{key without suffix: array}, every entry."""
        with zipfile.ZipFile(self.path) as zf:
            return {_strip(key): self._load(zf, key, m) for key, m in self._meta.items()}


def _resolve(ckpt_dir_or_file) -> str:
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {path!r}")
        return latest
    return path


def load_checkpoint(ckpt_dir_or_file) -> CheckpointReader:
    """A ``CheckpointReader`` for a checkpoint path, or for the latest checkpoint of a directory."""
    return CheckpointReader(_resolve(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file) -> list:
    """``[(name, shape), ...]`` of every variable in a checkpoint, sorted by name."""
    return sorted(load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file, name: str) -> np.ndarray:
    """The value of variable ``name`` (the ``/.ATTRIBUTES/VARIABLE_VALUE`` suffix may be left out)."""
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)


# -- the state file -----------------------------------------------------------------------------------------
def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The state file of ``checkpoint_dir`` (``model_checkpoint_path``, ``all_model_checkpoint_paths``, made
    absolute; ``all_model_checkpoint_timestamps``, ``last_preserved_timestamp``), or None without one."""
    checkpoint_dir = os.fspath(checkpoint_dir)
    path = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.isfile(path):
        return None
    fields: dict = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            m = re.fullmatch(r'(\w+)\s*:\s*("(?:[^"\\]|\\.)*"|[-+0-9.eE]+)', line)
            if m is None:
                raise ValueError(f"{path!r} line {n}: not a checkpoint state line: {line!r}")
            val = re.sub(r"\\(.)", r"\1", m.group(2)[1:-1]) if m.group(2)[0] == '"' else float(m.group(2))
            fields.setdefault(m.group(1), []).append(val)
    if "model_checkpoint_path" not in fields:
        return None

    def absolute(p):
        return p if os.path.isabs(p) else os.path.join(checkpoint_dir, p)
    return types.SimpleNamespace(
        model_checkpoint_path=absolute(fields["model_checkpoint_path"][-1]),
        all_model_checkpoint_paths=[absolute(p) for p in fields.get("all_model_checkpoint_paths", [])],
        all_model_checkpoint_timestamps=fields.get("all_model_checkpoint_timestamps", []),
        last_preserved_timestamp=(fields.get("last_preserved_timestamp") or [0.0])[-1])


def _write_state(directory: str, latest: str, paths, timestamps=None, last_preserved=None) -> None:
    def rel(p):
        return os.path.relpath(p, directory) if os.path.dirname(os.path.abspath(p)) == os.path.abspath(directory) \
            else p
    lines = [f"model_checkpoint_path: {_quote(rel(latest))}"]
    lines += [f"all_model_checkpoint_paths: {_quote(rel(p))}" for p in paths]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in timestamps or ()]
    if last_preserved is not None:
        lines.append(f"last_preserved_timestamp: {last_preserved!r}")
    _atomic_write_bytes(os.path.join(directory, "checkpoint"), ("\n".join(lines) + "\n").encode("utf-8"))


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The path of the newest checkpoint named by ``checkpoint_dir``'s state file, or None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not os.path.isfile(state.model_checkpoint_path):
        return None
    return state.model_checkpoint_path


# -- restoring ----------------------------------------------------------------------------------------------
def _unbuilt_layer_error(path: str, key: str, layer) -> ValueError:
    return ValueError(f"Checkpoint {path!r} holds weights for {key.rsplit('/weights', 1)[0] or 'the root'!r} "
                      f"(Keras {type(layer).__name__} {getattr(layer, 'name', '')!r}), which is not built yet: "
                      "build it first (model.build(input_shape) or call it on a batch of data), then restore.")


def _check(path: str, key: str, var, arr: np.ndarray) -> None:
    if tuple(var.shape) != arr.shape:
        raise ValueError(f"Checkpoint {path!r}: variable {key!r} ({getattr(var, 'path', var.name)!r}) has shape "
                         f"{tuple(var.shape)} in the program but {arr.shape} in the checkpoint.")
    if var.dtype != arr.dtype and not np.can_cast(arr.dtype, var.dtype, "same_kind"):
        raise ValueError(f"Checkpoint {path!r}: variable {key!r} ({getattr(var, 'path', var.name)!r}) has dtype "
                         f"{var.dtype} in the program but {arr.dtype} in the checkpoint.")


class _DeferredSlots:
    """Values for optimizer variables that did not exist at restore time; assigned once the optimizer builds."""

    def __init__(self, path: str, prefix: str, values: dict, status):
        self.path, self.prefix, self.values, self.status = path, prefix, values, status

    def __call__(self, optimizer) -> None:
        variables = optimizer.variables
        done = {}
        for i, arr in self.values.items():
            if i < len(variables):
                _check(self.path, f"{self.prefix}/{i}", variables[i], arr)
                done[i] = arr
        for i, arr in done.items():
            variables[i].assign(arr.astype(variables[i].dtype, copy=False))
            self.status._matched.add(f"{self.prefix}/{i}")
            self.status._pending.discard(f"{self.prefix}/{i}")
        optimizer._restore_pending = None


class CheckpointLoadStatus:
    """What a ``restore`` matched: ``assert_consumed()``, ``assert_existing_objects_matched()``,
    ``assert_nontrivial_match()``, ``expect_partial()``; the assertions raise ``AssertionError`` naming
    what did not match."""

    def __init__(self, path, saved_keys, program_keys, matched, pending):
        self.save_path = path
        self._saved, self._program = set(saved_keys), set(program_keys)
        self._matched, self._pending = set(matched), set(pending)

    def assert_consumed(self):
        """Every value in the checkpoint was assigned, and every variable of the program got a value."""
        parts = [f"{what}: {keys}" for what, keys in (
            ("values in the checkpoint matched no object", sorted(self._saved - self._matched - self._pending)),
            ("values waiting for objects not created yet (optimizer slots before the first step)",
             sorted(self._pending)),
            ("objects of the program not found in the checkpoint", sorted(self._program - self._matched))) if keys]
        if parts:
            raise AssertionError(f"Checkpoint {self.save_path!r} was not consumed: " + "; ".join(parts))
        return self

    def assert_existing_objects_matched(self):
        """Every variable that exists in the program now got a value (extra checkpoint values are allowed)."""
        missing = sorted(self._program - self._matched)
        if missing:
            raise AssertionError(f"Checkpoint {self.save_path!r}: objects of the program not found in the "
                                 f"checkpoint: {missing}")
        return self

    def assert_nontrivial_match(self):
        """At least one variable besides the save counter was restored."""
        if not self._matched - {"save_counter"}:
            raise AssertionError(f"Checkpoint {self.save_path!r}: nothing except the root object was matched; "
                                 f"the checkpoint holds {sorted(self._saved)}")
        return self

    def expect_partial(self):
        """Silence warnings about unmatched values (there are none in tapeflow); returns ``self``."""
        return self

    def run_restore_ops(self, session=None):
        """A no-op: values are assigned eagerly (also ``initialize_or_restore``)."""

    initialize_or_restore = run_restore_ops


class InitializationOnlyStatus(CheckpointLoadStatus):
    """The status of ``restore(None)``: nothing was restored; the assertions raise."""

    def __init__(self):
        super().__init__(None, (), (), (), ())

    def _raise(self):
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being restored.")

    assert_consumed = assert_existing_objects_matched = assert_nontrivial_match = _raise


def _restore(root, path) -> CheckpointLoadStatus:
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"Checkpoint path {path!r} is a directory; pass a checkpoint prefix such as "
                         "tf.train.latest_checkpoint(directory).")
    values = CheckpointReader(path)._read_all()
    graph = root._graph()
    assign, matched, pending = [], set(), set()
    deferred: dict = {}
    for key, arr in values.items():
        var = graph.variables.get(key)
        if var is not None:
            _check(path, key, var, arr)
            assign.append((var, arr))
            matched.add(key)
            continue
        prefix, _, idx = key.rpartition("/")
        if prefix in graph.unbuilt_layers:
            raise _unbuilt_layer_error(path, key, graph.unbuilt_layers[prefix])
        opt = graph.optimizers.get(prefix)
        if opt is not None and idx.isdigit() and not getattr(opt, "built", True) and \
                hasattr(type(opt), "_restore_pending"):
            deferred.setdefault(prefix, {})[int(idx)] = arr
            pending.add(key)
    for var, arr in assign:
        var.assign(arr.astype(var.dtype, copy=False))
    status = CheckpointLoadStatus(path, values, graph.variables, matched, pending)
    for prefix, vals in deferred.items():
        graph.optimizers[prefix]._restore_pending = _DeferredSlots(path, prefix, vals, status)
    return status


# -- Checkpoint ---------------------------------------------------------------------------------------------
class Checkpoint:
    """``tf.train.Checkpoint``: groups trackable objects (keyword arguments, or attributes set later) and
    saves / restores their variables.

    ``save(prefix)`` writes ``prefix-N`` (N = ``save_counter`` after incrementing it) and updates the
    ``checkpoint`` state file; ``write(path)`` writes exactly ``path``; ``restore(path)`` / ``read(path)``
    assign the saved values and return a status (``restore(None)`` does nothing).
    """

    def __init__(self, root=None, **kwargs):
        object.__setattr__(self, "_children", {})
        object.__setattr__(self, "_root", None)
        if root is not None:
            self._check_trackable("root", root)
            object.__setattr__(self, "_root", root)
        for name, value in kwargs.items():
            setattr(self, name, value)
        object.__setattr__(self, "_save_counter", Variable(np.zeros((), np.int64), trainable=False,
                                                           name="save_counter"))

    @staticmethod
    def _check_trackable(name, value):
        if not _is_trackable(value):
            raise ValueError(f"`Checkpoint` was expecting {name} to be a trackable object (a tf.Variable, Keras "
                             f"layer/model/optimizer, tf.Module, Checkpoint, or a list/dict of those), got "
                             f"{type(value).__name__}: {value!r}")

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        self._check_trackable(name, value)
        if name == "save_counter":
            raise ValueError("`save_counter` is reserved by tf.train.Checkpoint")
        self._children[name] = value

    def __getattr__(self, name):
        try:
            return self.__dict__["_children"][name]
        except KeyError:
            raise AttributeError(f"'Checkpoint' object has no attribute {name!r}") from None

    @property
    def save_counter(self) -> Variable:
        """An int64 ``tf.Variable``: how many times ``save`` was called (saved and restored with the rest)."""
        return self._save_counter

    def _graph(self) -> _Graph:
        graph = _Graph()
        graph._seen.add(id(self))
        if self._root is not None:
            graph.walk(self._root, "")
        for name, child in self._children.items():
            graph.walk(child, name)
        graph.variables.setdefault("save_counter", self._save_counter)
        return graph

    def write(self, file_prefix, options=None) -> str:
        """Write the variables to exactly ``file_prefix`` (no numbering, no state file); returns the path."""
        _write_file(os.fspath(file_prefix), self._graph().variables)
        return os.fspath(file_prefix)

    def save(self, file_prefix, options=None) -> str:
        """Increment ``save_counter``, write ``file_prefix-N`` and record it in the ``checkpoint`` state file."""
        self._save_counter.assign_add(1)
        path = self.write(f"{os.fspath(file_prefix)}-{int(self._save_counter._value)}", options)
        _write_state(os.path.dirname(os.path.abspath(path)), path, [path])
        return path

    def read(self, save_path, options=None) -> CheckpointLoadStatus:
        """Assign the values saved at ``save_path``; returns a ``CheckpointLoadStatus``."""
        if save_path is None:
            return InitializationOnlyStatus()
        return _restore(self, save_path)

    def restore(self, save_path, options=None) -> CheckpointLoadStatus:
        """As ``read``; ``restore(None)`` is a no-op (so ``restore(manager.latest_checkpoint)`` starts fresh)."""
        return self.read(save_path, options)

    def sync(self) -> None:
        """A no-op: saving is synchronous."""


_EXAMPLE_NAMES = ("BytesList", "FloatList", "Int64List", "Feature", "Features", "Example", "FeatureList",
                  "FeatureLists")


def __getattr__(name):  # tf.train.Example's parts, CheckpointManager and the EMA, loaded on first use
    if name in _EXAMPLE_NAMES:
        from . import train_example
        return getattr(train_example, name)
    if name == "CheckpointManager":
        from .train_manager import CheckpointManager
        return CheckpointManager
    if name == "ExponentialMovingAverage":
        from .train_ema import ExponentialMovingAverage
        return ExponentialMovingAverage
    raise AttributeError(f"module 'tapeflow.train' has no attribute {name!r}")
