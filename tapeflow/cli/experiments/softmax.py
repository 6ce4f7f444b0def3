"""softmax-temperature (softmax(z / T) for several T) and sparsemax (Martins & Astudillo 2016) built from
tapeflow ops, its GradientTape gradient checked against the closed-form Jacobian."""
from __future__ import annotations

import numpy as np

from .. import plots

LOGITS = np.array([3.0, 1.5, 1.0, 0.5, 0.2, -0.5, -1.0, -2.0, 2.5, 0.0], np.float32)
TEMPERATURES = (0.25, 0.5, 1.0, 2.0, 5.0)


def softmax_t(z, temperature: float):
    """``softmax(z / T)`` with tapeflow ops."""
    import tapeflow as tf
    return tf.nn.softmax(tf.convert_to_tensor(z) / temperature, axis=-1)


def sparsemax(z):
    """Sparsemax over the last axis: the Euclidean projection of ``z`` onto the probability simplex,
    ``max(z - tau, 0)`` with ``tau`` chosen so the result sums to 1. Differentiable (tapeflow ops only).

    >>> import tapeflow as tf
    >>> [round(v, 4) for v in sparsemax(tf.constant([[2.0, 1.0, -1.0]])).numpy()[0].tolist()]
    [1.0, 0.0, 0.0]
    """
    import tapeflow as tf
    ops = tf.keras.ops
    z = tf.convert_to_tensor(z)
    n = int(z.shape[-1])
    z_sorted = -ops.sort(-z, axis=-1)                          # descending
    k = tf.cast(tf.range(1, n + 1), z.dtype)
    cumsum = tf.cumsum(z_sorted, axis=-1)
    support = tf.cast(tf.greater(1.0 + k * z_sorted, cumsum), z.dtype)   # 1 for the first k(z) entries
    k_z = tf.reduce_sum(support, axis=-1, keepdims=True)
    tau = (tf.reduce_sum(support * z_sorted, axis=-1, keepdims=True) - 1.0) / k_z
    return tf.nn.relu(z - tau)


def _jacobian_check(z: np.ndarray) -> float:
    """Max |GradientTape Jacobian - closed form (diag(s) - s s^T / |S|)| of sparsemax at ``z``."""
    import tapeflow as tf
    n = z.shape[-1]
    jac = np.zeros((n, n))
    for i in range(n):
        zt = tf.constant(z[None])
        with tf.GradientTape() as tape:
            tape.watch(zt)
            out = sparsemax(zt)[0, i]
        jac[i] = np.asarray(tape.gradient(out, zt).numpy())[0]
    p = np.asarray(sparsemax(tf.constant(z[None])).numpy())[0]
    s = (p > 0).astype(np.float64)
    ref = np.diag(s) - np.outer(s, s) / s.sum()
    return float(np.abs(jac - ref).max())


def _entropy(p) -> float:
    p = np.asarray(p, np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum()) + 0.0


def run(ctx) -> dict:
    """Tabulate and plot the distributions; sparsemax also checks its gradient and sweeps one logit."""
    rows, dists = [], {}
    for t in TEMPERATURES:
        p = np.asarray(softmax_t(LOGITS[None], t).numpy())[0]
        dists[f"softmax T={t:g}"] = p
        rows.append({"function": "softmax", "temperature": t, "max_prob": float(p.max()), "entropy": _entropy(p),
                     "nonzeros": int((p > 0).sum()), "sum": float(p.sum())})
    summary, lines = {"logits": LOGITS.tolist()}, []
    if ctx.name == "sparsemax":
        dists = {"softmax T=1": dists["softmax T=1"]}
        rows = [r for r in rows if r["temperature"] == 1.0]
        for scale in (0.5, 1.0, 2.0):
            p = np.asarray(sparsemax(LOGITS[None] * scale).numpy())[0]
            dists[f"sparsemax (logits x{scale:g})"] = p
            rows.append({"function": f"sparsemax (logits x{scale:g})", "temperature": 1 / scale,
                         "max_prob": float(p.max()), "entropy": _entropy(p), "nonzeros": int((p > 0).sum()),
                         "sum": float(p.sum())})
        err = _jacobian_check(LOGITS.astype(np.float64))
        summary["jacobian_max_abs_error"] = err
        lines.append(f"sparsemax Jacobian (GradientTape) vs closed form: max abs error {err:.2e}")
        ts = np.linspace(-3, 3, 121, dtype=np.float32)
        pairs = np.stack([ts, np.zeros_like(ts)], axis=1)
        sm = np.asarray(softmax_t(pairs, 1.0).numpy())[:, 0]
        sp = np.asarray(sparsemax(pairs).numpy())[:, 0]
        ctx.plot(plots.compare_curves({"softmax": sm, "sparsemax": sp}, ctx.path("sparsemax_2d.png"),
                                      "probability of class 1 for logits [t, 0]", "t", "p(class 1)",
                                      xs={"softmax": ts, "sparsemax": ts}))
        title = "softmax vs sparsemax on the same logits"
    else:
        title = "softmax(z / T) at several temperatures"
    ctx.plot(plots.distributions(dists, ctx.path(f"{ctx.name}.png"), title))
    return {"rows": rows, "summary": summary, "lines": lines}
