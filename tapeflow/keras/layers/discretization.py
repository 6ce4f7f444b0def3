"""``Discretization``: bucket continuous values by bin boundaries, as ``keras.layers.Discretization``.

A value ``x`` goes to bucket ``i`` with ``boundaries[i-1] <= x < boundaries[i]`` (``np.digitize``), so
``k`` boundaries make ``k + 1`` buckets; ``output_mode`` ``one_hot``/``multi_hot``/``count`` encodes the
bucket indices as ``CategoryEncoding`` does. ``adapt`` estimates ``num_bins`` quantiles the way Keras 3
does, so both give the same boundaries: each batch is sorted and thinned to about ``1 / epsilon``
weighted points, batches are merged by a weighted sort, and a summary longer than ``1 / epsilon`` is
re-sampled at the cumulative-weight fractions ``epsilon, 2 epsilon, ..., 1`` by linear interpolation;
the boundaries are the summary re-sampled at ``1 / num_bins`` steps, without its last point.

>>> import numpy as np, tapeflow as tf
>>> layer = tf.keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
>>> layer(np.array([[-1.5, 1.0, 3.4, 0.5]])).numpy().tolist()
[[0, 2, 3, 1]]
>>> layer = tf.keras.layers.Discretization(num_bins=4, epsilon=0.01)
>>> layer.adapt(np.arange(100, dtype="float32"))
>>> [round(b, 3) for b in layer.bin_boundaries]
[24.0, 49.0, 74.0]
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from ._adapt import adapt_batches
from .base import Layer
from .lookup import CategoryEncoding, _array

__all__ = ["Discretization"]


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """(2, m): every ``step``-th sorted value and its weight ``step`` (all values, weight 1, when few)."""
    values = np.sort(values.reshape(-1))
    step = max(values.size / (1.0 / epsilon), 1)   # Keras's arithmetic, to the last bit
    points = values[int(step - 1)::int(step)]
    return np.stack([points, np.full(points.shape, step, dtype=points.dtype)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Re-sample a summary longer than ``1 / epsilon`` at cumulative-weight fractions epsilon, ..., 1."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    at = cumulative / cumulative[-1]
    points = np.interp(fractions, at, summary[0])
    cumulative = np.interp(fractions, at, cumulative)
    return np.stack([points, np.diff(cumulative, prepend=0.0)]).astype(np.float32)


class Discretization(Layer):
    """Bucket values by ``bin_boundaries`` (given, or from ``adapt`` with ``num_bins``); see the module."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 **kwargs):
        super().__init__(**kwargs)
        who = f"Discretization '{self.name}'"
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"{who}: output_mode must be 'int', 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        if sparse:
            raise ValueError(f"{who}: sparse=True is not supported (tapeflow has no sparse tensors)")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"{who}: num_bins must be >= 0, got {num_bins}")
        if (num_bins is None) == (bin_boundaries is None):
            raise ValueError(f"{who}: set exactly one of num_bins (then call adapt) and bin_boundaries, got "
                             f"num_bins={num_bins!r}, bin_boundaries={bin_boundaries!r}")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins, self.epsilon, self.output_mode, self.sparse = num_bins, float(epsilon), output_mode, False
        self._summary = np.zeros((2, 0), dtype=np.float32)

    def adapt(self, data, batch_size=None, steps=None):
        """Estimate ``num_bins`` quantile boundaries from an array, a Tensor, a Dataset or an iterable of batches."""
        if self.num_bins is None:
            raise ValueError(f"Discretization '{self.name}': built with bin_boundaries; adapt needs num_bins")
        summary = np.zeros((2, 0), dtype=np.float32)
        for b in adapt_batches(data, batch_size, steps, iterables=True):  # Keras reads a list as batches
            merged = np.concatenate([_summarize(_array(b).astype(np.float32), self.epsilon), summary], axis=1)
            summary = _compress(merged[:, np.argsort(merged[0])], self.epsilon)
        self._summary = summary
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization '{self.name}': call adapt(data) first, or pass bin_boundaries")
        idx = np.digitize(_array(inputs), np.asarray(self.bin_boundaries)).astype(np.int64)
        if self.output_mode == "int":
            return Tensor._wrap(idx)
        return CategoryEncoding(len(self.bin_boundaries) + 1, output_mode=self.output_mode)(idx)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return CategoryEncoding(1 if self.bin_boundaries is None else len(self.bin_boundaries) + 1,
                                output_mode=self.output_mode).compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                       "output_mode": self.output_mode, "sparse": False})
        config.pop("trainable", None)  # Keras's Discretization takes no trainable= (it would refuse the config)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            config["num_bins"] = None  # an adapted layer: its boundaries are what it computes with
        return cls(**config)
