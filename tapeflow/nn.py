"""``tf.nn``: activations, softmax/cross-entropy, dropout, moments, convolution and pooling."""
from __future__ import annotations

from .ops.math_ops import sigmoid, softplus, tanh  # noqa: F401
from .ops.nn_ops import (bias_add, dropout, elu, embedding_lookup, gelu, l2_normalize,  # noqa: F401
                         leaky_relu, log_softmax, moments, relu, relu6, selu, silu,
                         sigmoid_cross_entropy_with_logits, softmax, softmax_cross_entropy_with_logits,
                         softsign, sparse_softmax_cross_entropy_with_logits, swish)
from .ops.nn_extra import (atrous_conv2d, atrous_conv2d_transpose, batch_normalization,  # noqa: F401
                           compute_average_loss, conv_transpose, crelu, depth_to_space, in_top_k, l2_loss,
                           local_response_normalization, log_poisson_loss, lrn, max_pool_with_argmax,
                           normalize_moments, pool, scale_regularization_loss, space_to_depth,
                           sufficient_statistics, top_k, weighted_cross_entropy_with_logits, weighted_moments,
                           zero_fraction)


def __getattr__(name):
    # Convolution (ops.conv_ops, conv3d_ops) and pooling (ops.pool_ops, pool3d_ops), imported on first use.
    from .ops import conv3d_ops, conv_ops, pool3d_ops, pool_ops
    for module in (conv_ops, pool_ops, conv3d_ops, pool3d_ops):
        if not name.startswith("_") and hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module 'tapeflow.nn' has no attribute {name!r}")
