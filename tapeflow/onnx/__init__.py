"""ONNX export: write a Sequential or functional tapeflow model as an ONNX graph (``tapeflow.onnx.export``).

The ``onnx`` package is imported only when ``export`` runs (``pip install tapeflow[onnx]``), so
``import tapeflow`` stays fast. The exported graph computes the model's inference-mode outputs
(``model(x, training=False)``) in float32 with a dynamic batch axis named ``"batch"``.

Supported layers: Dense, Activation and the activation layers (ReLU, LeakyReLU, ELU, PReLU,
Softmax), Conv1D/Conv2D (any padding, strides, dilation, groups), DepthwiseConv1D/2D,
SeparableConv1D/2D, Max/AveragePooling1D/2D, Global{Max,Average}Pooling1D/2D, BatchNormalization,
LayerNormalization, Dropout and the other noise layers (identity at inference), Flatten, Reshape,
Permute, RepeatVector, ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D,
Add/Subtract/Multiply/Average/Maximum/Minimum/Concatenate, Embedding, tensor operators on symbolic
tensors (``x + y``, ``x[:, 0]``), LSTM/GRU/SimpleRNN (and ``RNN`` over their cells), Bidirectional,
TimeDistributed, and nested Sequential/functional models. Any other layer, masking (``Masking``,
``Embedding(mask_zero=True)``) and non-float32 layers are refused with an error naming the layer.
"""
from __future__ import annotations

import os

from .graph import ExportError

__all__ = ["export", "ExportError", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17
_MIN_OPSET = 17
_MAX_BYTES = 2 ** 31 - 1  # protobuf's limit for one serialized model
_INPUT_DTYPES = ("float32", "int32", "int64")


def _import_onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError("tapeflow.onnx.export needs the `onnx` package: pip install tapeflow[onnx] "
                          "(or pip install onnx)") from e
    return onnx


def export(model, filepath, opset: int = DEFAULT_OPSET):
    """Write ``model`` (Sequential or functional) to ``filepath`` as an ONNX model; returns the ModelProto.

    The graph's inputs are named after the model's Input layers and its outputs after its output
    layers; an unknown batch axis becomes the symbolic dimension ``"batch"``. Weights are stored
    as float32 initializers. The file is checked with ``onnx.checker`` and written through a
    temporary file that is renamed into place.

    Args:
        model: a built ``keras.Sequential`` or functional ``keras.Model``.
        filepath: where to write the ``.onnx`` file (replaced if it exists).
        opset: the ONNX opset to target, 17 (the default, for LayerNormalization) or newer.

    Raises:
        ExportError (a ValueError): a layer, activation or setting has no exact ONNX equivalent;
            the message names the layer and lists what is supported.
        ImportError: the ``onnx`` package is not installed.

    >>> import os, tempfile
    >>> import numpy as np, tapeflow as tf
    >>> inputs = tf.keras.Input(shape=(4,), name="features")
    >>> model = tf.keras.Model(inputs, tf.keras.layers.Dense(3, activation="relu", name="scores")(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> proto = tf.onnx.export(model, path)
    >>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
    (['features'], ['scores'])
    >>> import onnxruntime as ort
    >>> x = np.ones((2, 4), np.float32)
    >>> y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"features": x})[0]
    >>> bool(np.allclose(y, model(x).numpy(), atol=1e-5))
    True
    """
    onnx = _import_onnx()
    from .. import __version__
    from ..keras.saving.safety import write_bytes_atomic
    from . import recurrent  # noqa: F401 - registers the recurrent converters
    from .converters import REGISTRY
    from .graph import GraphBuilder, emit_model, model_graph, value_info

    max_opset = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not _MIN_OPSET <= opset <= max_opset:
        raise ValueError(f"tapeflow.onnx.export: opset must be an int from {_MIN_OPSET} to {max_opset} (the newest "
                         f"the installed onnx {onnx.__version__} knows), got {opset!r}")
    if not getattr(model, "_is_layer", False) or not hasattr(model, "train_step"):
        raise TypeError(f"tapeflow.onnx.export: expected a keras Model (Sequential or functional), got "
                        f"{type(model).__name__}. Wrap a single layer in keras.Sequential([keras.Input(...), layer]).")
    g = model_graph(model)
    b = GraphBuilder(onnx, opset)
    graph_inputs, input_names = [], []
    for t in g.flat_inputs:
        if t._dtype.name not in _INPUT_DTYPES:
            raise ExportError(f'ONNX export: model input "{t.name}" has dtype {t._dtype.name}; supported input '
                              f"dtypes are {', '.join(_INPUT_DTYPES)}")
        name = b.reserve(t.name)
        input_names.append(name)
        graph_inputs.append(value_info(onnx, name, t._dtype, t._shape, name))
    output_names = [b.fresh(n) for n in _output_names(model, g)]
    internal = emit_model(b, model, input_names, REGISTRY)
    graph_outputs = []
    for t, src, name in zip(g.flat_outputs, internal, output_names):
        b.op("Identity", [src], name, outputs=[name])
        graph_outputs.append(value_info(onnx, name, t._dtype, t._shape, name))
    graph = onnx.helper.make_graph(b.nodes, model.name, graph_inputs, graph_outputs, b.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="tapeflow",
                                   producer_version=__version__,
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    proto.doc_string = f"tapeflow model {model.name!r} (inference mode)"
    size = proto.ByteSize()
    if size > _MAX_BYTES:
        raise ExportError(f"ONNX export: model \"{model.name}\" serializes to {size} bytes, over protobuf's 2 GiB "
                          "limit for one ONNX file")
    onnx.checker.check_model(proto, full_check=True)
    write_bytes_atomic(os.fspath(filepath), proto.SerializeToString())
    return proto


def _output_names(model, g) -> list:
    """The output layers' names (Keras's ``model.output_names``), one per flat output tensor."""
    names = []
    for t in g.flat_outputs:
        layer = t._keras_history.operation
        names.append(layer.name if t._keras_history.tensor_index == 0 else
                     f"{layer.name}_{t._keras_history.tensor_index}")
    return names
