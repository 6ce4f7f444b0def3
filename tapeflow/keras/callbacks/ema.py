"""SwapEMAWeights, as ``keras.callbacks.SwapEMAWeights``: evaluate (and optionally checkpoint) with the
optimizer's exponential moving averages of the weights ("Polyak averaging", ``use_ema=True``).

The swap exchanges each trainable variable's array with its average's contents in place (no new
arrays), so ``evaluate``/``predict`` inside ``fit`` see the averages and training resumes on the raw
weights. Deviation from Keras 3.15.1: its ``on_predict_end`` tests the wrong flag and leaves the
averages in the model after ``predict``; here ``predict`` swaps back as ``evaluate`` does.

>>> import numpy as np, tapeflow as tf
>>> model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
>>> model.compile(optimizer=tf.keras.optimizers.SGD(0.1, use_ema=True), loss="mse")
>>> x, y = np.ones((8, 2)), np.zeros((8, 1))
>>> h = model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0, callbacks=[tf.keras.callbacks.SwapEMAWeights()])
>>> sorted(h.history)
['loss', 'val_loss']
"""
from __future__ import annotations

import numpy as np

from .base import Callback


def _ema_optimizers(model) -> list:
    """The optimizers of ``model`` that keep weight averages (through a LossScaleOptimizer or a MultiOptimizer)."""
    opt = model.optimizer
    opt = getattr(opt, "inner_optimizer", opt)
    inner = list(getattr(opt, "optimizers", None) or [opt])
    found = [o for o in inner if getattr(o, "use_ema", False)]
    if not found:
        raise ValueError("SwapEMAWeights needs an optimizer built with `use_ema=True` (the averages it swaps in). "
                         f"Received: {type(opt).__name__} with use_ema={getattr(opt, 'use_ema', None)}. "
                         "Pass use_ema=True to the optimizer, or drop the callback.")
    return found


def _swap(optimizer) -> None:
    if not optimizer.built:
        return
    for v, avg in zip(optimizer._trainable_variables, optimizer._model_variables_moving_average):
        a, b = v._value, avg._value
        a += b        # the three-step in-place swap Keras uses: no temporary array
        np.subtract(a, b, out=b)
        a -= b


class SwapEMAWeights(Callback):
    """Put the optimizer's moving averages into the model for evaluation and prediction, and back after.

    ``swap_on_epoch=True`` also swaps at each epoch's end (and back at the next epoch's start), so callbacks
    placed after this one (``ModelCheckpoint``) see the averages; after the last epoch the averages are
    made final, as ``fit``'s ``finalize_variable_values`` expects.
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _swap_variables(self) -> None:
        for opt in _ema_optimizers(self.model):
            _swap(opt)

    def _finalize_ema_values(self) -> None:
        for opt in _ema_optimizers(self.model):
            if opt.built:
                for v, avg in zip(opt._trainable_variables, opt._model_variables_moving_average):
                    np.copyto(avg._value, v._value)

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            if epoch == self.params.get("epochs", 0) - 1:  # fit's final overwrite must find the averages
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    on_predict_begin = on_test_begin
    on_predict_end = on_test_end
