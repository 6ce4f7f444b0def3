"""AdamW: Adam with decoupled weight decay, as ``keras.optimizers.AdamW``."""
from __future__ import annotations

from .adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay: before each update ``w -= w * weight_decay * lr``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.AdamW(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 6.0]), w)])
    >>> [round(x, 3) for x in w.numpy().tolist()]
    [0.498, 1.496]
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
