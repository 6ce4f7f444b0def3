"""The autodiff engine: ``Tensor``/``Variable`` (tensor.py), ``GradientTape`` and the backward walk
(tape.py), ``custom_gradient`` (custom.py), ``recompute_grad`` (recompute.py) and traced programs
(trace.py)."""
