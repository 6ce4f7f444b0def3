"""Convolutional LSTM layers (Shi et al. 2015): ``ConvLSTM1D``, ``ConvLSTM2D`` and ``ConvLSTM3D`` with Keras 3's
weights.

An LSTM whose input and recurrent transformations are convolutions. Weights (Keras layout, held by the
``conv_lstm_cell`` sub-layer): ``kernel (k..., channels, 4*filters)``, ``recurrent_kernel (k..., filters,
4*filters)``, ``bias (4*filters,)``; gates i, f, c, o. The input convolution uses the layer's strides, padding
and dilation; the recurrent one is always stride 1, ``"same"`` padding, no dilation, so the states ``h, c`` keep
the input convolution's output size. The input convolutions of all time steps run as one batched convolution;
the recurrence is a Python loop over time built from differentiable ops (conv2d/conv3d, slicing, activations), so
the tape derives the gradients. A 1-D layer runs as a 2-D one over a height-1 image, a 3-D one on conv3d;
``channels_first`` inputs are transposed to channels_last around the loop.

Masking, ``go_backwards``, ``return_sequences``, ``return_state`` and ``initial_state`` follow ``RNN``. As in
Keras, dropout draws four masks per sequence (one per gate) over the inputs and four over ``h``, shared by every
time step. Only ``stateful=False`` is supported.
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import convert_to_tensor
from ...backend import rng
from ...ops import array_ops as A
from ...ops import conv3d_ops as C3
from ...ops import conv_ops as C
from ...ops import math_ops as M
from ...ops.registry import const
from .. import activations, regularizers
from .. import backend as K
from .base import Layer
from .input_spec import InputSpec
from .recurrent import RNN, _as_bool_mask
from .rnn_cells import _GET, _SER, _UnitForgetBias

_PARTS = ("kernel", "recurrent", "bias")
_KINDS = ("initializer", "regularizer", "constraint")


def _ints(value, rank: int, what: str, layer: str) -> tuple:
    vals = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(vals) != rank or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in vals):
        raise ValueError(f"{layer}: {what} must be a positive int or a tuple of {rank} positive ints, "
                         f"got {value!r}")
    return tuple(int(v) for v in vals)


class _ConvLSTMCell(Layer):
    """One ConvLSTM step's weights and settings (the layer runs the loop)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, owner="ConvLSTM", **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"{owner}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _ints(kernel_size, rank, "kernel_size", owner)
        self.strides = _ints(strides, rank, "strides", owner)
        self.dilation_rate = _ints(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{owner}: strides > 1 together with dilation_rate > 1 is not supported "
                             f"(strides={self.strides}, dilation_rate={self.dilation_rate})")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f'{owner}: padding must be "valid" or "same", got {padding!r}')
        self.data_format = K.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        for part in _PARTS:
            for kind in _KINDS:
                setattr(self, f"{part}_{kind}", _GET[kind](locals()[f"{part}_{kind}"]))
        for name, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            rate = float(rate)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{owner}: {name} must be in [0, 1), got {rate}")
            setattr(self, name, rate)
        self.seed = seed

    @property
    def state_size(self):
        return [self.filters, self.filters]

    def build(self, step_shape):
        """``step_shape``: one time step, ``(batch, *spatial, channels)`` (channels first if so configured)."""
        cf = self.data_format == "channels_first"
        channels = step_shape[1] if cf else step_shape[-1]
        spatial = tuple(step_shape[2:] if cf else step_shape[1:-1])
        if channels is None or None in spatial:
            raise ValueError(f'Layer "{self.name}": the spatial and channel dimensions must be known, got '
                             f"step shape {tuple(step_shape)}")
        f4 = 4 * self.filters
        self.kernel = self.add_weight(shape=self.kernel_size + (int(channels), f4), name="kernel",
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, f4), name="recurrent_kernel",
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            init = _UnitForgetBias(self.bias_initializer, self.filters) if self.unit_forget_bias \
                else self.bias_initializer
            self.bias = self.add_weight(shape=(f4,), name="bias", initializer=init,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def dropout_masks(self, rate, shape, dtype):
        """Four inverted-dropout masks (one per gate) of ``shape``, or ``None`` for rate 0."""
        if rate == 0.0:
            return None
        keep = rng.generator(self.seed).random((4,) + tuple(shape)) >= rate
        return (keep / (1.0 - rate)).astype(dtype)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding, "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias, "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout, "seed": self.seed})
        for part in _PARTS:
            for kind in _KINDS:
                config[f"{part}_{kind}"] = _SER[kind](getattr(self, f"{part}_{kind}"))
        return config


class _ConvLSTM(RNN):
    """Shared ConvLSTM1D/2D/3D: the time loop, initial states, masking and config."""

    _RANK = 2
    _LAYOUT = "(batch, time, rows, cols, channels)"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=None, **kwargs):
        cell = _ConvLSTMCell(
            self._RANK, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, owner=type(self).__name__, name="conv_lstm_cell",
            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=bool(unroll),
                         activity_regularizer=activity_regularizer, **kwargs)
        self.input_spec = InputSpec(ndim=self._RANK + 3)

    def build(self, input_shape):
        if len(input_shape) != self._RANK + 3:
            raise ValueError(f'{type(self).__name__} "{self.name}": expected inputs of rank {self._RANK + 3} '
                             f"{self._LAYOUT}, got shape "
                             f"{tuple(input_shape)}")
        if not self.cell.built:
            self.cell._build_from_shapes((input_shape[0],) + tuple(input_shape[2:]))
        self.built = True

    # -- layout: everything inside the loop is (batch, [time,] [depth,] rows, cols, channels) ---------
    @property
    def _cf(self) -> bool:
        return self.cell.data_format == "channels_first"

    def _to_inner(self, t, time_axis: bool):
        """A tensor in the layer's layout -> channels_last with two (three for rank 3) spatial axes."""
        lead = 2 if time_axis else 1
        if self._cf:
            nd = t._value.ndim
            t = A.transpose(t, tuple(range(lead)) + tuple(range(lead + 1, nd)) + (lead,))
        return A.expand_dims(t, lead) if self._RANK == 1 else t

    def _to_outer(self, t, time_axis: bool):
        lead = 2 if time_axis else 1
        if self._RANK == 1:
            t = A.squeeze(t, axis=lead)
        if self._cf:
            nd = t._value.ndim
            t = A.transpose(t, tuple(range(lead)) + (nd - 1,) + tuple(range(lead, nd - 1)))
        return t

    def _weights2d(self):
        cell = self.cell
        ws = [self._read(cell.kernel), self._read(cell.recurrent_kernel)]
        if self._RANK == 1:
            ws = [A.expand_dims(w, 0) for w in ws]
        return ws[0], ws[1], None if cell.bias is None else self._read(cell.bias)

    def _conv(self, x, kernel, strides, padding, dilations=None):
        if self._RANK == 3:
            return C3.conv3d(x, kernel, strides, padding, dilations=dilations)
        return C.conv2d(x, kernel, strides, padding, dilations=dilations)

    def _conv_args(self):
        cell = self.cell
        pad = (1,) if self._RANK == 1 else ()
        return pad + cell.strides, cell.padding.upper(), pad + cell.dilation_rate

    # -- the loop ------------------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=None):
        cell, name = self.cell, type(self).__name__
        x = convert_to_tensor(sequences)
        if x._value.ndim != self._RANK + 3:
            raise ValueError(f'{name} "{self.name}": expected inputs of rank {self._RANK + 3}, got shape '
                             f"{x._value.shape}")
        x = self._to_inner(x, True)
        batch, steps = x._value.shape[:2]
        spatial, ch = tuple(x._value.shape[2:-1]), x._value.shape[-1]
        dtype = x._value.dtype
        kernel, rkernel, bias = self._weights2d()
        f = cell.filters
        strides, padding, dilations = self._conv_args()
        train = bool(training)
        dp = cell.dropout_masks(cell.dropout, (batch, 1) + spatial + (ch,), dtype) if train else None
        flat = (batch * steps,) + spatial + (ch,)
        if dp is None:
            xz = self._conv(A.reshape(x, flat), kernel, strides, padding, dilations=dilations)
        else:
            xz = A.concat([self._conv(A.reshape(M.multiply(x, const(dp[g])), flat),
                                      _gate(kernel, g, f), strides, padding, dilations=dilations)
                           for g in range(4)], axis=-1)
        if bias is not None:
            xz = M.add(xz, bias)
        out_spatial = tuple(xz._value.shape[1:-1])
        xz = A.reshape(xz, (batch, steps) + out_spatial + (4 * f,))
        states = self._initial(initial_state, (batch,) + out_spatial + (f,), dtype)
        rdp = cell.dropout_masks(cell.recurrent_dropout, (batch,) + out_spatial + (f,), dtype) if train else None
        m = _as_bool_mask(mask, batch, steps, self.name)
        if m is not None and m.all():
            m = None
        outs, prev = [], None
        for i in range(steps):
            t = steps - 1 - i if self.go_backwards else i
            out, new = self._step(A.getitem(xz, (slice(None), t)), states, rkernel, rdp)
            if m is not None:
                keep = const(m[:, t].reshape((batch,) + (1,) * (out._value.ndim - 1)))
                if prev is None or self.zero_output_for_mask:
                    prev = const(np.zeros(out._value.shape, dtype))
                out = A.where(keep, out, prev)
                new = [A.where(keep, n, s) for n, s in zip(new, states)]
            states, prev = new, out
            outs.append(out)
        output = A.stack(outs, axis=1) if self.return_sequences else outs[-1]
        output = self._to_outer(output, self.return_sequences)
        if self.return_state:
            return [output] + [self._to_outer(s, False) for s in states]
        return output

    def _step(self, z_in, states, rkernel, rdp):
        cell = self.cell
        f = cell.filters
        h, c = states
        if rdp is None:
            z_rec = self._conv(h, rkernel, 1, "SAME")
        else:
            z_rec = A.concat([self._conv(M.multiply(h, const(rdp[g])), _gate(rkernel, g, f), 1, "SAME")
                              for g in range(4)], axis=-1)
        z = M.add(z_in, z_rec)
        ra, act = cell.recurrent_activation, cell.activation
        i, fg, o = ra(_gate(z, 0, f)), ra(_gate(z, 1, f)), ra(_gate(z, 3, f))
        c = M.add(M.multiply(fg, c), M.multiply(i, act(_gate(z, 2, f))))
        h = M.multiply(o, act(c))
        return h, [h, c]

    def _initial(self, initial_state, inner_shape, dtype):
        if initial_state is None:
            return [const(np.zeros(inner_shape, dtype)) for _ in range(2)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        b, f = inner_shape[0], inner_shape[-1]
        spatial = tuple(inner_shape[2:-1]) if self._RANK == 1 else tuple(inner_shape[1:-1])
        want = (b, f) + spatial if self._cf else (b,) + spatial + (f,)
        if len(states) != 2:
            raise ValueError(f'{type(self).__name__} "{self.name}": initial_state must be a list [h, c] of two '
                             f"tensors of shape {want}, got {len(states)} tensor(s)")
        out = []
        for s in states:
            t = convert_to_tensor(s)
            if t._value.shape != want:
                raise ValueError(f'{type(self).__name__} "{self.name}": initial_state tensors must have shape '
                                 f"{want}, got {t._value.shape}")
            if t._value.dtype != dtype:
                t = A.cast(t, dtype)
            out.append(self._to_inner(t, False))
        return out

    # -- config ----------------------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config


def _gate(t, g: int, f: int):
    """Gate ``g`` (0..3 = i, f, c, o) of the last axis of ``t``."""
    key = (slice(None),) * (t._value.ndim - 1) + (slice(g * f, (g + 1) * f),)
    return A.getitem(t, key)


def _cell_property(name):
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's ``{name}``.")


for _name in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "unit_forget_bias", "dropout", "recurrent_dropout") + tuple(
        f"{p}_{k}" for p in _PARTS for k in _KINDS):
    setattr(_ConvLSTM, _name, _cell_property(_name))
del _name


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM over ``(batch, time, rows, cols, channels)`` inputs (channels_last) or
    ``(batch, time, channels, rows, cols)`` (channels_first).

    Weights as Keras 3: ``kernel (kh, kw, channels, 4*filters)``, ``recurrent_kernel (kh, kw, filters,
    4*filters)``, ``bias (4*filters,)``, gates i, f, c, o. Returns the last ``h`` (``(batch, rows', cols',
    filters)``), all of them with ``return_sequences=True``, plus ``[h, c]`` with ``return_state=True``.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True)
    >>> layer(tf.ones((2, 5, 8, 8, 1))).shape.as_list(), [w.shape.as_list() for w in layer.weights]
    ([2, 5, 8, 8, 4], [[3, 3, 1, 16], [3, 3, 4, 16], [16]])
    """

    _RANK = 2


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM over ``(batch, time, steps, channels)`` inputs (channels_last) or
    ``(batch, time, channels, steps)`` (channels_first). Weights as Keras 3: ``kernel (k, channels,
    4*filters)``, ``recurrent_kernel (k, filters, 4*filters)``, ``bias (4*filters,)``.

    >>> import tapeflow as tf
    >>> out, h, c = tf.keras.layers.ConvLSTM1D(3, 2, return_state=True)(tf.ones((2, 4, 6, 1)))
    >>> out.shape.as_list(), h.shape.as_list(), c.shape.as_list()
    ([2, 5, 3], [2, 5, 3], [2, 5, 3])
    """

    _RANK = 1
    _LAYOUT = "(batch, time, steps, channels)"


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM over ``(batch, time, depth, rows, cols, channels)`` inputs (channels_last) or
    ``(batch, time, channels, depth, rows, cols)`` (channels_first). Weights as Keras 3: ``kernel (kd, kh, kw,
    channels, 4*filters)``, ``recurrent_kernel (kd, kh, kw, filters, 4*filters)``, ``bias (4*filters,)``.

    >>> import tapeflow as tf
    >>> layer = tf.keras.layers.ConvLSTM3D(2, 3, padding="same", return_sequences=True)
    >>> layer(tf.ones((1, 2, 4, 4, 4, 1))).shape.as_list(), [w.shape.as_list() for w in layer.weights]
    ([1, 2, 4, 4, 4, 2], [[3, 3, 3, 1, 8], [3, 3, 3, 2, 8], [8]])
    """

    _RANK = 3
    _LAYOUT = "(batch, time, depth, rows, cols, channels)"


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
