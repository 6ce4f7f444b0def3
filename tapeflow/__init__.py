"""tapeflow: the TensorFlow/Keras way of training neural networks, from first principles on NumPy.

``import tapeflow as tf`` gives the tf-style namespace; ``tf.keras`` loads on first use so
that importing tapeflow stays fast.

>>> import tapeflow as tf
>>> w = tf.Variable(2.0)
>>> with tf.GradientTape() as tape:
...     loss = (w * 3.0 - 1.0) ** 2
>>> float(tape.gradient(loss, w))
30.0
"""
from __future__ import annotations

import importlib as _importlib

from . import config, math, nn, ops, random  # noqa: F401
from .autodiff.custom import custom_gradient  # noqa: F401
from .autodiff.recompute import recompute_grad  # noqa: F401
from .autodiff.tape import GradientTape  # noqa: F401
from .autodiff.tensor import Tensor, TensorShape, Variable, constant, convert_to_tensor, is_tensor  # noqa: F401
from .backend import (bool_ as bool, float16, float32, float64, int8, int16, int32, int64,  # noqa: F401
                      string, uint8)
from .function import function  # noqa: F401
from .ops.array_ops import (argmax, argmin, broadcast_to, cast, clip_by_value, concat, cumsum,  # noqa: F401
                            expand_dims, eye, fill, gather, identity, linspace, one_hot, ones, ones_like,
                            pad, rank, reshape, reverse, shape, size, split, squeeze, stack, stop_gradient,
                            tile, transpose, unstack, where, zeros, zeros_like)
from .ops.array_ops import range  # noqa: F401,A004
from .ops.clip_ops import clip_by_global_norm, clip_by_norm, global_norm  # noqa: F401
from .ops.math_ops import (abs, add, add_n, cos, divide, equal, exp, greater, greater_equal, less,  # noqa: F401
                           less_equal, log, logical_and, logical_not, logical_or, matmul, maximum,
                           minimum, multiply, negative, not_equal, pow, sigmoid, sign, sin, sqrt, square,
                           subtract, tanh, tensordot, truediv)
from .ops.reduce_ops import (norm, reduce_all, reduce_any, reduce_logsumexp, reduce_max,  # noqa: F401
                             reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum, reduce_variance)
from .ops.einsum_ops import einsum  # noqa: F401
from .ops.math_ops import floor, round  # noqa: F401,A004

__version__ = "0.1.0"
newaxis = None

_LAZY = {"debug": ".debug", "keras": ".keras", "data": ".data", "image": ".image", "distribute": ".distribute",
         "linalg": ".linalg", "tune": ".tune", "onnx": ".onnx", "strings": ".strings", "summary": ".summary",
         "nest": ".nest", "debugging": ".debugging", "errors": ".errors", "signal": ".signal", "train": ".train",
         "io": ".io", "sparse": ".sparse", "lookup": ".lookup", "sets": ".sets", "bitwise": ".bitwise",
         "audio": ".audio", "version": ".version", "dtypes": ".dtypes", "initializers": ".keras.initializers",
         "losses": ".keras.losses", "metrics": ".keras.metrics", "optimizers": ".keras.optimizers"}


# Names imported on first use (their modules cost import time that most programs never need).
_LAZY_NAMES = {
    ".control_flow": ("TensorArray", "case", "cond", "foldl", "foldr", "map_fn", "numpy_function", "py_function",
                      "scan", "switch_case", "vectorized_map", "while_loop"),
    ".framework": ("AggregationMethod", "Assert", "DType", "Module", "UnconnectedGradients", "as_dtype",
                   "assert_equal", "assert_greater", "assert_less", "assert_rank", "control_dependencies", "device",
                   "ensure_shape", "get_current_name_scope", "get_static_value", "group", "identity_n", "init_scope",
                   "inside_function", "is_symbolic_tensor", "name_scope", "no_gradient", "no_op", "realdiv",
                   "saturate_cast", "scalar_mul", "shape_n", "truncatediv", "truncatemod"),
    ".ops.index_ops": ("argsort", "boolean_mask", "dynamic_partition", "dynamic_stitch", "gather_nd", "repeat",
                       "reverse_sequence", "roll", "scatter_nd", "sequence_mask", "sort", "tensor_scatter_nd_add",
                       "tensor_scatter_nd_sub", "tensor_scatter_nd_update"),
    ".tf_extra": ("VariableAggregation", "VariableSynchronization", "acos", "acosh", "asin", "asinh", "atan", "atan2",
                  "atanh", "batch_to_space", "bfloat16", "bitcast", "broadcast_dynamic_shape", "broadcast_static_shape",
                  "complex", "complex128", "complex64", "constant_initializer", "cosh", "double", "edit_distance",
                  "eig", "eigvals", "get_logger", "grad_pass_through", "half", "hessians", "histogram_fixed_width",
                  "histogram_fixed_width_bins", "matrix_square_root", "meshgrid", "ones_initializer",
                  "parallel_stack", "random_normal_initializer", "random_uniform_initializer",
                  "required_space_to_batch_paddings", "searchsorted", "sinh", "slice", "space_to_batch",
                  "space_to_batch_nd", "strided_slice", "tan", "tensor_scatter_nd_max", "tensor_scatter_nd_min",
                  "timestamp", "tuple", "uint16", "uint32", "uint64", "unique", "unique_with_counts", "unravel_index",
                  "zeros_initializer"),
}
_NAME_MODULE = {n: m for m, names in _LAZY_NAMES.items() for n in names}


def __getattr__(name):
    if name in _NAME_MODULE:
        value = getattr(_importlib.import_module(_NAME_MODULE[name], __name__), name)
        globals()[name] = value
        return value
    if name == "TensorSpec":
        from .data._structure import TensorSpec
        return TensorSpec
    if name == "SparseTensor":
        from .sparse import SparseTensor
        return SparseTensor
    if name == "fingerprint":
        from .strings import fingerprint
        return fingerprint
    if name in _LAZY:
        try:
            mod = _importlib.import_module(_LAZY[name], __name__)
        except ModuleNotFoundError as e:
            if e.name != __name__ + _LAZY[name]:
                raise
            raise AttributeError(f"module 'tapeflow' has no attribute {name!r} (not implemented yet)") from None
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'tapeflow' has no attribute {name!r}")


def executing_eagerly() -> bool:
    """Always True: tapeflow runs every op eagerly."""
    return True


def print(*args, **kwargs):  # noqa: A001 - tf.print
    import builtins
    builtins.print(*[a.numpy() if isinstance(a, Tensor) else a for a in args],
                   **{k: v for k, v in kwargs.items() if k in ("sep", "end", "file", "flush")})
