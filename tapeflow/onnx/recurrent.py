"""LSTM, GRU, SimpleRNN (and ``RNN`` over their cells) and Bidirectional as ONNX LSTM/GRU/RNN ops;
TimeDistributed as its inner layer on the batch and time axes folded together.

Weight layouts: Keras ``kernel (input_dim, k*units)`` / ``recurrent_kernel (units, k*units)`` become
ONNX ``W (1, k*units, input_dim)`` / ``R (1, k*units, units)``. Keras's LSTM gate order is i, f, c, o
and ONNX's is i, o, f, c; GRU is z, r, h in both. Keras's GRU ``reset_after=True`` is ONNX's
``linear_before_reset=1`` with its ``(2, 3*units)`` bias split into ``Wb`` and ``Rb``.

The ONNX ops run time-major (onnxruntime does not implement ``layout=1``), so the batch-major
input is transposed; ``go_backwards`` reverses the sequence before a forward pass, which also gives
Keras's reversed output order for ``return_sequences``.
"""
from __future__ import annotations

import numpy as np

from ..keras.layers import recurrent, rnn_cells, wrappers
from ..keras.models.keras_tensor import KerasTensor
from . import activations
from .converters import INT64_MAX, REGISTRY, register, weight
from .graph import Call, ExportError, GraphBuilder, describe, emit_model

_LSTM_ORDER = (0, 3, 1, 2)  # ONNX i, o, f, c from Keras i, f, c, o
_OPS = {rnn_cells.LSTMCell: "LSTM", rnn_cells.GRUCell: "GRU", rnn_cells.SimpleRNNCell: "RNN"}


def _gates(w: np.ndarray, units: int, order) -> np.ndarray:
    """Keras ``(n, k*units)`` -> ONNX ``(1, k*units, n)`` with the gate blocks in ``order``."""
    blocks = [w[:, g * units:(g + 1) * units] for g in order]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1).T)[None]


def _activation_attrs(layer, fns) -> dict:
    names, alphas, betas = [], [], []
    for fn in fns:
        key = activations.activation_name(fn)
        if key not in activations.RNN_ACTIVATIONS:
            shown = getattr(fn, "__name__", repr(fn))
            raise ExportError(f"ONNX export: {describe(layer)} uses activation {shown!r}, which the ONNX recurrent "
                              f"ops do not offer. Supported: {', '.join(sorted(activations.RNN_ACTIVATIONS))}.")
        onnx_name, alpha, beta = activations.RNN_ACTIVATIONS[key]
        names.append(onnx_name)
        if alpha is not None:  # onnxruntime hands these out only to the activations that take them
            alphas.append(alpha)
            betas.append(beta)
    attrs = {"activations": names}
    if alphas:
        attrs.update(activation_alpha=alphas, activation_beta=betas)
    return attrs


def emit_rnn(b: GraphBuilder, layer, x: str, states: list) -> tuple:
    """The ONNX nodes for one recurrent layer; returns ``(output, [final states])``."""
    cell, h = layer.cell, layer.name
    op_type = _OPS.get(type(cell))
    if op_type is None:
        raise ExportError(f"ONNX export: {describe(layer)} runs cell {type(cell).__name__}; only LSTMCell, GRUCell "
                          "and SimpleRNNCell have ONNX counterparts")
    if getattr(layer, "stateful", False):
        raise ExportError(f"ONNX export: {describe(layer)} is stateful; stateful RNNs are not exported")
    u = cell.units
    n_states = 2 if op_type == "LSTM" else 1
    if states and len(states) != n_states:
        raise ExportError(f"ONNX export: {describe(layer)} expects {n_states} initial state(s), got {len(states)}")
    kernel, rec = weight(cell.kernel), weight(cell.recurrent_kernel)
    bias = None if cell.bias is None else weight(cell.bias)
    attrs = {"hidden_size": u, "direction": "forward"}
    if op_type == "LSTM":
        order = _LSTM_ORDER
        attrs.update(_activation_attrs(layer, [cell.recurrent_activation, cell.activation, cell.activation]))
        bias_pair = None if bias is None else (np.concatenate([bias[g * u:(g + 1) * u] for g in order]),
                                               np.zeros(4 * u, np.float32))
    elif op_type == "GRU":
        order = (0, 1, 2)
        attrs.update(_activation_attrs(layer, [cell.recurrent_activation, cell.activation]))
        attrs["linear_before_reset"] = int(cell.reset_after)
        if bias is None:
            bias_pair = None
        elif cell.reset_after:
            bias_pair = (bias[0], bias[1])
        else:
            bias_pair = (bias, np.zeros(3 * u, np.float32))
    else:
        order = (0,)
        attrs.update(_activation_attrs(layer, [cell.activation]))
        bias_pair = None if bias is None else (bias, np.zeros(u, np.float32))
    xt = b.transpose(x, (1, 0, 2), h)
    if layer.go_backwards:
        xt = b.reverse(xt, 0, h)
    ins = [xt, b.const(_gates(kernel, u, order), f"{h}/W"), b.const(_gates(rec, u, order), f"{h}/R")]
    ins.append("" if bias_pair is None else b.const(np.concatenate(bias_pair)[None], f"{h}/B"))
    ins.append("")  # sequence_lens: every sequence runs to the end
    ins += [b.unsqueeze(s, [0], h) for s in states]
    while ins[-1] == "":
        ins.pop()
    want_seq = layer.return_sequences
    outs = [b.fresh(f"{h}/{op_type}:Y") if want_seq else "", b.fresh(f"{h}/{op_type}:Y_h")]
    if op_type == "LSTM":
        outs.append(b.fresh(f"{h}/{op_type}:Y_c"))
    b.op(op_type, ins, h, outputs=outs, **attrs)
    finals = [b.squeeze(o, [0], h) for o in outs[1:]]
    if want_seq:  # Y is (T, 1, B, u)
        return b.transpose(b.squeeze(outs[0], [1], h), (1, 0, 2), h), finals
    return finals[0], finals


def _split_call(layer, call):
    for a in list(call.args[1:]) + [v for k, v in call.kwargs.items() if k not in ("initial_state", "training")]:
        if a is not None and not isinstance(a, (bool, list, tuple, KerasTensor)):
            raise ExportError(f"ONNX export: {describe(layer)} is called with an argument {a!r} that is not exported")
    return call.inputs[0], list(call.inputs[1:])


@register(recurrent.LSTM, recurrent.GRU, recurrent.SimpleRNN, recurrent.RNN)
def rnn_layer(b, layer, call):
    x, states = _split_call(layer, call)
    out, finals = emit_rnn(b, layer, x, states)
    return [out] + finals if layer.return_state else out


@register(wrappers.Bidirectional)
def bidirectional(b, layer, call):
    x, states = _split_call(layer, call)
    half = len(states) // 2
    y, fwd = emit_rnn(b, layer.forward_layer, x, states[:half])
    yb, bwd = emit_rnn(b, layer.backward_layer, x, states[half:])
    h = layer.name
    if layer.return_sequences:
        yb = b.reverse(yb, 1, h)
    mode = layer.merge_mode
    if mode == "concat":
        outs = [b.op("Concat", [y, yb], h, axis=-1)]
    elif mode == "sum":
        outs = [b.op("Add", [y, yb], h)]
    elif mode == "ave":
        outs = [b.op("Mul", [b.op("Add", [y, yb], h), b.const(0.5, "const/half")], h)]
    elif mode == "mul":
        outs = [b.op("Mul", [y, yb], h)]
    else:
        outs = [y, yb]
    return outs + fwd + bwd if layer.return_state else outs


@register(wrappers.TimeDistributed)
def time_distributed(b, layer, call):
    """Fold (batch, time) into one axis, run the inner layer (or model), unfold: all shapes read at run time."""
    x, h, inner = call.inputs[0], layer.name, layer.layer
    in_shape = b.op("Shape", [x], h)
    rest = b.op("Slice", [in_shape, b.ints([2]), b.ints([INT64_MAX])], h)
    folded = b.op("Reshape", [x, b.op("Concat", [b.ints([-1]), rest], h, axis=0)], h)
    if getattr(inner, "_self_graph", None) is not None or hasattr(inner, "_seq_layers"):
        y = emit_model(b, inner, [folded], REGISTRY)
    else:
        convert = REGISTRY.get(type(inner))
        if convert is None:
            raise ExportError(f"ONNX export: {describe(layer)} wraps {describe(inner)}, which has no ONNX "
                              "converter")
        y = convert(b, inner, Call([folded], [(None,) + tuple(call.shapes[0][2:])],
                                   [(None,) + tuple(call.out_shapes[0][2:])]))
    if not isinstance(y, str):
        if len(y) != 1:
            raise ExportError(f"ONNX export: {describe(layer)}: the wrapped layer must have one output")
        y = y[0]
    batch_time = b.op("Slice", [in_shape, b.ints([0]), b.ints([2])], h)
    y_rest = b.op("Slice", [b.op("Shape", [y], h), b.ints([1]), b.ints([INT64_MAX])], h)
    return b.op("Reshape", [y, b.op("Concat", [batch_time, y_rest], h, axis=0)], h)
