"""Whole-sequence recurrent primitives: LSTM, GRU (reset_after) and SimpleRNN (tanh).

Each primitive takes the input projection for every time step at once, time-major
(``xp = x @ kernel + bias`` of shape ``(T, B, G)``, one matmul done by the layer), the initial
state(s) and the recurrent kernel, and runs the time loop in NumPy. An optional boolean
``mask`` attribute of shape ``(T, B)`` keeps the previous state at masked steps, as Keras does.

Gradients (backpropagation through time) come in two forms, side by side below:

* the **array twin** (``fast``), used for plain first-order gradients: it recomputes every
  gate from the stored states with *one* batched matmul, precomputes the elementwise gate
  derivatives in bulk, and leaves only ``dz @ recurrent_kernel.T`` and a few products inside the
  reverse time loop;
* the **Tensor VJP**, used under an outer tape (higher-order gradients): it replays the same
  recurrence written with tapeflow ops (``*_reference``) under an inner tape, so it is
  differentiable again and doubles as the readable definition the fast path is checked
  against.

A primitive has one VJP per input but BPTT yields all input gradients at once, so each
primitive keeps its latest result in a one-entry cache keyed by the upstream gradient object.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..autodiff.tape import GradientTape
from ..autodiff.tensor import Tensor
from . import array_ops as A
from . import math_ops as M
from .registry import bind, defvjp, primitive


def _sigmoid_(x):
    """In-place logistic sigmoid via tanh (no overflow for large |x|)."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _prev(seq, first):
    """``[first, seq[0], ..., seq[T-2]]``: the state entering each step."""
    out = np.empty_like(seq)
    out[0] = first
    out[1:] = seq[:-1]
    return out


def _mask_float(mask, dtype):
    return None if mask is None else mask.astype(dtype)[..., None]


class _OneEntryCache:
    """Remembers the gradients computed for the last (upstream gradient, output) pair."""

    def __init__(self):
        self.key = None
        self.value = None

    def get(self, g, ans, compute):
        key = self.key
        if key is None or key[0] is not g or key[1] is not ans:
            self.value = compute()
            self.key = (g, ans)  # holding the objects keeps their ids from being reused
        return self.value


def _tensor_vjps(reference, n_inputs):
    """Tensor VJPs that differentiate ``reference`` (tapeflow ops) under an inner tape."""
    cache = _OneEntryCache()

    def compute(g, inputs, attrs):
        with GradientTape() as tape:
            for x in inputs:
                tape.watch(x)
            out = reference(*inputs, **attrs)
        return tape.gradient(out, list(inputs), output_gradients=g)

    def make(i):
        def vjp(g, ans, *inputs, **attrs):
            return cache.get(g, ans, lambda: compute(g, inputs, attrs))[i]
        return vjp
    return [make(i) for i in range(n_inputs)]


def _fast_twins(grads_fn, n_inputs):
    cache = _OneEntryCache()

    def make(i):
        def fast(g, ans, *inputs, **attrs):
            return cache.get(g, ans, lambda: grads_fn(g, ans, *inputs, **attrs))[i]
        return fast
    return tuple(make(i) for i in range(n_inputs))


def _step_mask(mask, t):
    return None if mask is None else Tensor._wrap(mask[t][:, None])


# ============================================================================================
# LSTM: gates i, f, c (candidate), o, as Keras; output (T, 2, B, u) = [h_t, c_t] per step
# ============================================================================================
def _lstm_scales(u, dtype):
    s = np.full(4 * u, 0.5, dtype=dtype)
    s[2 * u:3 * u] = 1.0
    off = np.full(4 * u, 0.5, dtype=dtype)
    off[2 * u:3 * u] = 0.0
    return s, off


def _lstm_gates_(z, s, off):
    """sigmoid on the i, f, o blocks and tanh on the candidate block, in place, in 4 passes."""
    z *= s
    np.tanh(z, out=z)
    z *= s
    z += off
    return z


def _lstm_fwd(xp, h0, c0, rk, mask=None):
    T, B, G = xp.shape
    u = G // 4
    dt = xp.dtype
    out = np.empty((T, 2, B, u), dtype=dt)
    # Gates through exp (faster than np.tanh on the (B, 4u) block): with z' = -s*z, s = 1 on i, f, o
    # and 2 on the candidate block, every gate becomes q = 1 / (1 + exp(z')): sigmoid(z) on i, f, o
    # and sigmoid(2 z) on the candidate, whose tanh is 2 q - 1 (folded into i * (2 q - 1) = 2 i q - i).
    neg_s = np.full(G, -1.0, dtype=dt)
    neg_s[2 * u:3 * u] = -2.0
    xs = xp * neg_s
    rks = rk * neg_s
    gates = np.empty((T, B, G), dtype=dt)   # the q's, kept for the backward pass (see _saved)
    tcs = np.empty((T, B, u), dtype=dt)     # tanh(c_t)
    h, c = h0, c0
    with np.errstate(over="ignore"):
        for t in range(T):
            z = gates[t]
            np.matmul(h, rks, out=z)
            z += xs[t]
            np.exp(z, out=z)
            z += 1.0
            np.reciprocal(z, out=z)
            hn, cn, tc = out[t, 0], out[t, 1], tcs[t]
            i = z[:, :u]
            np.multiply(i, z[:, 2 * u:3 * u], out=tc)
            tc += tc
            tc -= i                                # i * tanh(candidate)
            np.multiply(z[:, u:2 * u], c, out=cn)
            cn += tc
            np.tanh(cn, out=tc)
            np.multiply(tc, z[:, 3 * u:], out=hn)
            if mask is not None:
                keep = ~mask[t][:, None]
                np.copyto(hn, h, where=keep)
                np.copyto(cn, c, where=keep)
            h, c = hn, cn
    _save(out, (gates, tcs))
    return out


_SAVED: dict = {}


def _save(out, value):
    """Keep forward intermediates for ``out``'s backward pass while ``out`` is alive."""
    key = id(out)
    _SAVED[key] = value
    weakref.finalize(out, _SAVED.pop, key, None)


def _saved(out):
    return _SAVED.get(id(out))


def _lstm_grads(g, out, xp, h0, c0, rk, mask=None):
    T, B, G = xp.shape
    u = G // 4
    dt = xp.dtype
    H, C = out[:, 0], out[:, 1]
    Hprev, Cprev = _prev(H, h0), _prev(C, c0)
    saved = _saved(out)
    if saved is not None and saved[0].shape == (T, B, G):
        Z, tc = saved
        Z4 = Z.reshape(T, B, 4, u)
        Gc = Z4[:, :, 2] * 2.0
        Gc -= 1.0                          # the forward kept sigmoid(2 z) for the candidate
    else:  # recompute every gate with one matmul
        Z = np.matmul(Hprev.reshape(-1, u), rk).reshape(T, B, G)
        Z += xp
        _lstm_gates_(Z, *_lstm_scales(u, dt))
        tc = np.tanh(C)
        Z4 = Z.reshape(T, B, 4, u)
        Gc = Z4[:, :, 2]
    I, F, O = Z4[:, :, 0], Z4[:, :, 1], Z4[:, :, 3]
    K = O * (1 - tc * tc)                 # d c_t / d h_t-path factor
    P = np.empty((T, B, 4, u), dtype=dt)  # dz = P * [dc, dc, dc, dh]
    P[:, :, 0] = Gc * I * (1 - I)
    P[:, :, 1] = Cprev * F * (1 - F)
    P[:, :, 2] = I * (1 - Gc * Gc)
    P[:, :, 3] = tc * O * (1 - O)
    gh, gc = g[:, 0], g[:, 1]
    last_h_only = not gh[:-1].any()        # return_sequences=False: skip adding zeros at each step
    with_gc = gc.any()                     # return_state or a loss on c: rare
    rkT = np.ascontiguousarray(rk.T)
    dZ = np.empty((T, B, 4, u), dtype=dt)
    mf = _mask_float(mask, dt)
    dh = np.zeros((B, u), dtype=dt)
    dc = np.zeros((B, u), dtype=dt)
    for t in range(T - 1, -1, -1):
        dht = dh if last_h_only and t < T - 1 else gh[t] + dh
        dcin = gc[t] + dc if with_gc else dc
        if mf is None:
            dct = dcin + dht * K[t]
        else:
            m = mf[t]
            dht_m = dht * m
            dct = dcin * m + dht_m * K[t]
        dz = dZ[t]
        np.multiply(P[t, :, :3], dct[:, None, :], out=dz[:, :3])
        np.multiply(P[t, :, 3], dht if mf is None else dht_m, out=dz[:, 3])
        dh = dz.reshape(B, G) @ rkT
        if mf is None:
            dc = dct * F[t]
        else:
            dh += dht * (1 - m)
            dc = dct * F[t] + dcin * (1 - m)
    dZ = dZ.reshape(T, B, G)
    drk = Hprev.reshape(-1, u).T @ dZ.reshape(-1, G)
    return dZ, dh, dc, drk


def lstm_reference(xp, h0, c0, rk, mask=None) -> Tensor:
    """The LSTM recurrence written with tapeflow ops (the definition the fast path matches)."""
    T, u = xp._value.shape[0], h0._value.shape[-1]
    h, c = h0, c0
    hs, cs = [], []
    for t in range(T):
        z = M.add(A.getitem(xp, t), M.matmul(h, rk))
        i = M.sigmoid(A.getitem(z, (slice(None), slice(0, u))))
        f = M.sigmoid(A.getitem(z, (slice(None), slice(u, 2 * u))))
        cc = M.tanh(A.getitem(z, (slice(None), slice(2 * u, 3 * u))))
        o = M.sigmoid(A.getitem(z, (slice(None), slice(3 * u, 4 * u))))
        cn = M.add(M.multiply(f, c), M.multiply(i, cc))
        hn = M.multiply(o, M.tanh(cn))
        m = _step_mask(mask, t)
        if m is not None:
            hn, cn = A.where(m, hn, h), A.where(m, cn, c)
        h, c = hn, cn
        hs.append(h)
        cs.append(c)
    return A.stack([A.stack(hs), A.stack(cs)], axis=1)


_lstm = primitive("lstm_sequence", _lstm_fwd)
defvjp(_lstm, *_tensor_vjps(lstm_reference, 4))
_lstm.fast = _fast_twins(_lstm_grads, 4)


def lstm_sequence(xp, h0, c0, recurrent_kernel, mask=None) -> Tensor:
    """Run an LSTM over time-major projected inputs ``xp`` (T, B, 4u); returns (T, 2, B, u)
    holding ``h_t`` (``[:, 0]``) and ``c_t`` (``[:, 1]``) for every step.

    >>> import numpy as np, tapeflow as tf
    >>> from tapeflow.ops.rnn_ops import lstm_sequence
    >>> out = lstm_sequence(np.zeros((5, 2, 12), "float32"), np.zeros((2, 3), "float32"),
    ...                     np.zeros((2, 3), "float32"), np.zeros((3, 12), "float32"))
    >>> out.shape.as_list()
    [5, 2, 2, 3]
    """
    return bind(_lstm, xp, h0, c0, recurrent_kernel, mask=_check_mask(mask, xp))


# ============================================================================================
# GRU, reset_after=True (Keras 3 default, cuDNN/torch form): gates z, r, h
#   z = sig(xz + hz), r = sig(xr + hr), hh = tanh(xh + r * hh_rec), h = z*h_prev + (1-z)*hh
#   where [hz, hr, hh_rec] = h_prev @ recurrent_kernel + recurrent_bias
# ============================================================================================
def _gru_fwd(xp, h0, rk, rb, mask=None):
    T, B, G = xp.shape
    u = G // 3
    out = np.empty((T, B, u), dtype=xp.dtype)
    hr = np.empty((B, G), dtype=xp.dtype)
    zr = np.empty((B, 2, u), dtype=xp.dtype)
    h = h0
    for t in range(T):
        np.matmul(h, rk, out=hr)
        hr += rb
        hr3 = hr.reshape(B, 3, u)
        x3 = xp[t].reshape(B, 3, u)
        np.add(x3[:, :2], hr3[:, :2], out=zr)
        _sigmoid_(zr)
        hn = out[t]
        np.multiply(zr[:, 1], hr3[:, 2], out=hn)
        hn += x3[:, 2]
        np.tanh(hn, out=hn)
        # h = hh + z * (h_prev - hh)
        d = h - hn
        d *= zr[:, 0]
        hn += d
        if mask is not None:
            np.copyto(hn, h, where=~mask[t][:, None])
        h = hn
    return out


def _gru_grads(g, out, xp, h0, rk, rb, mask=None):
    T, B, G = xp.shape
    u = G // 3
    dt = xp.dtype
    Hprev = _prev(out, h0)
    HR = (np.matmul(Hprev.reshape(-1, u), rk) + rb).reshape(T, B, 3, u)
    X3 = xp.reshape(T, B, 3, u)
    ZR = _sigmoid_(X3[:, :, :2] + HR[:, :, :2])
    Z, R = ZR[:, :, 0], ZR[:, :, 1]
    HH = np.tanh(X3[:, :, 2] + R * HR[:, :, 2])
    Pz = (Hprev - HH) * Z * (1 - Z)
    Ph = (1 - Z) * (1 - HH * HH)
    Pr = HR[:, :, 2] * R * (1 - R)
    del HR, HH
    rkT = np.ascontiguousarray(rk.T)
    dHR = np.empty((T, B, 3, u), dtype=dt)
    dXh = np.empty((T, B, u), dtype=dt)
    mf = _mask_float(mask, dt)
    dh = np.zeros((B, u), dtype=dt)
    last_only = not g[:-1].any()           # return_sequences=False: skip adding zeros at each step
    for t in range(T - 1, -1, -1):
        dht = dh if last_only and t < T - 1 else g[t] + dh
        dhm = dht if mf is None else dht * mf[t]
        d = dHR[t]
        np.multiply(dhm, Pz[t], out=d[:, 0])
        xh = dXh[t]
        np.multiply(dhm, Ph[t], out=xh)
        np.multiply(xh, Pr[t], out=d[:, 1])
        np.multiply(xh, R[t], out=d[:, 2])
        dh = d.reshape(B, G) @ rkT
        dh += dhm * Z[t]
        if mf is not None:
            dh += dht * (1 - mf[t])
    dXP = dHR.copy()
    dXP[:, :, 2] = dXh
    dHR = dHR.reshape(-1, G)
    drk = Hprev.reshape(-1, u).T @ dHR
    return dXP.reshape(T, B, G), dh, drk, dHR.sum(axis=0)


def gru_reference(xp, h0, rk, rb, mask=None) -> Tensor:
    """The GRU (reset_after=True) recurrence written with tapeflow ops."""
    T, u = xp._value.shape[0], h0._value.shape[-1]
    h = h0
    hs = []

    def blk(x, k):
        return A.getitem(x, (slice(None), slice(k * u, (k + 1) * u)))
    for t in range(T):
        x = A.getitem(xp, t)
        hr = M.add(M.matmul(h, rk), rb)
        z = M.sigmoid(M.add(blk(x, 0), blk(hr, 0)))
        r = M.sigmoid(M.add(blk(x, 1), blk(hr, 1)))
        hh = M.tanh(M.add(blk(x, 2), M.multiply(r, blk(hr, 2))))
        hn = M.add(M.multiply(z, h), M.multiply(M.subtract(1.0, z), hh))
        m = _step_mask(mask, t)
        h = hn if m is None else A.where(m, hn, h)
        hs.append(h)
    return A.stack(hs)


_gru = primitive("gru_sequence", _gru_fwd)
defvjp(_gru, *_tensor_vjps(gru_reference, 4))
_gru.fast = _fast_twins(_gru_grads, 4)


def gru_sequence(xp, h0, recurrent_kernel, recurrent_bias, mask=None) -> Tensor:
    """Run a GRU (reset_after=True) over time-major ``xp`` (T, B, 3u) holding ``x @ kernel +
    input_bias``; returns the states (T, B, u).

    >>> import numpy as np, tapeflow as tf
    >>> from tapeflow.ops.rnn_ops import gru_sequence
    >>> gru_sequence(np.zeros((4, 2, 9), "float32"), np.zeros((2, 3), "float32"),
    ...              np.zeros((3, 9), "float32"), np.zeros(9, "float32")).shape.as_list()
    [4, 2, 3]
    """
    return bind(_gru, xp, h0, recurrent_kernel, recurrent_bias, mask=_check_mask(mask, xp))


# ============================================================================================
# SimpleRNN with tanh: h_t = tanh(xp_t + h_{t-1} @ recurrent_kernel)
# ============================================================================================
def _srnn_fwd(xp, h0, rk, mask=None):
    T = xp.shape[0]
    out = np.empty(xp.shape, dtype=xp.dtype)
    h = h0
    for t in range(T):
        hn = out[t]
        np.matmul(h, rk, out=hn)
        hn += xp[t]
        np.tanh(hn, out=hn)
        if mask is not None:
            np.copyto(hn, h, where=~mask[t][:, None])
        h = hn
    return out


def _srnn_grads(g, out, xp, h0, rk, mask=None):
    T, B, u = xp.shape
    D = 1 - out * out
    rkT = np.ascontiguousarray(rk.T)
    dP = np.empty_like(xp)
    mf = _mask_float(mask, xp.dtype)
    dh = np.zeros((B, u), dtype=xp.dtype)
    for t in range(T - 1, -1, -1):
        dht = g[t] + dh
        d = dP[t]
        np.multiply(dht, D[t], out=d)
        if mf is not None:
            d *= mf[t]
        dh = d @ rkT
        if mf is not None:
            dh += dht * (1 - mf[t])
    drk = _prev(out, h0).reshape(-1, u).T @ dP.reshape(-1, u)
    return dP, dh, drk


def simple_rnn_reference(xp, h0, rk, mask=None) -> Tensor:
    """The tanh SimpleRNN recurrence written with tapeflow ops."""
    h = h0
    hs = []
    for t in range(xp._value.shape[0]):
        hn = M.tanh(M.add(A.getitem(xp, t), M.matmul(h, rk)))
        m = _step_mask(mask, t)
        h = hn if m is None else A.where(m, hn, h)
        hs.append(h)
    return A.stack(hs)


_srnn = primitive("simple_rnn_sequence", _srnn_fwd)
defvjp(_srnn, *_tensor_vjps(simple_rnn_reference, 3))
_srnn.fast = _fast_twins(_srnn_grads, 3)


def simple_rnn_sequence(xp, h0, recurrent_kernel, mask=None) -> Tensor:
    """Run a tanh SimpleRNN over time-major ``xp`` (T, B, u); returns the states (T, B, u).

    >>> import numpy as np, tapeflow as tf
    >>> from tapeflow.ops.rnn_ops import simple_rnn_sequence
    >>> simple_rnn_sequence(np.ones((3, 2, 4), "float32"), np.zeros((2, 4), "float32"),
    ...                     np.zeros((4, 4), "float32")).shape.as_list()
    [3, 2, 4]
    """
    return bind(_srnn, xp, h0, recurrent_kernel, mask=_check_mask(mask, xp))


def _check_mask(mask, xp):
    if mask is None:
        return None
    m = np.asarray(mask._value if isinstance(mask, Tensor) else mask).astype(bool)
    shape = np.shape(xp._value if isinstance(xp, Tensor) else xp)[:2]
    if m.shape != shape:
        raise ValueError(f"recurrent mask must have shape (timesteps, batch) = {shape}, got {m.shape}")
    return None if m.all() else m
