"""SGD with optional (Nesterov) momentum, as ``keras.optimizers.SGD``."""
from __future__ import annotations

import numpy as np

from ...backend import blas
from .base import Optimizer



class SGD(Optimizer):
    """Gradient descent, optionally with momentum.

    ``velocity = momentum * velocity - lr * g``; ``w += velocity`` (or, with ``nesterov=True``,
    ``w += momentum * velocity - lr * g``). Without momentum, ``w -= lr * g``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0])
    >>> opt = tf.keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     _ = opt.apply_gradients([(tf.constant([1.0]), w)])
    >>> round(float(w[0]), 4)
    0.71
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)  # shared options: see Optimizer
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        self._blas_cache = {}  # variable index -> (w, m, axpby, address of w, of m)
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    @property
    def _slot_attrs(self):
        return ("momentums",) if self.momentums else ()

    def _backend_update_step(self, grads, variables, learning_rate):
        """Large float variables go through BLAS axpby on OpenBLAS's threads, the rest through NumPy."""
        if not blas.available():
            return super()._backend_update_step(grads, variables, learning_rate)
        index, rest = self._trainable_variables_indices, ([], [])
        for g, v in zip(grads, variables):
            if g.size < blas.MIN_LEVEL1 or not self._blas_update(g, index[id(v)], learning_rate):
                rest[0].append(g)
                rest[1].append(v)
        if rest[0]:
            super()._backend_update_step(*rest, learning_rate)

    def _blas_update(self, g, i: int, lr: float) -> bool:
        """The rule in 1-3 passes of axpby (NumPy needs 2-6 ufunc passes and a temporary); False when
        the arrays do not suit BLAS. The variable's and slot's addresses are cached with the arrays."""
        w = self._trainable_variables[i]._value
        m = self.momentums[i]._value if self.momentums else None
        hit = self._blas_cache.get(i)
        if hit is None or hit[0] is not w or hit[1] is not m:
            arrays = (w,) if m is None else (w, m)
            if not (w.flags.writeable and blas.level1_ready(*arrays)):
                return False
            hit = self._blas_cache[i] = (w, m, blas.axpby_function(w.dtype), blas.address(w),
                                         None if m is None else blas.address(m))
        if g.dtype != w.dtype or not g.flags.c_contiguous:
            return False
        axpby, n, pw, pm, pg = hit[2], w.size, hit[3], hit[4], blas.address(g)
        if m is None:
            axpby(n, -lr, pg, 1.0, pw)
            return True
        mu = self.momentum
        axpby(n, -lr, pg, mu, pm)                 # m = mu * m - lr * g
        if self.nesterov:                         # w += mu * m - lr * g
            axpby(n, -lr, pg, 1.0, pw)
            axpby(n, mu, pm, 1.0, pw)
        else:
            axpby(n, 1.0, pm, 1.0, pw)
        return True

    def _update_arrays(self, gradient, w, slots, scratch, learning_rate):
        tmp = scratch[0]
        np.multiply(gradient, learning_rate, out=tmp)
        if not slots:
            w -= tmp
            return
        m, mu = slots[0], self.momentum
        m *= mu
        m -= tmp
        if self.nesterov:
            w -= tmp
            np.multiply(m, mu, out=tmp)
            w += tmp
        else:
            w += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
