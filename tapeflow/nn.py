"""``tf.nn``: activations, softmax/cross-entropy, dropout, moments, convolution and pooling."""
from __future__ import annotations

from .ops.math_ops import sigmoid, softplus, tanh  # noqa: F401
from .ops.nn_ops import (bias_add, dropout, elu, embedding_lookup, gelu, l2_normalize,  # noqa: F401
                         leaky_relu, log_softmax, moments, relu, relu6, selu, silu,
                         sigmoid_cross_entropy_with_logits, softmax, softmax_cross_entropy_with_logits,
                         softsign, sparse_softmax_cross_entropy_with_logits, swish)


def __getattr__(name):
    # Convolution, pooling (ops.conv_ops, conv3d_ops, pool_ops, pool3d_ops) and ops.nn_extra, imported on first use.
    from .ops import conv3d_ops, conv_ops, nn_extra, pool3d_ops, pool_ops
    for module in (conv_ops, pool_ops, conv3d_ops, pool3d_ops, nn_extra):
        if not name.startswith("_") and hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'tapeflow.nn' has no attribute {name!r}")
