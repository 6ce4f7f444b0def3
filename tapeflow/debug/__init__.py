"""Debugging tools: gradient checkers (functions and whole models), numerics checks, diagnostics.

Nothing here imports Keras or matplotlib at ``import tapeflow`` time.
"""
from .diagnostics import (activation_histograms, activation_stats, gradient_norms,  # noqa: F401
                          plot_activation_histograms, plot_weight_histograms, weight_histograms)
from .gradcheck import GradientCheckError, numerical_gradient  # noqa: F401
from .gradcheck import check_gradients as _check_function_gradients
from .model_check import GradientCheckReport, WeightCheck, check_model_gradients  # noqa: F401
from .numerics import (CheckNumericsError, check_numerics_scope, disable_check_numerics,  # noqa: F401
                       enable_check_numerics, is_check_numerics_enabled)


def check_gradients(f, *args, **kwargs):
    """Gradient check of a function ``f(*inputs)`` or of a whole Keras model ``(model, x, y)``.

    Function form: compares ``f``'s tape gradients with float64 central differences and returns a
    list of per-input max errors (raises ``GradientCheckError`` on a mismatch). Model form (first
    argument a Keras layer or model): see ``check_model_gradients``; returns a printable report.

    >>> import tapeflow as tf
    >>> max(tf.debug.check_gradients(lambda x: x * x, [1.0, 2.0])) < 1e-6
    True
    """
    if getattr(f, "_is_layer", False):
        return check_model_gradients(f, *args, **kwargs)
    return _check_function_gradients(f, *args, **kwargs)
