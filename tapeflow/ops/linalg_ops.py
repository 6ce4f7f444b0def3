"""Differentiable linear algebra: forward (NumPy LAPACK) and VJP side by side.

Ops with several results (``eigh``, ``svd``, ``qr``) are one primitive whose forward packs the results into
one array (batch dims + one flat axis); the public functions slice them apart with differentiable ops, so the
VJP sees one packed incoming gradient. VJPs are written with tapeflow ops (second order works).

Formulas (real case) follow the usual matrix-calculus results, as in PyTorch's ``FunctionsManual.cpp``:
``inv``: -A^-T g A^-T; ``det``: g det(A) A^-T; ``slogdet``: g A^-T; ``solve``: gB = A^-T g, gA = -gB X^T;
``cholesky``: L^-T Phi(L^T g) L^-1 (Phi: symmetrise, halve the diagonal); ``eigh``: V (diag(gw) +
skew(V^T gV) / E) V^T, E_ij = w_j - w_i; ``svd`` (reduced): U [skew(U^T gU)/E S + S skew(V^T gV)/E + diag(gS)]
V^T + (I - UU^T) gU S^-1 V^T + U S^-1 gV^T (I - VV^T), E_ij = s_j^2 - s_i^2; ``qr`` (m >= n, reduced):
(gQ + Q copyltu(R gR^T - gQ^T Q)) R^-T.
"""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor
from . import array_ops as A
from . import math_ops as M
from .registry import bind, const, defvjp, primitive

_mT = M._mT


def _mm(a, b):
    return M.matmul(a, b)


def _eye(n, like):
    return const(np.eye(n), like)


def _ex(t, axis):
    return A.expand_dims(t, axis)


def _flat_last(t, lo, hi):
    return A.getitem(t, (Ellipsis, slice(lo, hi)))


def _unpack(t: Tensor, shapes) -> list:
    """Split the packed last axis of ``t`` into tensors of ``batch + shape`` for each shape."""
    batch, out, o = tuple(t._value.shape[:-1]), [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(A.reshape(_flat_last(t, o, o + n), batch + tuple(s)))
        o += n
    return out


def _pack(*arrays, batch):
    return np.concatenate([np.reshape(a, tuple(batch) + (-1,)) for a in arrays], axis=-1)


def _diag_embed(v: Tensor) -> Tensor:
    n = v._value.shape[-1]
    return M.multiply(_ex(v, -1), _eye(n, v))


def _tri_mask(n, lower, like, k=0):
    return const(np.tril(np.ones((n, n)), k) if lower else np.triu(np.ones((n, n)), -k), like)


# -- inverse, determinants, solves ---------------------------------------------------------------
_inv = primitive("matrix_inverse", lambda x: np.linalg.inv(x))
defvjp(_inv, lambda g, ans, x: M.negative(_mm(_mT(ans), _mm(g, _mT(ans)))))


def matrix_inverse(x: Tensor) -> Tensor:
    return bind(_inv, x)


_det = primitive("matrix_determinant", lambda x: np.asarray(np.linalg.det(x)))
defvjp(_det, lambda g, ans, x: M.multiply(_ex(_ex(M.multiply(g, ans), -1), -1), _mT(matrix_inverse(x))))


def matrix_determinant(x: Tensor) -> Tensor:
    return bind(_det, x)


_logabsdet = primitive("log_abs_determinant", lambda x: np.asarray(np.linalg.slogdet(x)[1]))
defvjp(_logabsdet, lambda g, ans, x: M.multiply(_ex(_ex(g, -1), -1), _mT(matrix_inverse(x))))


def log_abs_determinant(x: Tensor) -> Tensor:
    return bind(_logabsdet, x)


_solve = primitive("matrix_solve", lambda a, b: np.linalg.solve(a, b))


def _solve_vjp_b(g, ans, a, b):
    return matrix_solve(_mT(a), g)


defvjp(_solve, lambda g, ans, a, b: M.negative(_mm(_solve_vjp_b(g, ans, a, b), _mT(ans))), _solve_vjp_b)


def matrix_solve(a: Tensor, b: Tensor) -> Tensor:
    """X with A X = B; ``b`` is (..., n, k)."""
    return bind(_solve, a, b)


def _tri_fwd(a, b, lower):
    return np.linalg.solve(np.tril(a) if lower else np.triu(a), b)


_tri = primitive("triangular_solve", _tri_fwd)


def _tri_vjp_b(g, ans, a, b, lower):
    return triangular_solve(_mT(a), g, lower=not lower)


def _tri_vjp_a(g, ans, a, b, lower):
    ga = M.negative(_mm(_tri_vjp_b(g, ans, a, b, lower), _mT(ans)))
    return M.multiply(ga, _tri_mask(a._value.shape[-1], lower, ga))


defvjp(_tri, _tri_vjp_a, _tri_vjp_b)


def triangular_solve(a: Tensor, b: Tensor, lower: bool) -> Tensor:
    """X with tril(A) X = B (``lower``) or triu(A) X = B; the other triangle of A is ignored."""
    return bind(_tri, a, b, lower=bool(lower))


# -- cholesky ---------------------------------------------------------------------------------------
def _chol_fwd(x):
    try:
        return np.linalg.cholesky(x)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"cholesky: the input is not symmetric positive definite ({e})") from None


_chol = primitive("cholesky", _chol_fwd)


def _chol_vjp(g, L, x):
    n = L._value.shape[-1]
    t = M.multiply(_mm(_mT(L), g), _tri_mask(n, True, g))
    phi = M.multiply(M.add(t, _mT(M.multiply(t, _tri_mask(n, True, g, -1)))), 0.5)
    y = triangular_solve(_mT(L), phi, lower=False)            # L^-T phi
    return _mT(triangular_solve(_mT(L), _mT(y), lower=False))  # (L^-T phi) L^-1


defvjp(_chol, _chol_vjp)


def cholesky(x: Tensor) -> Tensor:
    return bind(_chol, x)


# -- eigh -----------------------------------------------------------------------------------------------
def _eigh_fwd(x):
    w, v = np.linalg.eigh(x)
    return _pack(w, v, batch=x.shape[:-2])


_eigh = primitive("eigh_packed", _eigh_fwd)


def _eigh_vjp(g, ans, x):
    n = x._value.shape[-1]
    w, v = _unpack(ans, [(n,), (n, n)])
    gw, gv = _unpack(g, [(n,), (n, n)])
    vtgv = _mm(_mT(v), gv)
    skew = M.multiply(M.subtract(vtgv, _mT(vtgv)), 0.5)
    e = M.add(M.subtract(_ex(w, -2), _ex(w, -1)), _eye(n, w))
    inner = M.add(M.divide(skew, e), _diag_embed(gw))
    return _mm(v, _mm(inner, _mT(v)))


defvjp(_eigh, _eigh_vjp)


def eigh(x: Tensor):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix (lower triangle read)."""
    n = x._value.shape[-1]
    return tuple(_unpack(bind(_eigh, x), [(n,), (n, n)]))


# -- svd (reduced) ---------------------------------------------------------------------------------------
def _svd_shapes(x_shape):
    m, n = x_shape[-2:]
    k = min(m, n)
    return [(m, k), (k,), (k, n)]


def _svd_fwd(x):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return _pack(u, s, vh, batch=x.shape[:-2])


_svd = primitive("svd_packed", _svd_fwd)


def _svd_vjp(g, ans, x):
    m, n = x._value.shape[-2:]
    k = min(m, n)
    u, s, vh = _unpack(ans, _svd_shapes(x._value.shape))
    gu, gs, gvh = _unpack(g, _svd_shapes(x._value.shape))
    v, gv = _mT(vh), _mT(gvh)
    utgu, vtgv = _mm(_mT(u), gu), _mm(_mT(v), gv)
    s2 = M.square(s)
    e = M.add(M.subtract(_ex(s2, -2), _ex(s2, -1)), _eye(k, s))
    sku = M.divide(M.subtract(utgu, _mT(utgu)), e)
    skv = M.divide(M.subtract(vtgv, _mT(vtgv)), e)
    inner = M.add(M.add(M.multiply(sku, _ex(s, -2)), M.multiply(_ex(s, -1), skv)), _diag_embed(gs))
    ga = _mm(u, _mm(inner, vh))
    if m > k:
        ga = M.add(ga, _mm(M.divide(M.subtract(gu, _mm(u, utgu)), _ex(s, -2)), vh))
    if n > k:
        ga = M.add(ga, _mm(u, M.divide(_mT(M.subtract(gv, _mm(v, vtgv))), _ex(s, -1))))
    return ga


defvjp(_svd, _svd_vjp)


def svd_reduced(x: Tensor):
    """(U (m, k), S (k,), Vh (k, n)) with k = min(m, n); differentiable for distinct singular values."""
    return tuple(_unpack(bind(_svd, x), _svd_shapes(x._value.shape)))


_sv = primitive("singular_values", lambda x: np.linalg.svd(x, compute_uv=False))


def _sv_vjp(g, ans, x):
    u, _, vh = svd_reduced(x)
    return _mm(M.multiply(u, _ex(g, -2)), vh)


defvjp(_sv, _sv_vjp)


def singular_values(x: Tensor) -> Tensor:
    """Singular values, descending; the gradient U diag(g) V^T holds for repeated values too."""
    return bind(_sv, x)


# -- qr (reduced, m >= n) ---------------------------------------------------------------------------------
def _qr_fwd(x):
    q, r = np.linalg.qr(x, mode="reduced")
    return _pack(q, r, batch=x.shape[:-2])


_qr = primitive("qr_packed", _qr_fwd)


def _qr_vjp(g, ans, x):
    m, n = x._value.shape[-2:]
    if m < n:
        raise NotImplementedError(f"qr: the gradient is implemented for m >= n only, got a {m}x{n} input")
    q, r = _unpack(ans, [(m, n), (n, n)])
    gq, gr = _unpack(g, [(m, n), (n, n)])
    mm_ = M.subtract(_mm(r, _mT(gr)), _mm(_mT(gq), q))
    low = M.multiply(mm_, _tri_mask(n, True, mm_))
    copyltu = M.add(low, _mT(M.multiply(mm_, _tri_mask(n, True, mm_, -1))))
    b = M.add(gq, _mm(q, copyltu))
    return _mT(triangular_solve(r, _mT(b), lower=False))  # b R^-T


defvjp(_qr, _qr_vjp)


def qr_reduced(x: Tensor):
    """(Q (m, k), R (k, n)), k = min(m, n); differentiable for m >= n."""
    m, n = x._value.shape[-2:]
    k = min(m, n)
    return tuple(_unpack(bind(_qr, x), [(m, k), (k, n)]))


# -- discrete Fourier transforms on (real, imag) pairs ---------------------------------------------------------
# A complex value travels as two float tensors; a c2c primitive packs its (real, imag) results on a new axis 0.
# The DFT is linear: the VJP of y = F x is F^H g = n * ifft(g) (and of ifft, fft(g) / n). For rfft/irfft,
# with c_k = 1 at k = 0 (and n/2 for even n) and 2 elsewhere: VJP(rfft) = n * irfft(g / c), VJP(irfft) =
# (c / n) * rfft(g), each then cut or zero-padded to the input's length.
def _c2c_fwd(re, im, axes, inverse):
    z = re + 1j * im
    out = np.fft.ifftn(z, axes=axes) if inverse else np.fft.fftn(z, axes=axes)
    return np.stack([out.real, out.imag]).astype(re.dtype, copy=False)


_c2c = primitive("fft_c2c", _c2c_fwd)


def _c2c_adjoint(g, x, axes, inverse):
    n = float(np.prod([x._value.shape[a] for a in axes]))
    gre, gim = A.getitem(g, 0), A.getitem(g, 1)
    adj = fft_c2c(gre, gim, axes, not inverse)
    return M.multiply(adj, const(1.0 / n if inverse else n, adj))


defvjp(_c2c, lambda g, ans, re, im, axes, inverse: A.getitem(_c2c_adjoint(g, re, axes, inverse), 0),
       lambda g, ans, re, im, axes, inverse: A.getitem(_c2c_adjoint(g, re, axes, inverse), 1))


def fft_c2c(re: Tensor, im: Tensor, axes, inverse: bool) -> Tensor:
    """(2, ...) stacked (real, imag) of the n-D DFT (or its inverse) of re + i im over ``axes``."""
    nd = re._value.ndim
    return bind(_c2c, re, im, axes=tuple(int(a) % nd for a in axes), inverse=bool(inverse))


def _fit_last(t: Tensor, n: int) -> Tensor:
    """Cut or zero-pad the last axis of ``t`` to length n."""
    m = t._value.shape[-1]
    if m > n:
        return A.getitem(t, (Ellipsis, slice(0, n)))
    if m < n:
        return A.pad(t, [[0, 0]] * (t._value.ndim - 1) + [[0, n - m]])
    return t


def _weights(n: int) -> np.ndarray:
    c = np.full(n // 2 + 1, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return c


def _rfft_fwd(x, n):
    out = np.fft.rfft(x, n=n, axis=-1)
    return np.stack([out.real, out.imag]).astype(x.dtype, copy=False)


_rfft = primitive("rfft", _rfft_fwd)


def _rfft_vjp(g, ans, x, n):
    c = const(_weights(n), g)
    back = irfft(M.divide(A.getitem(g, 0), c), M.divide(A.getitem(g, 1), c), n)
    return _fit_last(M.multiply(back, const(float(n), back)), x._value.shape[-1])


defvjp(_rfft, _rfft_vjp)


def rfft(x: Tensor, n: int) -> Tensor:
    """(2, ..., n//2 + 1) stacked (real, imag) of the real DFT of x's last axis (cut/zero-padded to n)."""
    return bind(_rfft, x, n=int(n))


def _irfft_fwd(re, im, n):
    return np.fft.irfft(re + 1j * im, n=n, axis=-1).astype(re.dtype, copy=False)


_irfft = primitive("irfft", _irfft_fwd)


def _irfft_vjp(part):
    def vjp(g, ans, re, im, n):
        spec = M.multiply(rfft(g, n), const(_weights(n) / n, g))
        return _fit_last(A.getitem(spec, part), re._value.shape[-1])
    return vjp


defvjp(_irfft, _irfft_vjp(0), _irfft_vjp(1))


def irfft(re: Tensor, im: Tensor, n: int) -> Tensor:
    """The real inverse DFT of length n of the half spectrum re + i im (last axis)."""
    return bind(_irfft, re, im, n=int(n))
