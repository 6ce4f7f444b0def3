"""Recurrent cells: one time step of SimpleRNN, LSTM and GRU, with Keras 3's weights.

A cell is a layer with ``call(inputs, states, training=None) -> (output, new_states)`` and
``state_size`` / ``output_size``; ``keras.layers.RNN(cell)`` loops it over time. The LSTM, GRU and
SimpleRNN *layers* use the same weights but run the whole sequence in one fused primitive
(``tapeflow.ops.rnn_ops``) when they can.

Weights (Keras layout): ``kernel (input_dim, k*units)``, ``recurrent_kernel (units, k*units)``,
``bias`` with k = 1 (SimpleRNN), 4 (LSTM, gates i, f, c, o) or 3 (GRU, gates z, r, h; bias shape
``(2, 3*units)`` = [input bias; recurrent bias] when ``reset_after=True``).
"""
from __future__ import annotations

import numpy as np

from ...backend import rng
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops.registry import const
from .. import activations, constraints, initializers, regularizers
from .base import Layer

_SER = {"initializer": initializers.serialize, "regularizer": regularizers.serialize,
        "constraint": constraints.serialize}
_GET = {"initializer": initializers.get, "regularizer": regularizers.get, "constraint": constraints.get}


class _Cell(Layer):
    """Shared constructor, weight creation, dropout masks and config of the three cells."""

    _GATES = 1
    _HAS_RECURRENT_ACTIVATION = False

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{type(self).__name__}: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        for part in ("kernel", "recurrent", "bias"):
            for kind in ("initializer", "regularizer", "constraint"):
                value = locals()[f"{part}_{kind}"]
                setattr(self, f"{part}_{kind}", _GET[kind](value))
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            rate = float(rate)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{type(self).__name__}: {name} must be in [0, 1), got {rate}")
            setattr(self, name, rate)
        self.seed = seed
        self._masks = None  # (input dropout mask, recurrent dropout mask) for the current sequence

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return (self._GATES * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}": the feature dimension of the inputs must be known, got '
                             f"input shape {tuple(input_shape)}")
        k = self._GATES * self.units
        self.kernel = self.add_weight(shape=(int(input_dim), k), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, k), initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=self._bias_shape(), initializer=self._bias_init(),
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.built = True

    # -- dropout masks: one mask per sequence, shared by every time step (Keras) -------------
    def make_dropout_masks(self, batch, input_dim, dtype, training):
        """Draw this sequence's input/recurrent dropout masks (``None`` where unused)."""
        def draw(rate, n):
            if not training or rate == 0.0:
                return None
            keep = rng.generator(self.seed).random((batch, n)) >= rate
            return (keep / (1.0 - rate)).astype(dtype)
        self._masks = (draw(self.dropout, input_dim), draw(self.recurrent_dropout, self.units))
        return self._masks

    def _dropped(self, inputs, h, training):
        masks = self._masks
        if masks is None and training and (self.dropout or self.recurrent_dropout):
            masks = self.make_dropout_masks(inputs._value.shape[0], inputs._value.shape[-1],
                                            inputs._value.dtype, training)
            self._masks = None  # a standalone call draws fresh masks every time
        if masks is not None and training:
            if masks[0] is not None:
                inputs = M.multiply(inputs, const(masks[0], inputs))
            if masks[1] is not None:
                h = M.multiply(h, const(masks[1], h))
        return inputs, h

    def _w(self):
        return self._read(self.kernel), self._read(self.recurrent_kernel), \
            (None if self.bias is None else self._read(self.bias))

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "activation": activations.serialize(self.activation),
                       "use_bias": self.use_bias, "dropout": self.dropout,
                       "recurrent_dropout": self.recurrent_dropout, "seed": self.seed})
        if self._HAS_RECURRENT_ACTIVATION:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        for part in ("kernel", "recurrent", "bias"):
            for kind in ("initializer", "regularizer", "constraint"):
                config[f"{part}_{kind}"] = _SER[kind](getattr(self, f"{part}_{kind}"))
        return config


def _block(x, k, u):
    return A.getitem(x, (slice(None), slice(k * u, (k + 1) * u)))


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: ``h = activation(x @ kernel + h @ recurrent_kernel + bias)``.

    >>> import tapeflow as tf
    >>> cell = tf.keras.layers.SimpleRNNCell(4)
    >>> out, states = cell(tf.ones((2, 3)), [tf.zeros((2, 4))])
    >>> out.shape.as_list(), len(states)
    ([2, 4], 1)
    """

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, (list, tuple)) else states
        x, hd = self._dropped(inputs, h, training)
        k, rk, b = self._w()
        z = M.add(M.matmul(x, k), M.matmul(hd, rk))
        if b is not None:
            z = M.add(z, b)
        out = self.activation(z)
        return out, [out]


class _UnitForgetBias:
    """Bias initializer for an LSTM: ``bias_initializer`` everywhere, ones on the forget gate."""

    def __init__(self, init, units):
        self.init, self.units = init, units

    def __call__(self, shape, dtype=None):
        u = self.units
        parts = [self.init((u,), dtype=dtype), np.ones((u,), dtype=dtype), self.init((2 * u,), dtype=dtype)]
        return np.concatenate([np.asarray(getattr(p, "_value", p)) for p in parts])


class LSTMCell(_Cell):
    """One LSTM step; states ``[h, c]``, gates i, f, c, o (Keras order).

    >>> import tapeflow as tf
    >>> cell = tf.keras.layers.LSTMCell(4)
    >>> out, (h, c) = cell(tf.ones((2, 3)), [tf.zeros((2, 4)), tf.zeros((2, 4))])
    >>> cell.kernel.shape.as_list(), cell.bias.shape.as_list()
    ([3, 16], [16])
    """

    _GATES = 4
    _HAS_RECURRENT_ACTIVATION = True

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        return _UnitForgetBias(self.bias_initializer, self.units) if self.unit_forget_bias else self.bias_initializer

    def call(self, inputs, states, training=None):
        h, c = states[0], states[1]
        x, hd = self._dropped(inputs, h, training)
        k, rk, b = self._w()
        u = self.units
        z = M.add(M.matmul(x, k), M.matmul(hd, rk))
        if b is not None:
            z = M.add(z, b)
        ra = self.recurrent_activation
        i, f, o = ra(_block(z, 0, u)), ra(_block(z, 1, u)), ra(_block(z, 3, u))
        c = M.add(M.multiply(f, c), M.multiply(i, self.activation(_block(z, 2, u))))
        h = M.multiply(o, self.activation(c))
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRUCell(_Cell):
    """One GRU step; gates z, r, h (Keras order). ``reset_after=True`` (the Keras 3 default, the
    cuDNN/PyTorch form) applies the reset gate after the recurrent matmul and keeps separate input
    and recurrent biases, ``bias.shape == (2, 3*units)``.

    >>> import tapeflow as tf
    >>> cell = tf.keras.layers.GRUCell(4)
    >>> out, states = cell(tf.ones((2, 3)), [tf.zeros((2, 4))])
    >>> cell.bias.shape.as_list()
    [2, 12]
    """

    _GATES = 3
    _HAS_RECURRENT_ACTIVATION = True

    def __init__(self, units, reset_after=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=None):
        h = states[0] if isinstance(states, (list, tuple)) else states
        x, hd = self._dropped(inputs, h, training)
        k, rk, b = self._w()
        u = self.units
        xz = M.matmul(x, k)
        if self.reset_after:
            hr = M.matmul(hd, rk)
            if b is not None:
                xz = M.add(xz, A.getitem(b, 0))
                hr = M.add(hr, A.getitem(b, 1))
            ra = self.recurrent_activation
            z = ra(M.add(_block(xz, 0, u), _block(hr, 0, u)))
            r = ra(M.add(_block(xz, 1, u), _block(hr, 1, u)))
            hh = self.activation(M.add(_block(xz, 2, u), M.multiply(r, _block(hr, 2, u))))
        else:
            if b is not None:
                xz = M.add(xz, b)
            rk_zr = A.getitem(rk, (slice(None), slice(0, 2 * u)))
            hr = M.matmul(hd, rk_zr)
            ra = self.recurrent_activation
            z = ra(M.add(_block(xz, 0, u), _block(hr, 0, u)))
            r = ra(M.add(_block(xz, 1, u), _block(hr, 1, u)))
            rh = M.matmul(M.multiply(r, hd), A.getitem(rk, (slice(None), slice(2 * u, 3 * u))))
            hh = self.activation(M.add(_block(xz, 2, u), rh))
        h = M.add(M.multiply(z, h), M.multiply(M.subtract(1.0, z), hh))
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config["reset_after"] = self.reset_after
        return config


def _sizes(cell) -> list:
    s = cell.state_size
    return list(s) if isinstance(s, (list, tuple)) else [s]


def _width(cell) -> int:
    out = getattr(cell, "output_size", None)
    return int(out if out is not None else _sizes(cell)[0])


class StackedRNNCells(Layer):
    """Several cells as one (Keras 3): at each step the first cell reads the inputs, each next cell the previous
    one's output. ``keras.layers.RNN([cell, cell, ...])`` wraps its list in one.

    ``state_size`` lists each cell's. ``RNN`` hands the states over flat, in cell order, and returns them
    (``return_state=True``) as one list per cell, as Keras does. Weights: each cell's, in order.

    >>> import tapeflow as tf
    >>> rnn = tf.keras.layers.RNN([tf.keras.layers.LSTMCell(4), tf.keras.layers.GRUCell(2)], return_state=True)
    >>> out, lstm_states, gru_states = rnn(tf.ones((3, 5, 6)))
    >>> out.shape.as_list(), [s.shape.as_list() for s in lstm_states], len(gru_states)
    ([3, 2], [[3, 4], [3, 4]], 1)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells)
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError(f"StackedRNNCells: every cell needs call(inputs, states) and state_size, got "
                                 f"{cell!r}")
        if not cells:
            raise ValueError("StackedRNNCells: expected at least one cell")
        self.cells = cells

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _width(self.cells[-1])

    def nest(self, flat) -> list:
        """Flat states, in cell order -> one list per cell."""
        out, i = [], 0
        for cell in self.cells:
            n = len(_sizes(cell))
            out.append(list(flat[i:i + n]))
            i += n
        return out

    def build(self, input_shape):
        batch = input_shape[0]
        for cell in self.cells:
            if not cell.built:
                cell._build_from_shapes((batch, input_shape[-1]))
            input_shape = (batch, _width(cell))
        self.built = True

    def call(self, inputs, states, training=None):
        nested = len(states) == len(self.cells) and all(isinstance(s, (list, tuple)) for s in states)
        per_cell = [list(s) for s in states] if nested else self.nest(states)
        new = []
        for cell, cell_states in zip(self.cells, per_cell):
            arg = cell_states if isinstance(cell.state_size, (list, tuple)) else cell_states[0]
            inputs, out_states = cell.call(inputs, arg, training=training)
            new.append(list(out_states) if isinstance(out_states, (list, tuple)) else [out_states])
        return inputs, (new if nested else [s for group in new for s in group])

    def make_dropout_masks(self, batch, input_dim, dtype, training):
        for cell in self.cells:
            if hasattr(cell, "make_dropout_masks"):
                cell.make_dropout_masks(batch, input_dim, dtype, training)
            input_dim = _width(cell)

    @property
    def _masks(self):
        return None

    @_masks.setter
    def _masks(self, value):  # RNN clears the sequence's masks after its loop
        for cell in self.__dict__.get("cells", ()):
            if hasattr(cell, "_masks"):
                cell._masks = value

    def get_config(self):
        from . import serialize
        config = super().get_config()
        config["cells"] = [serialize(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        config = dict(config)
        config["cells"] = [deserialize(c, custom_objects=custom_objects) for c in config["cells"]]
        return cls(**config)


__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]
