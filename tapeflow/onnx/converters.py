"""Layer converters: one function per layer family, emitting ONNX nodes that compute what the
layer computes in inference mode (``training=False``).

A converter takes ``(builder, layer, call)`` (see ``graph.Call``) and returns the ONNX names of the
call's outputs. ``REGISTRY`` maps exact layer classes to converters: a subclass with its own
``call`` is a different layer, so it is refused rather than exported as its parent.

Tensors stay in the layer's own data format throughout the graph; a channels_last convolution or
pooling transposes to ONNX's channels-first layout and back around its one op (onnxruntime's
optimizer cancels the back-to-back transposes between consecutive convolutions), so Flatten and
Reshape see exactly tapeflow's element order.
"""
from __future__ import annotations

import numpy as np

from ..keras.layers import activation as act_layers
from ..keras.layers import convolutional as conv
from ..keras.layers import core, embedding, merging, normalization, pooling, recurrent, regularization, reshaping
from ..keras.models.functional import OpLayer
from ..keras.models.keras_tensor import KerasTensor
from . import activations
from .graph import Call, ExportError, GraphBuilder, describe

REGISTRY: dict = {}
INT64_MAX = np.iinfo(np.int64).max


def register(*classes):
    def deco(fn):
        for cls in classes:
            REGISTRY[cls] = fn
        return fn
    return deco


def weight(v) -> np.ndarray:
    """A variable's current value as float32."""
    return np.asarray(v.numpy(), dtype=np.float32)


def apply_activation(b: GraphBuilder, fn, x: str, shape, layer) -> str:
    """``fn(x)`` for a layer's ``activation``: a built-in function, or an activation layer instance."""
    if getattr(fn, "_is_layer", False) and type(fn) in REGISTRY:
        return REGISTRY[type(fn)](b, fn, Call([x], [shape], [shape]))
    return activations.emit(b, fn, x, shape, layer.name, describe(layer))


# -- core ------------------------------------------------------------------------------------------------
def _refuse_quantized(layer) -> None:
    if getattr(layer, "quantization_mode", None) is not None:
        raise ExportError(f"ONNX export: {describe(layer)} is quantized ({layer._dtype_policy_name}); its integer "
                          "weights are not exported. Export the float model, before quantize().")


@register(core.Dense, regularization.DropConnectDense)
def dense(b, layer, call):
    _refuse_quantized(layer)
    h = layer.name
    y = b.op("MatMul", [call.inputs[0], b.const(weight(layer.kernel), f"{h}/kernel")], h)
    if layer.bias is not None:
        y = b.op("Add", [y, b.const(weight(layer.bias), f"{h}/bias")], h)
    return apply_activation(b, layer.activation, y, call.out_shapes[0], layer)


@register(core.Activation)
def activation(b, layer, call):
    return apply_activation(b, layer.activation, call.inputs[0], call.shapes[0], layer)


@register(core.Identity, core.Dropout, regularization.SpatialDropout1D, regularization.SpatialDropout2D,
          regularization.SpatialDropout3D, regularization.AlphaDropout, regularization.GaussianNoise,
          regularization.GaussianDropout, regularization.ActivityRegularization)
def identity(b, layer, call):
    """Noise and regularization layers are the identity at inference."""
    return call.inputs[0]


@register(regularization.StochasticDepth)
def stochastic_depth(b, layer, call):
    """The identity at inference; ``[shortcut, residual]`` becomes their sum."""
    if len(call.inputs) == 2:
        return b.op("Add", call.inputs, layer.name)
    return call.inputs[0]


@register(core.Flatten)
def flatten(b, layer, call):
    x, rank = call.inputs[0], len(call.shapes[0])
    if layer.data_format == "channels_first" and rank > 2:
        x = b.transpose(x, (0,) + tuple(range(2, rank)) + (1,), layer.name)
    return b.reshape(x, [0, -1], layer.name)


@register(core.Reshape)
def reshape(b, layer, call):
    return b.reshape(call.inputs[0], [0] + list(layer.target_shape), layer.name)


@register(reshaping.Permute)
def permute(b, layer, call):
    return b.transpose(call.inputs[0], (0,) + tuple(layer.dims), layer.name)


@register(reshaping.RepeatVector)
def repeat_vector(b, layer, call):
    x = b.unsqueeze(call.inputs[0], [1], layer.name)
    return b.op("Tile", [x, b.ints([1, layer.n, 1])], layer.name)


@register(reshaping.ZeroPadding1D, reshaping.ZeroPadding2D)
def zero_padding(b, layer, call):
    rank, first = len(call.shapes[0]), layer._first()
    before, after = [0] * rank, [0] * rank
    for i, (lo, hi) in enumerate(layer.padding):
        before[first + i], after[first + i] = lo, hi
    return b.op("Pad", [call.inputs[0], b.ints(before + after)], layer.name, mode="constant")


@register(reshaping.Cropping1D, reshaping.Cropping2D)
def cropping(b, layer, call):
    first = layer._first()
    starts = [lo for lo, _ in layer.cropping]
    ends = [-hi if hi else INT64_MAX for _, hi in layer.cropping]
    axes = [first + i for i in range(len(layer.cropping))]
    return b.op("Slice", [call.inputs[0], b.ints(starts), b.ints(ends), b.ints(axes)], layer.name)


@register(reshaping.UpSampling1D, reshaping.UpSampling2D)
def upsampling(b, layer, call):
    """Nearest-neighbour repetition: Resize with integer scales, floor rounding, asymmetric coordinates."""
    scales = [1.0] * len(call.shapes[0])
    for i, s in enumerate(layer.size):
        scales[layer._first() + i] = float(s)
    return b.op("Resize", [call.inputs[0], "", b.const(scales, f"{layer.name}/scales")], layer.name, mode="nearest",
                nearest_mode="floor", coordinate_transformation_mode="asymmetric")


@register(embedding.Embedding)
def embedding_lookup(b, layer, call):
    _refuse_quantized(layer)
    if layer.mask_zero:
        raise ExportError(f"ONNX export: {describe(layer)} has mask_zero=True; masks are not exported (downstream "
                          "layers would treat padding steps as data). Export a model without mask_zero.")
    ids = b.op("Cast", [call.inputs[0]], layer.name, to=b.onnx.TensorProto.INT64)
    return b.op("Gather", [b.const(weight(layer.embeddings), f"{layer.name}/embeddings"), ids], layer.name, axis=0)


@register(recurrent.Masking)
def masking(b, layer, call):
    raise ExportError(f"ONNX export: {describe(layer)} is refused: masks are not exported, so the layers after it "
                      "would treat the masked time steps as data. Remove the Masking layer (or pad differently) "
                      "to export.")


# -- activation layers -------------------------------------------------------------------------------------
@register(act_layers.ReLU)
def relu_layer(b, layer, call):
    x, h = call.inputs[0], layer.name
    slope, mx, thr = layer.negative_slope, layer.max_value, layer.threshold
    if thr == 0 and slope == 0:
        return b.op("Relu", [x], h) if mx is None else activations._clip(0.0, float(mx))(b, x, h)
    if thr == 0 and mx is None:
        return b.op("LeakyRelu", [x], h, alpha=float(slope))
    pos = x if mx is None else b.op("Min", [x, b.const(float(mx), "const/max_value")], h)
    t = b.const(thr, "const/threshold")
    neg = b.op("Mul", [b.op("Sub", [x, t], h), b.const(slope, "const/negative_slope")], h)
    return b.op("Where", [b.op("Greater", [x, t], h), pos, neg], h)


@register(act_layers.LeakyReLU)
def leaky_relu_layer(b, layer, call):
    return b.op("LeakyRelu", [call.inputs[0]], layer.name, alpha=float(layer.negative_slope))


@register(act_layers.ELU)
def elu_layer(b, layer, call):
    return b.op("Elu", [call.inputs[0]], layer.name, alpha=float(layer.alpha))


@register(act_layers.PReLU)
def prelu_layer(b, layer, call):
    return b.op("PRelu", [call.inputs[0], b.const(weight(layer.alpha), f"{layer.name}/alpha")], layer.name)


@register(act_layers.Softmax)
def softmax_layer(b, layer, call):
    x, h = call.inputs[0], layer.name
    if isinstance(layer.axis, (list, tuple)):
        rank = len(call.shapes[0])
        lse = b.reduce("ReduceLogSumExp", x, [a % rank for a in layer.axis], True, h)
        return b.op("Exp", [b.op("Sub", [x, lse], h)], h)
    return b.op("Softmax", [x], h, axis=int(layer.axis))


# -- merging -----------------------------------------------------------------------------------------------
_MERGE_OPS = {merging.Add: "Add", merging.Subtract: "Sub", merging.Multiply: "Mul", merging.Maximum: "Max",
              merging.Minimum: "Min", merging.Average: "Add"}


@register(*_MERGE_OPS)
def merge(b, layer, call):
    out = b.chain(_MERGE_OPS[type(layer)], call.inputs, layer.name)
    if type(layer) is merging.Average:
        out = b.op("Div", [out, b.const(float(len(call.inputs)), "const/count")], layer.name)
    return out


@register(merging.Concatenate)
def concatenate(b, layer, call):
    return b.op("Concat", call.inputs, layer.name, axis=int(layer.axis))


# -- tensor operators on KerasTensors (x + y, x * 2, x[:, 0]...) ---------------------------------------------
_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "true_divide": "Div", "divide": "Div", "power": "Pow",
           "matmul": "MatMul"}
_UNARY = {"negative": "Neg", "absolute": "Abs", "abs": "Abs"}


@register(OpLayer)
def op_layer(b, layer, call):
    names = iter(call.inputs)
    ref = next(a for a in call.args if isinstance(a, KerasTensor))
    if layer.op not in _BINARY and layer.op not in _UNARY and layer.op != "get_item":
        raise ExportError(f"ONNX export: {describe(layer)}: the operation {layer.op!r} has no converter; tensor "
                          f"operators +, -, *, /, **, @, unary - and abs(), and indexing do")
    if layer.op == "get_item":
        return _getitem(b, layer, next(names), call.shapes[0], call.args[1])
    operands = []
    for a in call.args:
        if isinstance(a, KerasTensor):
            operands.append(next(names))
        elif isinstance(a, (int, float, np.number, np.ndarray)):
            operands.append(b.const(a, f"{layer.name}/constant", dtype=ref.dtype))
        else:
            raise ExportError(f"ONNX export: {describe(layer)}: operand {a!r} is neither a tensor nor a number")
    if layer.op in _BINARY:
        return b.op(_BINARY[layer.op], operands, layer.name)
    return b.op(_UNARY[layer.op], operands, layer.name)


def _getitem(b, layer, x, shape, key):
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise ExportError(f"ONNX export: {describe(layer)}: an index may hold one Ellipsis, got {key!r}")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    starts, ends, axes, steps, squeeze = [], [], [], [], []
    for axis, k in enumerate(key):
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            k = int(k)
            starts.append(k)
            ends.append(k + 1 if k != -1 else INT64_MAX)
            steps.append(1)
            squeeze.append(axis)
        elif isinstance(k, slice) and all(v is None or isinstance(v, (int, np.integer)) for v in
                                          (k.start, k.stop, k.step)) and (k.step is None or k.step > 0):
            starts.append(0 if k.start is None else int(k.start))
            ends.append(INT64_MAX if k.stop is None else int(k.stop))
            steps.append(1 if k.step is None else int(k.step))
        else:
            raise ExportError(f"ONNX export: {describe(layer)}: index {key!r} is not exportable; only integers, "
                              "slices with a positive step and one Ellipsis are")
        axes.append(axis)
    y = b.op("Slice", [x, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)], layer.name)
    return b.squeeze(y, squeeze, layer.name) if squeeze else y


# -- convolution and pooling --------------------------------------------------------------------------------
def _pads(padding, spatial, kernel, strides, dilations) -> dict:
    """ONNX padding attributes for Keras's ``valid`` / ``same`` / ``causal`` (TF's same: extra at the end)."""
    r = len(kernel)
    if padding == "valid":
        return {"pads": [0] * (2 * r)}
    k_eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    if padding == "causal":
        return {"pads": [k_eff[0] - 1, 0]}
    if any(n is None for n in spatial) and any(s != 1 for s in strides):
        return {"auto_pad": "SAME_UPPER"}
    totals = []
    for n, k, s in zip(spatial, k_eff, strides):
        totals.append(k - 1 if n is None else max((-(-n // s) - 1) * s + k - n, 0))
    return {"pads": [t // 2 for t in totals] + [t - t // 2 for t in totals]}


def _to_cf(rank):
    return (0, rank + 1) + tuple(range(1, rank + 1))


def _to_cl(rank):
    return (0,) + tuple(range(2, rank + 2)) + (1,)


def _onnx_kernel(k: np.ndarray) -> np.ndarray:
    """Keras ``(k..., in, out)`` -> ONNX ``(out, in, k...)``."""
    r = k.ndim - 2
    return np.ascontiguousarray(np.transpose(k, (r + 1, r) + tuple(range(r))))


def _spatial_op(b, layer, call, emit_cf):
    """Run ``emit_cf(x_channels_first, spatial_shape)`` in ONNX's layout, transposing for channels_last."""
    shape, rank = call.shapes[0], layer.rank
    cf = layer.data_format == "channels_first"
    spatial = shape[2:] if cf else shape[1:-1]
    x = call.inputs[0] if cf else b.transpose(call.inputs[0], _to_cf(rank), layer.name)
    y = emit_cf(x, spatial)
    return y if cf else b.transpose(y, _to_cl(rank), layer.name)


def _conv_node(b, layer, x, spatial, kernel, bias, group, kernel_size=None, strides=None, dilations=None,
               padding=None, tag=""):
    kernel_size = layer.kernel_size if kernel_size is None else kernel_size
    strides = layer.strides if strides is None else strides
    dilations = layer.dilation_rate if dilations is None else dilations
    padding = layer.padding if padding is None else padding
    ins = [x, b.const(kernel, f"{layer.name}/{tag}kernel")]
    if bias is not None:
        ins.append(b.const(bias, f"{layer.name}/bias"))
    return b.op("Conv", ins, layer.name, kernel_shape=list(kernel_size), strides=list(strides),
                dilations=list(dilations), group=int(group),
                **_pads(padding, spatial, kernel_size, strides, dilations))


def _depthwise_kernel(k: np.ndarray) -> np.ndarray:
    """Keras depthwise ``(k..., C, dm)`` -> ONNX grouped ``(C*dm, 1, k...)`` (output channel ``c*dm + q``)."""
    r = k.ndim - 2
    return _onnx_kernel(k.reshape(k.shape[:r] + (1, k.shape[r] * k.shape[r + 1])))


@register(conv.Conv1D, conv.Conv2D)
def conv_layer(b, layer, call):
    kernel = _onnx_kernel(weight(layer.kernel))
    bias = None if layer.bias is None else weight(layer.bias)
    y = _spatial_op(b, layer, call, lambda x, sp: _conv_node(b, layer, x, sp, kernel, bias, layer.groups))
    return apply_activation(b, layer.activation, y, call.out_shapes[0], layer)


@register(conv.DepthwiseConv1D, conv.DepthwiseConv2D)
def depthwise_conv_layer(b, layer, call):
    k = weight(layer.kernel)
    bias = None if layer.bias is None else weight(layer.bias)
    y = _spatial_op(b, layer, call, lambda x, sp: _conv_node(b, layer, x, sp, _depthwise_kernel(k), bias,
                                                             k.shape[-2]))
    return apply_activation(b, layer.activation, y, call.out_shapes[0], layer)


@register(conv.SeparableConv1D, conv.SeparableConv2D)
def separable_conv_layer(b, layer, call):
    dk = weight(layer.depthwise_kernel)
    pk = _onnx_kernel(weight(layer.pointwise_kernel))
    bias = None if layer.bias is None else weight(layer.bias)
    ones = (1,) * layer.rank

    def emit(x, sp):
        y = _conv_node(b, layer, x, sp, _depthwise_kernel(dk), None, dk.shape[-2], tag="depthwise_")
        return _conv_node(b, layer, y, [None] * layer.rank, pk, bias, 1, kernel_size=ones, strides=ones,
                          dilations=ones, padding="valid", tag="pointwise_")
    y = _spatial_op(b, layer, call, emit)
    return apply_activation(b, layer.activation, y, call.out_shapes[0], layer)


@register(pooling.MaxPooling1D, pooling.MaxPooling2D, pooling.AveragePooling1D, pooling.AveragePooling2D)
def pooling_layer(b, layer, call):
    ones = [1] * layer.rank

    def emit(x, sp):
        attrs = _pads(layer.padding, sp, layer.pool_size, layer.strides, ones)
        if layer._mode == "max":
            return b.op("MaxPool", [x], layer.name, kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                        **attrs)
        # Keras's 'same' average divides by the number of real (unpadded) entries in each window
        return b.op("AveragePool", [x], layer.name, kernel_shape=list(layer.pool_size),
                    strides=list(layer.strides), count_include_pad=0, **attrs)
    return _spatial_op(b, layer, call, emit)


@register(pooling.GlobalMaxPooling1D, pooling.GlobalMaxPooling2D, pooling.GlobalAveragePooling1D,
          pooling.GlobalAveragePooling2D)
def global_pooling_layer(b, layer, call):
    op_type = "ReduceMax" if layer._mode == "max" else "ReduceMean"
    return b.reduce(op_type, call.inputs[0], layer._axes(), layer.keepdims, layer.name)


# -- normalization -----------------------------------------------------------------------------------------
def _affine(layer, shape):
    gamma = np.ones(shape, np.float32) if layer.gamma is None else weight(layer.gamma).reshape(shape)
    beta = np.zeros(shape, np.float32) if layer.beta is None else weight(layer.beta).reshape(shape)
    return gamma, beta


@register(normalization.BatchNormalization)
def batch_norm(b, layer, call):
    """Inference batch norm (moving statistics) folded into one multiply-add, computed as tapeflow does."""
    rank = len(call.shapes[0])
    ax = layer.axis % rank
    c = int(np.prod(layer.moving_mean.shape))
    shape = (c,) if ax == rank - 1 else tuple(c if i == ax else 1 for i in range(rank))
    gamma, beta = _affine(layer, shape)
    mm = weight(layer.moving_mean).reshape(shape)
    mv = weight(layer.moving_variance).reshape(shape)
    mult = (np.float32(1.0) / np.sqrt(mv + np.float32(layer.epsilon))) * gamma
    shift = beta - mm * mult
    y = b.op("Mul", [call.inputs[0], b.const(mult, f"{layer.name}/scale")], layer.name)
    return b.op("Add", [y, b.const(shift, f"{layer.name}/shift")], layer.name)


@register(normalization.LayerNormalization)
def layer_norm(b, layer, call):
    x, rank, h = call.inputs[0], len(call.shapes[0]), layer.name
    axes = list(layer._axes)
    if not layer.rms_scaling and axes == list(range(axes[0], rank)):  # ONNX's op normalizes axis..end
        gamma, beta = _affine(layer, tuple(call.shapes[0][axes[0]:]))
        return b.op("LayerNormalization", [x, b.const(gamma, f"{h}/gamma"), b.const(beta, f"{h}/beta")], h,
                    axis=axes[0], epsilon=float(layer.epsilon))
    bshape = tuple(layer._bshape)
    gamma, beta = _affine(layer, bshape)
    mean = b.reduce("ReduceMean", x, axes, True, h)
    centered = b.op("Sub", [x, mean], h)
    var = b.reduce("ReduceMean", b.op("Mul", [centered, centered], h), axes, True, h)
    inv = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [var, b.const(layer.epsilon, f"{h}/epsilon")], h)], h)], h)
    if layer.rms_scaling:  # Keras's deprecated variant: x (not centered) / sqrt(var + eps) * gamma
        return b.op("Mul", [b.op("Mul", [x, inv], h), b.const(gamma, f"{h}/gamma")], h)
    y = b.op("Mul", [b.op("Mul", [centered, inv], h), b.const(gamma, f"{h}/gamma")], h)
    return b.op("Add", [y, b.const(beta, f"{h}/beta")], h)
