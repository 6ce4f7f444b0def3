"""Model diagnostics: per-layer gradient norms, activation statistics (dead units), histograms.

Arrays first: every function returns NumPy data, so a test or a notebook can use it without
matplotlib. The ``plot_*`` functions draw the same data and need the optional extra
``pip install tapeflow[plots]`` (matplotlib is imported only when a plot is asked for).
"""
from __future__ import annotations

import math

import numpy as np

from ..autodiff.tape import GradientTape
from ..autodiff.tensor import Tensor

VANISHING = 1e-7
EXPLODING = 1e3


def _require_matplotlib():
    try:
        import matplotlib
        matplotlib.use(matplotlib.get_backend())
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("tapeflow's plots need matplotlib, an optional extra: pip install tapeflow[plots]") from e
    return plt


def _leaf_layers(model) -> list:
    out = []
    for layer in model._flatten_layers(include_self=False):
        if type(layer).__name__ == "InputLayer" or layer._direct_layers():
            continue
        out.append(layer)
    return out


def _first_array(out):
    if isinstance(out, Tensor):
        return out._value
    if isinstance(out, (list, tuple)) and out:
        return _first_array(out[0])
    if isinstance(out, dict) and out:
        return _first_array(next(iter(out.values())))
    return None


def capture_activations(model, x, training=False) -> dict:
    """Run ``model(x)`` once and return ``{layer name: output array}`` for every leaf layer.

    >>> import numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="relu", input_shape=(2,))])
    >>> list(tf.debug.diagnostics.capture_activations(m, np.ones((4, 2))))  # doctest: +ELLIPSIS
    ['dense...']
    """
    if not model.built:
        model(x)
    layers = _leaf_layers(model)
    acts: dict = {}

    def wrap(layer):
        inner = layer.call

        def call(*args, **kwargs):
            out = inner(*args, **kwargs)
            arr = _first_array(out)
            if arr is not None:
                acts[layer.name] = arr
            return out
        return call

    for layer in layers:
        layer._signature()  # cache the real signature before the wrapper hides it
        object.__setattr__(layer, "call", wrap(layer))
    try:
        model(x, training=training)
    finally:
        for layer in layers:
            if "call" in layer.__dict__:
                object.__delattr__(layer, "call")
    return {layer.name: acts[layer.name] for layer in layers if layer.name in acts}


def _is_relu_like(layer) -> bool:
    act = getattr(layer, "activation", None)
    name = getattr(act, "__name__", "") if act is not None else ""
    return name in ("relu", "relu6") or type(layer).__name__ == "ReLU"


def activation_stats(model, x, training=False) -> dict:
    """Per layer: ``mean``, ``variance`` and ``dead_fraction`` of its output on batch ``x``.

    A unit (an entry of the last axis) is dead when it outputs exactly zero for every example
    (and every position) of the batch: a dead ReLU gets no gradient and never recovers.

    >>> import numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(2,))])
    >>> s = tf.debug.activation_stats(m, np.ones((8, 2)))
    >>> sorted(next(iter(s.values())))
    ['dead_fraction', 'mean', 'relu', 'variance']
    """
    stats = {}
    layers = {layer.name: layer for layer in _leaf_layers(model)}
    for name, a in capture_activations(model, x, training=training).items():
        if a.dtype.kind != "f" and a.dtype.name != "bfloat16":
            continue
        a64 = np.asarray(a, dtype=np.float64)
        if a64.ndim >= 2:
            dead = float(np.mean(np.all(a64.reshape(-1, a64.shape[-1]) == 0, axis=0)))
        else:
            dead = float(np.all(a64 == 0))
        stats[name] = {"mean": float(a64.mean()) if a64.size else 0.0,
                       "variance": float(a64.var()) if a64.size else 0.0,
                       "dead_fraction": dead, "relu": _is_relu_like(layers.get(name))}
    return stats


def gradient_norms(model, x=None, y=None, loss=None, grads=None, variables=None, loss_scale=None) -> dict:
    """Per-layer L2 norm of the loss gradient: ``{layer name: norm}``.

    Either pass ``grads`` and ``variables`` (as ``train_step`` computes them), or ``x``/``y`` (and
    ``loss``, default the compiled loss) to compute one gradient now. ``loss_scale`` divides the
    norms of loss-scaled gradients.

    >>> import numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    >>> sorted(tf.debug.gradient_norms(m, np.ones((4, 2)), np.zeros((4, 1)), loss="mse"))  # doctest: +ELLIPSIS
    ['dense...']
    """
    if grads is None:
        variables = list(model.trainable_variables)
        with GradientTape() as tape:
            y_pred = model(x, training=True)
            if loss is None:
                total = model.compute_loss(x=x, y=y, y_pred=y_pred)
            else:
                from ..keras import losses as losses_mod
                total = losses_mod.get(loss)(y, y_pred)
        grads = tape.gradient(total, variables)
    sq: dict = {}
    for g, v in zip(grads, variables):
        if g is None:
            continue
        arr = g._value if isinstance(g, Tensor) else np.asarray(g)
        name = getattr(v, "_layer_name", None) or str(getattr(v, "path", "?")).split("/")[0]
        a = arr.reshape(-1)
        val = float(np.dot(a, a)) if a.dtype.kind == "f" and a.dtype.itemsize >= 4 else \
            float(np.sum(np.square(a.astype(np.float64))))
        sq[name] = sq.get(name, 0.0) + val
    scale = 1.0 if not loss_scale else float(loss_scale)
    return {k: math.sqrt(v) / scale if np.isfinite(v) else float("nan") if np.isnan(v) else float("inf")
            for k, v in sq.items()}


def _histogram(a: np.ndarray, bins) -> tuple:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return np.zeros(bins if isinstance(bins, int) else len(bins) - 1, np.int64), np.linspace(0, 1, (
            bins if isinstance(bins, int) else len(bins) - 1) + 1)
    return np.histogram(a, bins=bins)


def weight_histograms(model, bins=30) -> dict:
    """``{weight path: (counts, bin_edges)}`` for every weight of ``model`` (NumPy arrays).

    >>> import tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,))])
    >>> counts, edges = tf.debug.weight_histograms(m, bins=5)[m.weights[0].path]
    >>> int(counts.sum()), len(edges)
    (6, 6)
    """
    out = {}
    for v in model.weights:
        if v._value.dtype.kind == "f" or v._value.dtype.name == "bfloat16":
            out[str(getattr(v, "path", v.name))] = _histogram(v._value, bins)
    return out


def activation_histograms(model, x, bins=30, training=False) -> dict:
    """``{layer name: (counts, bin_edges)}`` of every leaf layer's output on batch ``x``."""
    return {k: _histogram(a, bins) for k, a in capture_activations(model, x, training=training).items()
            if a.dtype.kind == "f" or a.dtype.name == "bfloat16"}


def _plot_hists(hists: dict, title: str, path=None, cols=4):
    plt = _require_matplotlib()
    n = max(1, len(hists))
    cols = min(cols, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, (name, (counts, edges)) in zip(axes.reshape(-1), hists.items()):
        ax.stairs(counts, edges, fill=True)
        ax.set_title(name, fontsize=8)
    for ax in axes.reshape(-1)[len(hists):]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


def plot_weight_histograms(model, bins=30, path=None):
    """Draw ``weight_histograms`` (one panel per weight); saves to ``path`` when given. Needs matplotlib
    (``pip install tapeflow[plots]``). Returns the matplotlib Figure."""
    return _plot_hists(weight_histograms(model, bins), f"weights of {model.name}", path)


def plot_activation_histograms(model, x, bins=30, path=None):
    """Draw ``activation_histograms`` on batch ``x``; needs ``pip install tapeflow[plots]``."""
    return _plot_hists(activation_histograms(model, x, bins), f"activations of {model.name}", path)
