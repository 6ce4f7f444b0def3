"""The ONNX graph builder and the walk over a Sequential or functional model's layer graph.

``GraphBuilder`` collects nodes and initializers with unique names; ``emit_model`` replays the
model's nodes (``model._self_graph.run_nodes``, already in topological order) and asks the
converter registered for each layer's exact class (``converters.REGISTRY``) to emit the ONNX nodes
for that call. Nested Sequential/functional models are inlined.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BATCH_DIM = "batch"
INT64_MIN = np.iinfo(np.int64).min


class ExportError(ValueError):
    """A model or layer that ``tapeflow.onnx.export`` cannot write as an equivalent ONNX graph."""


@dataclass
class Call:
    """One layer call as the converters see it: ONNX value names and static shapes of its inputs.

    ``inputs``/``shapes`` follow the flattened order of the call's tensor arguments (positional
    first, then keyword); ``args``/``kwargs`` are the raw call arguments (KerasTensors included),
    for converters that read constants or keyword tensors from them.
    """

    inputs: list
    shapes: list
    out_shapes: list
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def describe(layer) -> str:
    return f'layer "{layer.name}" ({type(layer).__name__})'


class GraphBuilder:
    """Accumulates ONNX nodes and initializers; every name it hands out is unique in the graph."""

    def __init__(self, onnx_module, opset: int):
        self.onnx = onnx_module
        self.helper = onnx_module.helper
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._used: set = set()
        self._const_cache: dict = {}

    def fresh(self, hint: str) -> str:
        base = "".join(c if c.isalnum() or c in "_./-:" else "_" for c in str(hint)) or "v"
        name, i = base, 1
        while name in self._used:
            name = f"{base}_{i}"
            i += 1
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim ``name`` exactly (graph inputs/outputs); an ExportError if it is already taken."""
        if name in self._used:
            raise ExportError(f"ONNX export: two graph inputs/outputs would both be named {name!r}; give the "
                              "model's Input layers and output layers distinct names")
        self._used.add(name)
        return name

    def op(self, op_type: str, inputs, hint: str, n_out: int = 1, outputs=None, **attrs):
        """Add one node; returns its output name (or a list of names when ``n_out > 1``)."""
        outs = list(outputs) if outputs is not None else [self.fresh(f"{hint}/{op_type}" + (f":{k}" if k else ""))
                                                          for k in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=self.fresh(f"{hint}/{op_type}_node"),
                                                **attrs))
        return outs[0] if len(outs) == 1 else outs

    def const(self, value, hint: str, dtype=np.float32) -> str:
        """An initializer holding ``value`` (cast to ``dtype``); small constants are shared."""
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        key = None
        if arr.size <= 16:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            if key in self._const_cache:
                return self._const_cache[key]
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        if key is not None:
            self._const_cache[key] = name
        return name

    def ints(self, values, hint: str = "const/ints") -> str:
        return self.const(list(values), hint, dtype=np.int64)

    # -- shorthands used by several converters -----------------------------------------------------------
    def transpose(self, x: str, perm, hint: str) -> str:
        return self.op("Transpose", [x], hint, perm=list(perm))

    def reshape(self, x: str, shape, hint: str) -> str:
        return self.op("Reshape", [x, self.ints(shape)], hint)

    def squeeze(self, x: str, axes, hint: str) -> str:
        return self.op("Squeeze", [x, self.ints(axes)], hint)

    def unsqueeze(self, x: str, axes, hint: str) -> str:
        return self.op("Unsqueeze", [x, self.ints(axes)], hint)

    def reverse(self, x: str, axis: int, hint: str) -> str:
        """``x`` read backwards along ``axis`` (a Slice with step -1; any length)."""
        return self.op("Slice", [x, self.ints([-1]), self.ints([INT64_MIN]), self.ints([axis]), self.ints([-1])],
                       hint)

    def reduce(self, op_type: str, x: str, axes, keepdims: bool, hint: str) -> str:
        """ReduceMean/ReduceMax/...: ``axes`` is an attribute before opset 18 and an input from it on."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], hint, keepdims=int(keepdims))
        return self.op(op_type, [x], hint, axes=axes, keepdims=int(keepdims))

    def chain(self, op_type: str, names, hint: str) -> str:
        """A left fold of a binary op over ``names`` (the order tapeflow computes in)."""
        out = names[0]
        for other in names[1:]:
            out = self.op(op_type, [out, other], hint)
        return out


def value_info(onnx_module, name: str, dtype, shape, dim_prefix: str):
    """A tensor type for a graph input/output: unknown axis 0 is ``"batch"``, other unknowns are named."""
    dims = []
    for i, d in enumerate(shape):
        if d is not None:
            dims.append(int(d))
        else:
            dims.append(BATCH_DIM if i == 0 else f"{dim_prefix}_dim{i}")
    elem = onnx_module.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return onnx_module.helper.make_tensor_value_info(name, elem, dims)


def model_graph(model):
    """The layer graph of a Sequential/functional model, or an ExportError saying why there is none."""
    g = model.__dict__.get("_self_graph")
    if g is not None:
        return g
    kind = type(model).__name__
    if hasattr(model, "_seq_layers"):
        raise ExportError(f'ONNX export: Sequential model "{model.name}" is not built, so its input shape is '
                          "unknown. Start it with keras.Input(shape=...), pass input_shape= to the first layer, "
                          "or call model.build((None, ...)) before exporting.")
    raise ExportError(f'ONNX export: model "{model.name}" ({kind}) is a subclassed Model whose call() is Python '
                      "code, not a layer graph. Only Sequential and functional models (keras.Model(inputs, "
                      "outputs)) can be exported; rebuild it with the functional API.")


def emit_model(b: GraphBuilder, model, input_names: list, registry: dict) -> list:
    """Emit the nodes of ``model`` fed by ``input_names``; returns the ONNX names of its flat outputs."""
    g = model_graph(model)
    if len(input_names) != len(g.flat_inputs):
        raise ExportError(f'ONNX export: model "{model.name}" takes {len(g.flat_inputs)} input(s) but is called on '
                          f"{len(input_names)} here")
    values = {id(t): n for t, n in zip(g.flat_inputs, input_names)}
    for node in g.run_nodes:
        layer = node.operation
        ins = [values[id(t)] for t in node.input_tensors]
        if getattr(layer, "_self_graph", None) is not None or hasattr(layer, "_seq_layers"):
            outs = emit_model(b, layer, ins, registry)
        else:
            convert = registry.get(type(layer))
            if convert is None:
                names = sorted({c.__name__ for c in registry})
                raise ExportError(f"ONNX export: no converter for {describe(layer)}. Supported layer classes: "
                                  f"{', '.join(names)}. Replace the layer with supported ones (or leave it out "
                                  "of the exported model).")
            _check_dtype(layer)
            if any(k == "mask" for k in node.call_kwargs) and node.call_kwargs["mask"] is not None:
                raise ExportError(f"ONNX export: {describe(layer)} is called with an explicit mask=; masked "
                                  "calls are not exported (the ONNX graph would ignore the mask)")
            if node.call_kwargs.get("training") is True:
                raise ExportError(f"ONNX export: {describe(layer)} is called with training=True in the model, so "
                                  "it runs in training mode on every call (dropout, batch statistics); the "
                                  "exported graph is inference-only. Call the layer without training=True.")
            call = Call(ins, [t._shape for t in node.input_tensors], [t._shape for t in node.output_tensors],
                        node.call_args, node.call_kwargs)
            outs = convert(b, layer, call)
            outs = [outs] if isinstance(outs, str) else list(outs)
        if len(outs) != len(node.output_tensors):
            raise ExportError(f"ONNX export: internal error: {describe(layer)} produced {len(outs)} outputs, "
                              f"expected {len(node.output_tensors)}")
        for t, n in zip(node.output_tensors, outs):
            values[id(t)] = n
    return [values[id(t)] for t in g.flat_outputs]


def _check_dtype(layer) -> None:
    dt = getattr(layer, "_compute_dtype", None)
    if dt is not None and np.dtype(dt) != np.float32:
        raise ExportError(f"ONNX export: {describe(layer)} computes in {np.dtype(dt).name}; the exporter writes "
                          "float32 graphs. Build the model with the float32 dtype policy to export it.")
