"""The functional API: symbolic layer calls, the layer graph, running it, and its config.

``symbolic_call`` runs when a layer is called on KerasTensors: it builds the layer from the
symbolic shapes, infers output shapes (``layers/shape_inference.py``) and records a ``Node``.
``Functional(inputs, outputs)`` orders the nodes between inputs and outputs (Keras's depth
ordering) and replays them eagerly on each call.
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor, convert_to_tensor
from ...ops import array_ops as A
from ..layers.base import Layer
from ..layers.shape_inference import map_struct, run_on_specs
from .keras_tensor import KerasTensor, Node, flatten
from .model import Model


def _is_pair(p) -> bool:
    return isinstance(p, tuple) and len(p) == 2 and isinstance(p[1], np.dtype)


def symbolic_call(layer, args, kwargs):
    """Call ``layer`` on KerasTensors: returns output KerasTensors and records a Node."""
    if not layer.built:
        layer._build_on_call(args[0], args, kwargs)
    out = run_on_specs(layer, args, kwargs)
    outputs = map_struct(lambda p: KerasTensor(p[0] if p[0] is not None else (), p[1]), out, leaf=_is_pair)
    Node(layer, args, kwargs, outputs)
    return outputs


from .op_layer import OpLayer, keras_op_call, op_call  # noqa: E402,F401  (re-exported: ops on KerasTensors)


# -- graph --------------------------------------------------------------------------------
class Graph:
    """The nodes of a functional model between its inputs and outputs, in execution order."""

    def __init__(self, inputs, outputs):
        self.flat_inputs = flatten(inputs)
        self.flat_outputs = flatten(outputs)
        if not self.flat_inputs:
            raise ValueError("Model(inputs, outputs): inputs must be KerasTensors from keras.Input()")
        for x in self.flat_inputs + self.flat_outputs:
            if not isinstance(x, KerasTensor) or x._keras_history is None:
                raise ValueError(f"Model(inputs, outputs): expected KerasTensors made by keras.Input() and layer "
                                 f"calls, got {x!r}")
        input_ids = {id(x) for x in self.flat_inputs}
        finished, in_progress, ordered, op_index = set(), set(), [], {}

        def visit(t):
            op, node_index, _ = t._keras_history
            node = op._inbound_nodes[node_index]
            if id(node) in finished:
                return
            if id(t) in input_ids and not node.is_input:  # a declared input made by an outside layer
                finished.add(id(node))
                boundary.add(id(node))
                return
            if id(node) in in_progress:
                raise ValueError(f"Tensor {t} from layer '{op.name}' is part of a cycle.")
            op_index.setdefault(op, len(op_index))
            in_progress.add(id(node))
            if not node.is_input:
                for x in node.input_tensors:
                    visit(x)
            finished.add(id(node))
            in_progress.discard(id(node))
            ordered.append(node)

        boundary: set = set()
        for t in self.flat_outputs:
            visit(t)
        for node in ordered:
            if node.is_input and not any(id(t) in input_ids for t in node.output_tensors):
                raise ValueError(
                    f"Graph disconnected: cannot obtain the value of tensor {node.output_tensors[0]} "
                    f"(from input layer '{node.operation.name}'); it is not among the model inputs.")
        for x in self.flat_inputs:  # inputs that no output depends on still belong to the model
            op, ni, _ = x._keras_history
            node = op._inbound_nodes[ni]
            if id(node) not in finished and node.is_input:
                op_index.setdefault(op, len(op_index))
                ordered.insert(0, node)
                finished.add(id(node))
        # depths: outputs at 0, growing toward the inputs (Keras's ordering of layers)
        node_depth, op_depth = {}, {}
        for node in reversed(ordered):
            d = max(node_depth.setdefault(id(node), 0), op_depth.get(node.operation, 0))
            op_depth[node.operation] = d
            node_depth[id(node)] = d
            for x in node.input_tensors:
                op, ni, _ = x._keras_history
                parent = op._inbound_nodes[ni]
                if id(x) in input_ids and not parent.is_input:
                    continue  # a declared input made by an outside layer: not part of this graph
                node_depth[id(parent)] = max(d + 1, node_depth.get(id(parent), 0))
        by_depth: dict = {}
        for op, d in op_depth.items():
            by_depth.setdefault(d, []).append(op)
        self.operations = []
        for d in sorted(by_depth, reverse=True):
            self.operations.extend(sorted(by_depth[d], key=lambda o: op_index.get(o, 0)))
        self.nodes = ordered
        self.node_ids = {id(n) for n in ordered}
        self.run_nodes = [n for n in ordered if not n.is_input]
        self.nodes_by_depth = {}
        for n in ordered:
            self.nodes_by_depth.setdefault(node_depth.get(id(n), 0), []).append(n)


def _adjust_rank(x: Tensor, ref: KerasTensor) -> Tensor:
    """Keras's allowance: (batch,) data for a (None, 1) input, or (batch, 1) for (None,)."""
    n, r = x._value.ndim, len(ref._shape)
    if n == r + 1 and x._value.shape[-1] == 1:
        return A.squeeze(x, axis=-1)
    if n == r - 1 and ref._shape[-1] == 1:
        return A.expand_dims(x, -1)
    return x


def standardize_inputs(model, inputs, struct, flat_refs) -> list:
    """Model inputs (one tensor, a list, or a dict by input name) as a flat list, shapes checked."""
    if isinstance(inputs, dict):
        if isinstance(struct, dict):
            missing = [k for k in struct if k not in inputs]
            if missing:
                raise ValueError(f'Model "{model.name}": missing inputs {missing}; expected keys {list(struct)}')
            flat = [inputs[k] for k in sorted(struct, key=str)]  # the order of flatten(), as Keras
        else:
            names = [r.name for r in flat_refs]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f'Model "{model.name}": input dict keys {sorted(inputs)} do not match the '
                                 f"model's input names {names}")
            flat = [inputs[n] for n in names]
    elif isinstance(struct, KerasTensor):
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(v, (Tensor, np.ndarray)) for v in inputs):
            flat = list(inputs)
        else:
            flat = [inputs]
    elif isinstance(inputs, (list, tuple)):
        flat = list(inputs)
    else:
        flat = [inputs]
    if len(flat) != len(flat_refs):
        raise ValueError(f'Model "{model.name}" expects {len(flat_refs)} input(s), but it received {len(flat)} '
                         f"input tensors.")
    out = []
    for i, (x, ref) in enumerate(zip(flat, flat_refs)):
        if not isinstance(x, Tensor):
            x = convert_to_tensor(np.asarray(x))
        if x._value.dtype != ref._dtype and x._value.dtype.kind in "biuf" and ref._dtype.kind in "biuf":
            x = A.cast(x, ref._dtype)  # as Keras: data takes the dtype of its Input (ints for a float model)
        x = _adjust_rank(x, ref)
        shape = x._value.shape
        if len(shape) != len(ref._shape) or any(r is not None and r != d for r, d in zip(ref._shape, shape)):
            raise ValueError(f'Input {i} of layer "{model.name}" is incompatible with the layer: expected '
                             f"shape={ref._shape}, found shape={tuple(shape)}")
        out.append(x)
    return out


def run_graph(model, inputs, training=None, mask=None):
    g = model._self_graph
    flat = standardize_inputs(model, inputs, model._inputs_struct, g.flat_inputs)
    values = {id(ref): x for ref, x in zip(g.flat_inputs, flat)}
    if mask is not None:
        for x, m in zip(flat, mask if isinstance(mask, (list, tuple)) else [mask]):
            if m is not None and type(x) is Tensor:
                x._keras_mask = m

    def value_of(t):
        return values[id(t)]
    for node in g.run_nodes:
        args, kwargs = node.call_args, node.call_kwargs
        if len(args) == 1 and not kwargs and isinstance(args[0], KerasTensor):
            out = node.operation(values[id(args[0])])
        else:
            out = node.operation(*map_struct(value_of, args), **map_struct(value_of, kwargs))
        outs = node.output_tensors
        if len(outs) == 1 and isinstance(out, Tensor):
            values[id(outs[0])] = out
        else:
            for t, v in zip(outs, _flatten_values(out)):
                values[id(t)] = v
    struct = model._outputs_struct
    if isinstance(struct, (list, tuple)) and len(struct) == 1:  # Model(x, [y]) returns y itself, as Keras's
        return value_of(struct[0]) if isinstance(struct[0], KerasTensor) else map_struct(value_of, struct[0])
    return map_struct(value_of, struct)


def _flatten_values(x) -> list:
    if isinstance(x, (list, tuple)):
        return [v for e in x for v in _flatten_values(e)]
    if isinstance(x, dict):
        return [v for e in x.values() for v in _flatten_values(e)]
    return [x]


class Functional(Model):
    """A model defined by ``Model(inputs, outputs)`` (see ``keras.Model``).

    >>> import tapeflow as tf
    >>> x = tf.keras.Input(shape=(3,))
    >>> m = tf.keras.Model(x, tf.keras.layers.Dense(2)(x))
    >>> type(m).__name__, m(tf.ones((4, 3))).shape.as_list()
    ('Functional', [4, 2])
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, inputs=inputs, outputs=outputs, name=name, trainable=trainable, **kwargs)


# -- config -------------------------------------------------------------------------------
# Keras 3 numbers a layer's nodes in a config by the nodes of this model only. A reference in
# input_layers/output_layers to a nested functional model counts one more (its "own" first node, a
# Keras 2 survival); a reference inside a node's arguments does not. Files tapeflow wrote before it
# followed this (no "tapeflow_format" in their metadata) counted one more in the arguments too.
LEGACY_ARG_OFFSET = [False]  # set by keras_zip.load_model while it reads such a file


def _kept_nodes(model):
    """For each layer: its node indices (in the layer) -> their index among this model's nodes."""
    g = model._self_graph
    kept = {}
    for op in g.operations:
        idx = {}
        for i, node in enumerate(op._inbound_nodes):
            if id(node) in g.node_ids:
                idx[i] = len(idx)
        kept[op] = idx
    return kept


def _is_functional(op) -> bool:
    return getattr(op, "_self_graph", None) is not None and not hasattr(op, "_seq_layers")


def _ser_arg(v, kept):
    if isinstance(v, KerasTensor):
        op, ni, ti = v._keras_history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(v._shape), "dtype": v._dtype.name,
                           "keras_history": [op.name, kept[op][ni], ti]}}
    if isinstance(v, slice):
        return {"class_name": "__slice__", "config": {"start": _ser_arg(v.start, kept),
                                                      "stop": _ser_arg(v.stop, kept), "step": _ser_arg(v.step, kept)}}
    if v is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(v, (list, tuple)):  # a tuple is written as a list, as Keras writes it (Keras reads no __tuple__)
        return [_ser_arg(e, kept) for e in v]
    if isinstance(v, dict):
        return {k: _ser_arg(e, kept) for k, e in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (np.ndarray, Tensor)):
        return np.asarray(v).tolist()
    return v


def functional_get_config(model) -> dict:
    from ..layers import serialize
    g = model._self_graph
    kept = _kept_nodes(model)
    layer_configs = []
    for op in g.operations:
        nodes = []
        for i, node in enumerate(op._inbound_nodes):
            if id(node) in g.node_ids and node.input_tensors:
                nodes.append({"args": _ser_arg(list(node.call_args), kept),
                              "kwargs": _ser_arg(node.call_kwargs, kept)})
        cfg = serialize(op)
        cfg["name"] = op.name
        cfg["inbound_nodes"] = nodes
        layer_configs.append(cfg)

    def ref(t):
        op, ni, ti = t._keras_history
        return [op.name, kept[op][ni] + (1 if _is_functional(op) else 0), ti]
    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": map_struct(ref, model._inputs_struct, leaf=lambda v: isinstance(v, KerasTensor)),
            "output_layers": map_struct(ref, model._outputs_struct, leaf=lambda v: isinstance(v, KerasTensor))}


def _tensor_at(created, name, node_index, tensor_index, in_args=False):
    if name not in created:
        raise IndexError(name)
    layer = created[name]
    if _is_functional(layer) and (not in_args or LEGACY_ARG_OFFSET[0]):
        node_index -= 1
    if node_index >= len(layer._inbound_nodes):
        raise IndexError(name)
    return layer._inbound_nodes[node_index].output_tensors[tensor_index]


def _deser_arg(v, created):
    if isinstance(v, dict):
        cn = v.get("class_name")
        if cn == "__keras_tensor__":
            return _tensor_at(created, *v["config"]["keras_history"], in_args=True)
        if cn == "__slice__":
            c = v["config"]
            return slice(_deser_arg(c["start"], created), _deser_arg(c["stop"], created),
                         _deser_arg(c["step"], created))
        if cn == "__ellipsis__":
            return Ellipsis
        if cn == "__tuple__":
            return tuple(_deser_arg(e, created) for e in v["config"]["value"])
        return {k: _deser_arg(e, created) for k, e in v.items()}
    if isinstance(v, list):
        return [_deser_arg(e, created) for e in v]
    return v


def _is_ref(v) -> bool:
    return isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and isinstance(v[1], int)


def functional_from_config(cls, config, custom_objects=None):
    """Rebuild a functional model from ``functional_get_config`` output (Keras 3's format)."""
    from ..layers import deserialize
    config = dict(config)
    created, pending = {}, {}
    for layer_data in config["layers"]:
        layer = deserialize(layer_data, custom_objects=custom_objects)
        created[layer_data["name"]] = layer
        pending[layer_data["name"]] = list(layer_data.get("inbound_nodes", []))
    progress = True
    while any(pending.values()) and progress:
        progress = False
        for layer_data in config["layers"]:
            name = layer_data["name"]
            queue = pending[name]
            while queue:
                node = queue[0]
                try:
                    args = _deser_arg(node.get("args", []), created)
                    kwargs = _deser_arg(node.get("kwargs", {}), created)
                except IndexError:
                    break
                created[name](*args, **kwargs)
                queue.pop(0)
                progress = True
    if any(pending.values()):
        raise ValueError(f"Functional config: could not connect layers {[k for k, v in pending.items() if v]}")

    def resolve(v):
        if _is_ref(v):
            return _tensor_at(created, *v)
        if isinstance(v, dict):
            return {k: resolve(e) for k, e in v.items()}
        return [resolve(e) for e in v]
    inputs, outputs = resolve(config["input_layers"]), resolve(config["output_layers"])
    extra = {k: v for k, v in config.items() if k not in ("layers", "input_layers", "output_layers")}
    if cls is Model or not issubclass(cls, Model):
        cls = Functional
    return cls(inputs=inputs, outputs=outputs, **extra)
