"""Shared plumbing for the ``tapeflow`` command: run directories, atomic files, datasets and models.

Everything here is plain NumPy + tapeflow; nothing imports matplotlib (see ``plots.py``).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import time

import numpy as np

DATASETS = ("fashion_mnist", "mnist", "cifar10")
MODELS = ("mlp", "mlp3", "cnn", "lstm")

CLASS_NAMES = {
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "mnist": [str(i) for i in range(10)],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}


# -- files --------------------------------------------------------------------------------------
def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); atomic_write_bytes(p, b"hi"); open(p).read()
    'hi'
    """
    from ..keras.saving.safety import write_bytes_atomic  # late: ``tapeflow --help`` imports this module
    write_bytes_atomic(path, data)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else str(v)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if hasattr(obj, "numpy"):
        return _jsonable(np.asarray(obj.numpy()))
    return obj


def write_json(path: str, obj) -> None:
    """Write ``obj`` as indented JSON (NumPy scalars/arrays converted; non-finite floats as strings)."""
    atomic_write_bytes(path, (json.dumps(_jsonable(obj), indent=2) + "\n").encode())


def write_table(run_dir: str, name: str, rows: list) -> tuple:
    """Write ``rows`` (a list of flat dicts) as ``<name>.csv`` and ``<name>.json`` in ``run_dir``.

    Returns the two paths. Columns are the union of the rows' keys, in first-seen order.
    """
    cols: list = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt_cell(r.get(k, "")) for k in cols})
    csv_path, json_path = os.path.join(run_dir, name + ".csv"), os.path.join(run_dir, name + ".json")
    atomic_write_bytes(csv_path, buf.getvalue().encode())
    write_json(json_path, rows)
    return csv_path, json_path


def _fmt_cell(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return v


def format_table(rows: list, cols: list | None = None) -> str:
    """A fixed-width text table of ``rows`` for the terminal.

    >>> print(format_table([{"a": 1, "b": 0.5}]))
    a  b
    1  0.5
    """
    if not rows:
        return "(no rows)"
    cols = cols or list(dict.fromkeys(k for r in rows for k in r))
    cells = [[str(c) for c in cols]]
    for r in rows:
        cells.append([str(_fmt_short(r.get(c, ""))) for c in cols])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def _fmt_short(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return v


def make_run_dir(out: str | None, tag: str, root: str = "runs") -> str:
    """Create and return the run directory: ``out`` if given, else ``runs/<timestamp>-<tag>`` (made unique)."""
    if out:
        os.makedirs(out, exist_ok=True)
        return out
    base = os.path.join(root, time.strftime("%Y%m%d-%H%M%S") + f"-{tag}")
    path, i = base, 1
    while os.path.exists(path):
        i += 1
        path = f"{base}-{i}"
    os.makedirs(path)
    return path


# -- data ---------------------------------------------------------------------------------------
def load_dataset(name: str, limit: int = 0, test_limit: int = 0, data_dir: str | None = None):
    """``(x_train, y_train), (x_test, y_test)``: images as uint8 ``(N, H, W, C)``, labels as int64 ``(N,)``.

    ``limit`` / ``test_limit`` keep only the first N examples (0: all).
    """
    from ..keras import datasets
    if name not in DATASETS:
        raise ValueError(f"--dataset: unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    mod = getattr(datasets, name)
    (x, y), (xt, yt) = mod.load_data(path=data_dir) if data_dir else mod.load_data()
    if x.ndim == 3:
        x, xt = x[..., None], xt[..., None]
    y, yt = np.asarray(y).reshape(-1).astype(np.int64), np.asarray(yt).reshape(-1).astype(np.int64)
    if limit:
        x, y = x[:limit], y[:limit]
    if test_limit:
        xt, yt = xt[:test_limit], yt[:test_limit]
    return (x, y), (xt, yt)


def to_model_input(images: np.ndarray, input_shape) -> np.ndarray:
    """Scale images to float32 in [0, 1] (uint8 input is divided by 255) and reshape to ``input_shape``.

    ``input_shape`` is the model's input shape without the batch axis: ``(784,)`` for an MLP,
    ``(28, 28, 1)`` for a CNN, ``(28, 28)`` for an LSTM reading rows as time steps.

    >>> to_model_input(np.full((2, 2, 2, 1), 255, np.uint8), (4,)).tolist()
    [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """
    x = np.asarray(images)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    shape = tuple(int(d) for d in input_shape)
    per = int(np.prod(shape))
    if x.size % per or (x.ndim and x.shape[0] * per != x.size):
        raise ValueError(f"images of shape {x.shape} do not fit the model's input shape {shape} "
                         f"({per} values per image)")
    return x.reshape((-1,) + shape)


def input_shape_for(model_name: str, image_shape: tuple) -> tuple:
    """The model input shape for images of ``image_shape`` (H, W, C)."""
    h, w, c = image_shape
    if model_name in ("mlp", "mlp3"):
        return (h * w * c,)
    if model_name == "cnn":
        return (h, w, c)
    if model_name == "lstm":
        return (h, w * c)
    raise ValueError(f"--model: unknown model {model_name!r}; choose one of {', '.join(MODELS)}")


# -- models -------------------------------------------------------------------------------------
def hidden_activation(name: str):
    """A Dense ``activation=`` string, or ``(None, layer factory)`` for the layer-only activations."""
    from .. import keras
    if name == "leaky_relu":
        return None, lambda: keras.layers.LeakyReLU(negative_slope=0.01)
    if name == "prelu":
        return None, lambda: keras.layers.PReLU()
    keras.activations.get(name)  # raises with the allowed names when unknown
    return name, None


def build_model(model_name: str, input_shape: tuple, num_classes: int = 10, activation: str = "relu",
                l2: float = 0.0, dropout: float = 0.0, hidden=None, name: str | None = None):
    """Build one of the CLI's models (uncompiled), ending in a softmax over ``num_classes``.

    ``mlp``: one hidden Dense(128); ``mlp3``: the spec's 3-layer MLP Dense 256-128-10 (``hidden`` overrides
    the sizes); ``cnn``: two Conv2D(3x3)+MaxPooling2D blocks then Dense(128); ``lstm``: LSTM(128) over rows.
    """
    from .. import keras
    L = keras.layers
    reg = keras.regularizers.L2(l2) if l2 else None
    act, act_layer = hidden_activation(activation)

    def dense(units):
        out = [L.Dense(units, activation=act, kernel_regularizer=reg)]
        if act_layer is not None:
            out.append(act_layer())
        if dropout:
            out.append(L.Dropout(dropout))
        return out

    layers = [keras.Input(shape=tuple(input_shape))]
    if model_name in ("mlp", "mlp3"):
        sizes = hidden or ([128] if model_name == "mlp" else [256, 128])
        for h in sizes:
            layers += dense(int(h))
    elif model_name == "cnn":
        for filters in (32, 64):
            layers.append(L.Conv2D(filters, 3, activation=act, padding="same", kernel_regularizer=reg))
            if act_layer is not None:
                layers.append(act_layer())
            layers.append(L.MaxPooling2D(2))
        layers.append(L.Flatten())
        layers += dense(128)
    elif model_name == "lstm":
        layers.append(L.LSTM(128, kernel_regularizer=reg))
        if dropout:
            layers.append(L.Dropout(dropout))
    else:
        raise ValueError(f"--model: unknown model {model_name!r}; choose one of {', '.join(MODELS)}")
    layers.append(L.Dense(num_classes, activation="softmax", kernel_regularizer=reg))
    return keras.Sequential(layers, name=name or model_name)


def make_schedule(kind: str, lr: float, total_steps: int, steps_per_epoch: int):
    """A learning-rate schedule for ``--schedule`` (``none`` returns the float ``lr``)."""
    from ..keras.optimizers import schedules as S
    from ..keras.optimizers import schedules_extra as SE
    total_steps = max(1, int(total_steps))
    if kind == "none":
        return lr
    if kind == "exponential":
        return S.ExponentialDecay(lr, decay_steps=max(1, steps_per_epoch), decay_rate=0.7)
    if kind == "cosine":
        return S.CosineDecay(lr, decay_steps=total_steps)
    if kind == "step":
        return SE.StepDecay(lr, step_size=max(1, total_steps // 3), gamma=0.3)
    if kind == "one-cycle":
        return SE.OneCycle(lr * 10 if lr < 1e-2 else lr, total_steps=total_steps)
    if kind == "cyclical":
        return SE.CyclicalLearningRate(lr / 10, lr * 3, step_size=max(1, total_steps // 4))
    raise ValueError(f"--schedule: unknown schedule {kind!r}")


def make_optimizer(name: str, learning_rate):
    """An optimizer by its Keras name (``sgd`` gets momentum 0.9)."""
    from .. import keras
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    return keras.optimizers.get({"class_name": name, "config": {"learning_rate": learning_rate}})


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of examples of class i predicted as j.

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2).tolist()
    [[1, 0], [1, 1]]
    """
    cm = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def count_params(model) -> int:
    """Total number of weights of ``model``."""
    return int(sum(int(np.prod(v.shape)) for v in model.weights))
