"""Recurrent layers: RNN (any cell), SimpleRNN, LSTM, GRU, and Masking.

``RNN(cell)`` loops a cell over the time axis with tapeflow ops. ``LSTM``, ``GRU``
(``reset_after=True``) and ``SimpleRNN`` with their standard activations instead project the
inputs of all time steps in one matmul (``(T*B, input_dim) @ kernel``) and run the recurrence
in one fused primitive with a hand-written backpropagation-through-time (``ops/rnn_ops.py``);
other settings (custom activations, recurrent dropout while training, ``reset_after=False``)
fall back to the cell loop. Both paths give the same numbers.

Masking follows Keras: at a masked step the states keep their previous value and the output
repeats the previous output (zeros before the first unmasked step), or is zero with
``zero_output_for_mask=True``. ``go_backwards=True`` reads the sequence last-to-first and returns
the outputs in that (reversed) order. Only ``stateful=False`` is supported.
"""
from __future__ import annotations

import inspect

import numpy as np

from ...autodiff.tensor import Tensor, convert_to_tensor
from ...ops import array_ops as A
from ...ops import math_ops as M
from ...ops import rnn_ops
from ...ops.registry import const
from .. import activations, regularizers
from .base import Layer
from .input_spec import InputSpec
from .rnn_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells

_RNN_KEYS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask")


def _as_bool_mask(mask, batch, steps, name):
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
        if mask is None:
            return None
    m = np.asarray(mask._value if isinstance(mask, Tensor) else mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.shape != (batch, steps):
        raise ValueError(f'Layer "{name}": mask must have shape (batch, timesteps) = {(batch, steps)}, '
                         f"got {m.shape}")
    return m.astype(bool)


class RNN(Layer):
    """Run a recurrent ``cell`` over the time axis of ``(batch, timesteps, features)`` inputs.

    Returns the last output, or all outputs with ``return_sequences=True``; with
    ``return_state=True`` a list ``[output, *final_states]``. ``initial_state`` (a tensor or a
    list, one per state) replaces the zero initial state.

    >>> import tapeflow as tf
    >>> rnn = tf.keras.layers.RNN(tf.keras.layers.LSTMCell(4), return_sequences=True)
    >>> rnn(tf.ones((2, 5, 3))).shape.as_list()
    [2, 5, 4]
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(f"RNN: cell must be a layer with call(inputs, states) and state_size, got {cell!r}")
        if stateful:
            raise ValueError(f'Layer "{self.name}": stateful=True is not supported; carry the states yourself '
                             "with return_state=True and initial_state=")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.input_spec = InputSpec(ndim=3)

    @property
    def _state_sizes(self) -> list:  # flat, in cell order for StackedRNNCells
        s = self.cell.state_size
        s = list(s) if isinstance(s, (list, tuple)) else [s]
        return [int(v) for x in s for v in (x if isinstance(x, (list, tuple)) else [x])]

    def build(self, input_shape):
        if not self.cell.built:
            self.cell._build_from_shapes((input_shape[0], input_shape[-1]))
        self.built = True

    def _initial_states(self, initial_state, batch, dtype):
        sizes = self._state_sizes
        if initial_state is None:
            return [const(np.zeros((batch, int(s)), dtype=dtype)) for s in sizes], True
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != len(sizes):
            raise ValueError(f'Layer "{self.name}" expects {len(sizes)} initial state(s) of sizes {sizes}, '
                             f"got {len(states)}")
        out = []
        for s, size in zip(states, sizes):
            t = convert_to_tensor(s)
            if t._value.dtype != dtype:
                t = A.cast(t, dtype)
            if t._value.shape != (batch, int(size)):
                raise ValueError(f'Layer "{self.name}": initial state must have shape {(batch, int(size))}, '
                                 f"got {t._value.shape}")
            out.append(t)
        return out, False

    def call(self, sequences, initial_state=None, mask=None, training=None):
        x = sequences
        batch, steps = x._value.shape[0], x._value.shape[1]
        states, zero_init = self._initial_states(initial_state, batch, x._value.dtype)
        m = _as_bool_mask(mask, batch, steps, self.name)
        if m is not None and m.all():
            m = None
        mask_tm = None if m is None else m.T  # (T, B)
        if self.go_backwards and mask_tm is not None:
            mask_tm = mask_tm[::-1]
        fast = self._fast_path(x, states, mask_tm, zero_init, training)
        if fast is None:
            out_seq, last, final = self._loop(x, states, mask_tm, training)
        else:
            out_seq, last, final = fast
        output = A.transpose(out_seq, (1, 0, 2)) if self.return_sequences else last
        if self.return_state:
            nest = getattr(self.cell, "nest", None)
            return [output] + (nest(list(final)) if nest is not None else list(final))
        return output

    # -- generic path: the cell, step by step -------------------------------------------------
    def _loop(self, x, states, mask_tm, training):
        cell = self.cell
        steps = x._value.shape[1]
        if "training" in inspect.signature(cell.call).parameters:
            step = lambda xt, s: cell.call(xt, s, training=training)  # noqa: E731
        else:
            step = cell.call
        single = not isinstance(cell.state_size, (list, tuple))
        make_masks = getattr(cell, "make_dropout_masks", None)
        if make_masks is not None:
            make_masks(x._value.shape[0], x._value.shape[-1], x._value.dtype, bool(training))
        outs, prev = [], None
        try:
            for i in range(steps):
                t = steps - 1 - i if self.go_backwards else i
                out, new = step(A.getitem(x, (slice(None), t)), states[0] if single else states)
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                if mask_tm is not None:
                    keep = const(mask_tm[i][:, None])
                    if prev is None or self.zero_output_for_mask:
                        prev = const(np.zeros(out._value.shape, out._value.dtype))
                    out = A.where(keep, out, prev)
                    new = [A.where(keep, n, s) for n, s in zip(new, states)]
                states, prev = new, out
                outs.append(out)
        finally:
            if make_masks is not None:
                cell._masks = None
        out_seq = A.stack(outs) if self.return_sequences else None
        return out_seq, outs[-1], states

    # -- fused path (LSTM / GRU / SimpleRNN override _sequence) --------------------------------
    def _fast_path(self, x, states, mask_tm, zero_init, training):
        return None

    def _projected_inputs(self, x, kernel, bias, training):
        """Time-major ``x @ kernel + bias`` for all steps in one matmul: (T, B, units * gates)."""
        cell = self.cell
        xt = A.transpose(x, (1, 0, 2))
        if self.go_backwards:
            xt = A.reverse(xt, [0])
        steps, batch, dim = xt._value.shape
        if training and cell.dropout:
            dp, _ = cell.make_dropout_masks(batch, dim, x._value.dtype, True)
            cell._masks = None
            xt = M.multiply(xt, const(dp))
        xp = M.matmul(A.reshape(xt, (steps * batch, dim)), kernel)
        if bias is not None:
            xp = M.add(xp, bias)
        return A.reshape(xp, (steps, batch, kernel._value.shape[-1]))

    def _finish(self, H, mask_tm, zero_init):
        """Outputs (Keras masking semantics) from the state sequence ``H`` (T, B, u)."""
        if mask_tm is not None:
            keep = mask_tm if self.zero_output_for_mask else np.logical_or.accumulate(mask_tm, axis=0)
            if not (keep.all() or (zero_init and not self.zero_output_for_mask)):
                H = A.where(const(keep[..., None]), H, const(np.zeros((), H._value.dtype)))
        return H if self.return_sequences else None, A.getitem(H, -1)

    def _standard(self, training) -> bool:
        cell = self.cell
        return (cell.activation is activations.tanh and not (training and cell.recurrent_dropout)
                and getattr(cell, "recurrent_activation", activations.sigmoid) is activations.sigmoid)

    # -- shapes, masks, config ------------------------------------------------------------------
    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            groups = getattr(self.cell, "cells", None)
            return [out] + [None] * (len(groups) if groups is not None else len(self._state_sizes))
        return out

    def get_config(self):
        config = super().get_config()
        config.update({k: getattr(self, k) for k in _RNN_KEYS})
        if type(self) is RNN:
            from . import serialize
            config["cell"] = serialize(self.cell)
        else:
            cell_config = self.cell.get_config()
            for k in ("name", "trainable", "dtype"):
                cell_config.pop(k, None)
            config.update(cell_config)
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)  # (it was lost)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if cls is RNN:
            from . import deserialize
            config["cell"] = deserialize(config["cell"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects)


def _split_kwargs(kwargs):
    rnn = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_KEYS}
    base = {k: kwargs.pop(k) for k in list(kwargs) if k in ("name", "trainable", "dtype", "input_shape",
                                                            "batch_input_shape", "batch_size", "input_dim",
                                                            "activity_regularizer", "weights")}
    kwargs.pop("use_cudnn", None)
    return rnn, base, kwargs


class SimpleRNN(RNN):
    """Fully connected RNN, ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    >>> import tapeflow as tf
    >>> tf.keras.layers.SimpleRNN(4)(tf.ones((2, 5, 3))).shape.as_list()
    [2, 4]
    """

    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        rnn, base, cell_kw = _split_kwargs(kwargs)
        cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias, name="simple_rnn_cell",
                             dtype=base.get("dtype"), trainable=base.get("trainable", True), **cell_kw)
        super().__init__(cell, **rnn, **base)

    def _fast_path(self, x, states, mask_tm, zero_init, training):
        if not self._standard(training):
            return None
        k, rk, b = self.cell._w()
        H = rnn_ops.simple_rnn_sequence(self._projected_inputs(x, k, b, training), states[0], rk, mask=mask_tm)
        seq, last = self._finish(H, mask_tm, zero_init)
        return seq, last, [A.getitem(H, -1)]


class LSTM(RNN):
    """Long short-term memory (Hochreiter 1997), Keras weights: ``kernel (input_dim, 4u)``,
    ``recurrent_kernel (u, 4u)``, ``bias (4u,)``, gates i, f, c, o; states ``[h, c]``.

    >>> import tapeflow as tf
    >>> out, h, c = tf.keras.layers.LSTM(4, return_sequences=True, return_state=True)(tf.ones((2, 5, 3)))
    >>> out.shape.as_list(), h.shape.as_list(), c.shape.as_list()
    ([2, 5, 4], [2, 4], [2, 4])
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True, **kwargs):
        rnn, base, cell_kw = _split_kwargs(kwargs)
        cell = LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                        name="lstm_cell", dtype=base.get("dtype"), trainable=base.get("trainable", True), **cell_kw)
        super().__init__(cell, **rnn, **base)

    def _fast_path(self, x, states, mask_tm, zero_init, training):
        if not self._standard(training):
            return None
        k, rk, b = self.cell._w()
        out = rnn_ops.lstm_sequence(self._projected_inputs(x, k, b, training), states[0], states[1], rk,
                                    mask=mask_tm)
        last_h, last_c = A.getitem(out, (-1, 0)), A.getitem(out, (-1, 1))
        if self.return_sequences or (mask_tm is not None and (self.zero_output_for_mask or not zero_init)):
            seq, last = self._finish(A.getitem(out, (slice(None), 0)), mask_tm, zero_init)
        else:
            seq, last = None, last_h
        return seq, last, [last_h, last_c]


class GRU(RNN):
    """Gated recurrent unit (Cho 2014), Keras weights: ``kernel (input_dim, 3u)``, ``recurrent_kernel
    (u, 3u)``, ``bias (2, 3u)`` (input and recurrent biases) with ``reset_after=True``; gates z, r, h.

    >>> import tapeflow as tf
    >>> gru = tf.keras.layers.GRU(4)
    >>> gru(tf.ones((2, 5, 3))).shape.as_list(), [w.shape.as_list() for w in gru.weights]
    ([2, 4], [[3, 12], [4, 12], [2, 12]])
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True, reset_after=True,
                 **kwargs):
        rnn, base, cell_kw = _split_kwargs(kwargs)
        cell = GRUCell(units, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                       reset_after=reset_after, name="gru_cell", dtype=base.get("dtype"),
                       trainable=base.get("trainable", True), **cell_kw)
        super().__init__(cell, **rnn, **base)

    def _fast_path(self, x, states, mask_tm, zero_init, training):
        cell = self.cell
        if not (cell.reset_after and self._standard(training)):
            return None
        k, rk, b = cell._w()
        if b is None:
            bi, rb = None, const(np.zeros(rk._value.shape[-1], rk._value.dtype))
        else:
            bi, rb = A.getitem(b, 0), A.getitem(b, 1)
        H = rnn_ops.gru_sequence(self._projected_inputs(x, k, bi, training), states[0], rk, rb, mask=mask_tm)
        seq, last = self._finish(H, mask_tm, zero_init)
        return seq, last, [A.getitem(H, -1)]


class Masking(Layer):
    """Mask time steps whose features all equal ``mask_value``: those steps are zeroed and the
    layer sets a ``(batch, timesteps)`` mask that downstream RNN/attention layers obey.

    >>> import numpy as np, tapeflow as tf
    >>> x = np.array([[[1.0], [0.0], [2.0]]], dtype="float32")
    >>> y = tf.keras.layers.Masking(0.0)(x)
    >>> y._keras_mask.numpy().tolist()
    [[True, False, True]]
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs):
        return np.any(inputs._value != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = self._keep(inputs)
        return M.multiply(inputs, const(keep[..., None], inputs))

    def compute_mask(self, inputs, mask=None):
        return Tensor._wrap(self._keep(inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config


__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU", "Masking", "SimpleRNNCell", "LSTMCell", "GRUCell"]
