"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts."""
from __future__ import annotations

import numpy as np

from ..layers.core import InputLayer


def readable_memory_size(n_bytes: float) -> str:
    """``407080`` -> ``"397.54 KB"`` (1024-based, as Keras)."""
    units = ["B", "KB", "MB", "GB", "TB"]
    i = 0
    while n_bytes >= 1024 and i < len(units) - 1:
        n_bytes /= 1024.0
        i += 1
    return f"{n_bytes:.2f} {units[i]}"


def _count(weights) -> tuple[int, int]:
    seen, n, size = set(), 0, 0
    for w in weights:
        if id(w) in seen:
            continue
        seen.add(id(w))
        k = int(np.prod(w.shape))
        n += k
        size += k * w._value.dtype.itemsize
    return n, size


def _fmt_shape(s) -> str:
    if isinstance(s, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in s):
        return "(" + ", ".join("None" if d is None else str(int(d)) for d in s) + ("," if len(s) == 1 else "") + ")"
    if isinstance(s, (list, tuple)):
        return "[" + ", ".join(_fmt_shape(v) for v in s) + "]"
    if isinstance(s, dict):
        return "{" + ", ".join(f"{k}: {_fmt_shape(v)}" for k, v in s.items()) + "}"
    return "?"


def _nodes_in(model, layer):
    g = model.__dict__.get("_self_graph")
    if g is None:
        return []
    return [n for n in layer._inbound_nodes if id(n) in g.node_ids]


def _output_shape(model, layer) -> str:
    nodes = _nodes_in(model, layer)
    if nodes:
        outs = [tuple(t.shape) for t in nodes[0].output_tensors]
        return _fmt_shape(outs[0] if len(outs) == 1 else outs)
    if layer._inbound_nodes:
        outs = [tuple(t.shape) for t in layer._inbound_nodes[0].output_tensors]
        return _fmt_shape(outs[0] if len(outs) == 1 else outs)
    if layer.built and layer._build_input_shape is not None:
        try:
            shape = layer._build_input_shape
            if isinstance(shape, tuple):
                shape = (None,) + tuple(shape[1:])
            return _fmt_shape(layer.compute_output_shape(shape))
        except Exception:  # noqa: BLE001 - a summary must not fail on one layer
            return "?"
    return "?"


def _connections(model, layer) -> str:
    parts = []
    for node in _nodes_in(model, layer):
        for t in node.input_tensors:
            op, ni, ti = t._keras_history
            parts.append(f"{op.name}[{ni}][{ti}]")
    return ", ".join(parts) if parts else "-"


def _is_sequential_like(model) -> bool:
    if type(model).__name__ == "Sequential" or model.__dict__.get("_self_graph") is None:
        return True
    for node in model._self_graph.run_nodes:
        if len(node.input_tensors) > 1 or len(node.output_tensors) > 1:
            return False
        if len(node.operation._outbound_nodes) > 1 and any(
                id(n) in model._self_graph.node_ids for n in node.operation._outbound_nodes[1:]):
            return False
    counts = {}
    for node in model._self_graph.run_nodes:
        for t in node.input_tensors:
            counts[id(t)] = counts.get(id(t), 0) + 1
    return all(c == 1 for c in counts.values()) and len(model._self_graph.flat_inputs) == 1


def _wrap(text: str, width: int) -> list:
    text = str(text)
    if width <= 0:
        return [text]
    out = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        cut = width if cut <= 0 else cut
        out.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    out.append(text)
    return out


def _rows_for(model, layers, sequential_like, show_trainable, depth=0, expand_nested=False):
    rows = []
    for layer in layers:
        kind = getattr(layer, "class_name", None) or type(layer).__name__  # an operation: Keras's class ("Add")
        name = ("  " * depth) + (" └ " if depth else "") + f"{layer.name} ({kind})"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [name, _output_shape(model, layer), params]
        if not sequential_like:
            row.append(_connections(model, layer))
        if show_trainable:
            row.append("-" if not layer.weights else ("Y" if layer.trainable else "N"))
        rows.append(row)
        if expand_nested and hasattr(layer, "layers") and layer is not model:
            rows.extend(_rows_for(layer, getattr(layer, "operations", layer.layers), sequential_like, show_trainable, depth + 1, True))
    return rows


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print (or pass to ``print_fn``, line by line) the summary table of ``model``."""
    if print_fn is None:
        print_fn = print
    if not model.built:
        raise ValueError(
            f'Model "{model.name}" has not yet been built. Build it first by calling build(input_shape), by '
            "calling it on a batch of data, or by giving the first layer an input_shape (or keras.Input).")
    sequential_like = _is_sequential_like(model)
    layers = getattr(model, "operations", model.layers)  # a functional model's table shows its operations too
    if type(model).__name__ == "Sequential":
        layers = [layer for layer in layers if not isinstance(layer, InputLayer)]
    if layer_range is not None:
        names = [layer.name for layer in layers]
        start, end = layer_range
        if start not in names or end not in names:
            raise ValueError(f"summary: layer_range {layer_range} names layers not in the model: {names}")
        layers = layers[names.index(start):names.index(end) + 1]
    headers = ["Layer (type)", "Output Shape", "Param #"]
    if not sequential_like:
        headers.append("Connected to")
    if show_trainable:
        headers.append("Trainable")
    if line_length is None and positions is None:
        # Keras 3's table as printed on an 80-column console
        widths = {(True, False): [31, 22, 13], (False, False): [19, 17, 10, 17],
                  (True, True): [27, 21, 10, 9], (False, True): [17, 15, 10, 15, 9]}[(sequential_like, show_trainable)]
    else:
        line_length = line_length or (88 if sequential_like else 108)
        positions = positions or ([0.45, 0.8, 1.0] if sequential_like else [0.3, 0.56, 0.74, 1.0])
        if show_trainable and len(positions) < len(headers):
            positions = [p * 0.9 for p in positions] + [1.0]
        if positions[-1] <= 1:
            positions = [int(line_length * p) for p in positions]
        widths = [positions[0]] + [positions[i] - positions[i - 1] for i in range(1, len(positions))]
        widths = [max(w - 3, 4) for w in widths]
    right = {2}  # Param # is right-aligned

    def line(left, mid, fill, end):
        return left + mid.join(fill * (w + 2) for w in widths) + end

    def row_lines(cells, vert="│"):
        wrapped = [_wrap(c, w) for c, w in zip(cells, widths)]
        height = max(len(c) for c in wrapped)
        out = []
        for i in range(height):
            parts = []
            for j, (c, w) in enumerate(zip(wrapped, widths)):
                text = c[i] if i < len(c) else ""
                parts.append(" " + (text.rjust(w) if j in right else text.ljust(w)) + " ")
            out.append(vert + vert.join(parts) + vert)
        return out

    rows = _rows_for(model, layers, sequential_like, show_trainable, expand_nested=expand_nested)
    out = [f'Model: "{model.name}"', line("┏", "┳", "━", "┓")]
    out += row_lines(headers, "┃")
    out.append(line("┡", "╇", "━", "┩"))
    for i, r in enumerate(rows):
        out += row_lines(r)
        if i < len(rows) - 1:
            out.append(line("├", "┼", "─", "┤"))
    out.append(line("└", "┴", "─", "┘"))
    total, total_bytes = _count(model.weights)
    trainable, trainable_bytes = _count(model.trainable_weights)
    non_trainable, nt_bytes = _count(model.non_trainable_weights)
    out.append(f" Total params: {total:,} ({readable_memory_size(total_bytes)})")
    out.append(f" Trainable params: {trainable:,} ({readable_memory_size(trainable_bytes)})")
    out.append(f" Non-trainable params: {non_trainable:,} ({readable_memory_size(nt_bytes)})")
    opt = getattr(model, "optimizer", None)
    opt_vars = getattr(opt, "variables", None) if opt is not None else None
    if opt_vars and not callable(opt_vars):
        n, size = _count([v for v in opt_vars if hasattr(v, "_value")])
        if n:
            out.append(f" Optimizer params: {n:,} ({readable_memory_size(size)})")
    for text in out:
        print_fn(text)
