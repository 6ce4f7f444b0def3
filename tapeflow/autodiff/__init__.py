"""The autodiff engine: ``Tensor``/``Variable`` (tensor.py), ``GradientTape`` and the backward walk
(tape.py), ``custom_gradient`` (custom.py), ``recompute_grad`` (recompute.py), forward mode
(forward.py: ``ForwardAccumulator``, ``jvp``) and traced programs (trace.py)."""


def __getattr__(name):  # tf.autodiff.ForwardAccumulator / GradientTape, loaded on first use
    if name == "ForwardAccumulator":
        from .forward import ForwardAccumulator
        return ForwardAccumulator
    if name == "GradientTape":
        from .tape import GradientTape
        return GradientTape
    raise AttributeError(f"module 'tapeflow.autodiff' has no attribute {name!r}")
