"""Gradient check for a layer: tape gradients of inputs and weights vs float64 central differences."""
import numpy as np

import tapeflow as tf


def check_layer_gradients(layer, x, training=False, eps=1e-6, rtol=1e-5, atol=1e-6, max_entries=40, seed=0):
    """``layer`` must be float64 (``dtype="float64"``); compares d<layer(x), r>/d(x, weights).

    Random-training layers must be deterministic under a fixed seed for this to make sense, so
    use it with ``training=False`` or for deterministic training behaviour (batch norm).
    """
    x = np.asarray(x, dtype=np.float64)
    layer(x[:1] if x.ndim else x, training=False)  # build
    weights = list(layer.trainable_weights)
    saved = [w.numpy() for w in layer.weights]
    r = None

    def loss_np():
        for w, s in zip(layer.weights, saved):  # undo moving-statistic updates between evaluations
            if not w.trainable:
                w.assign(s)
        return float(np.sum(layer(xv, training=training).numpy() * r))

    xv = x.copy()
    xt = tf.constant(xv)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        r = np.random.default_rng(seed).standard_normal(y.shape)
        loss = tf.reduce_sum(y * tf.constant(r))
    grads = tape.gradient(loss, [xt] + weights)
    rng = np.random.default_rng(seed + 1)
    targets = [("input", xv, None)] + [(w.path, None, w) for w in weights]
    for (name, arr, var), g in zip(targets, grads):
        assert g is not None, f"no gradient for {name}"
        g = np.asarray(g.numpy())
        flat_n = g.size
        idx = rng.choice(flat_n, size=min(max_entries, flat_n), replace=False)
        for k in idx:
            pos = np.unravel_index(k, g.shape)
            if var is None:
                orig = xv[pos]
                xv[pos] = orig + eps
                up = loss_np()
                xv[pos] = orig - eps
                down = loss_np()
                xv[pos] = orig
            else:
                val = var.numpy()
                orig = val[pos]
                val[pos] = orig + eps
                var.assign(val)
                up = loss_np()
                val[pos] = orig - eps
                var.assign(val)
                down = loss_np()
                val[pos] = orig
                var.assign(val)
            num = (up - down) / (2 * eps)
            assert abs(num - g[pos]) <= atol + rtol * max(abs(num), abs(g[pos])), \
                f"{type(layer).__name__} d/d{name}{pos}: tape {g[pos]:.8g} vs numeric {num:.8g}"
    for w, s in zip(layer.weights, saved):
        w.assign(s)
