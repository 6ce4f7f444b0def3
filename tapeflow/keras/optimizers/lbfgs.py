"""L-BFGS with an optional strong-Wolfe line search (full-batch; the algorithm of ``torch.optim.LBFGS``,
after Schmidt's minFunc; Nocedal & Wright, "Numerical Optimization", Algorithms 7.4 and 3.5/3.6)."""
from __future__ import annotations

import math

import numpy as np

from ...autodiff.tape import GradientTape
from ...autodiff.tensor import Tensor
from .base import Optimizer


def _cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """Minimizer of the cubic through (x1, f1, slope g1) and (x2, f2, slope g2), clipped to ``bounds``
    (default: the interval between the points); the midpoint when the cubic has no real minimizer."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
    return min(max(x, lo), hi)


def strong_wolfe(phi, d, t, f0, g0, gtd0, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Line search along ``d`` for a step ``t`` meeting the strong Wolfe conditions
    ``f(t) <= f0 + c1 t gtd0`` and ``|f'(t)| <= -c2 gtd0``: a bracketing phase that grows ``t`` by cubic
    extrapolation, then a zoom phase that shrinks the bracket by safeguarded cubic interpolation.

    ``phi(t)`` returns ``(f(x + t d), grad f(x + t d))`` and leaves ``x`` unchanged. Returns
    ``(f, g, t, evaluations)`` at the accepted step.
    """
    d_norm = float(np.max(np.abs(d)))
    f_new, g_new = phi(t)
    evals, it = 1, 0
    gtd_new = float(np.dot(g_new, d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f0, g0, gtd0
    done = False
    brk = brk_f = brk_g = brk_gtd = None
    while it < max_ls:                                       # bracketing phase
        if f_new > f0 + c1 * t * gtd0 or (it > 1 and f_new >= f_prev):
            brk, brk_f, brk_g, brk_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd0:
            brk, brk_f, brk_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            brk, brk_f, brk_g, brk_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        lo, hi = t + 0.01 * (t - t_prev), t * 10.0
        t_next = _cubic_minimizer(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(lo, hi))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = float(np.dot(g_new, d))
        it += 1
    if it == max_ls:
        brk, brk_f, brk_g = [0.0, t], [f0, f_new], [g0, g_new]
    insufficient = False
    low, high = (0, 1) if brk_f[0] <= brk_f[-1] else (1, 0)
    while not done and it < max_ls:                          # zoom phase
        if abs(brk[1] - brk[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimizer(brk[0], brk_f[0], brk_gtd[0], brk[1], brk_f[1], brk_gtd[1])
        b_lo, b_hi = min(brk), max(brk)
        margin = 0.1 * (b_hi - b_lo)
        if min(b_hi - t, t - b_lo) < margin:                 # too close to an end: move inside
            if insufficient or t >= b_hi or t <= b_lo:
                t = b_hi - margin if abs(t - b_hi) < abs(t - b_lo) else b_lo + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = phi(t)
        evals += 1
        gtd_new = float(np.dot(g_new, d))
        it += 1
        if f_new > f0 + c1 * t * gtd0 or f_new >= brk_f[low]:
            brk[high], brk_f[high], brk_g[high], brk_gtd[high] = t, f_new, g_new, gtd_new
            low, high = (0, 1) if brk_f[0] <= brk_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd0:
                done = True
            elif gtd_new * (brk[high] - brk[low]) >= 0:
                brk[high], brk_f[high], brk_g[high], brk_gtd[high] = brk[low], brk_f[low], brk_g[low], brk_gtd[low]
            brk[low], brk_f[low], brk_g[low], brk_gtd[low] = t, f_new, g_new, gtd_new
    return brk_f[low], brk_g[low], brk[low], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS for full-batch problems, driven by a closure that recomputes the loss.

    Each ``minimize(loss_fn, var_list)`` (or ``step(closure)``) call runs up to ``max_iter`` L-BFGS
    iterations (at most ``max_eval`` loss evaluations), as one ``torch.optim.LBFGS.step`` does: the
    two-loop recursion over the last ``history_size`` curvature pairs (pairs with ``y.s <= 1e-10`` are
    skipped), initial Hessian scale ``s.y / y.y``, a first step of ``min(1, 1/|g|_1) * learning_rate``,
    then either a fixed step ``learning_rate`` or, with ``line_search_fn="strong_wolfe"``, a strong-Wolfe
    line search. It stops when ``max|g| <= tolerance_grad``, or the step or the loss change falls under
    ``tolerance_change``. The history persists across calls.

    The closure takes no arguments and returns the loss (the gradient is taken with a GradientTape
    around it), or ``(loss, gradients)`` when it computes the gradients itself. ``iterations`` counts
    L-BFGS iterations. Clipping, weight decay, EMA and ``apply_gradients`` do not apply.

    >>> import tapeflow as tf
    >>> w = tf.Variable([3.0, -2.0])
    >>> opt = tf.keras.optimizers.LBFGS(line_search_fn="strong_wolfe")
    >>> loss = opt.minimize(lambda: tf.reduce_sum((w - [1.0, 2.0]) ** 2), [w])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [1.0, 2.0]

    On a model: ``LBFGS().minimize(lambda: loss_fn(y, model(x)), model.trainable_variables)``.
    """

    def __init__(self, learning_rate=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None, name="lbfgs", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: `line_search_fn` must be None or 'strong_wolfe'. Received: {line_search_fn!r}")
        if not (isinstance(max_iter, int) and max_iter >= 1) or not (isinstance(history_size, int)
                                                                    and history_size >= 1):
            raise ValueError(f"LBFGS: `max_iter` and `history_size` must be integers >= 1. Received: "
                             f"max_iter={max_iter!r}, history_size={history_size!r}")
        if any(getattr(self, a) for a in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "use_ema",
                                          "gradient_accumulation_steps", "gradient_noise_eta")):
            raise ValueError("LBFGS does not support clipping, weight decay, EMA, gradient accumulation or "
                             "gradient noise (it needs exact full-batch gradients)")
        self.max_iter = max_iter
        self.max_eval = max_eval if max_eval is not None else max_iter * 5 // 4
        self.tolerance_grad = tolerance_grad
        self.tolerance_change = tolerance_change
        self.history_size = history_size
        self.line_search_fn = line_search_fn
        self.state: dict = {"func_evals": 0, "n_iter": 0}

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._dtype = np.result_type(*[v._value.dtype for v in variables])
        self._sizes = [v._value.size for v in variables]

    def apply_gradients(self, grads_and_vars):
        raise TypeError("LBFGS needs to re-evaluate the loss: call `minimize(loss_fn, var_list)` or "
                        "`step(closure)` instead of `apply_gradients`")

    apply = apply_gradients

    # -- flat views of the variables ---------------------------------------------------------------
    def _evaluate(self, closure) -> tuple:
        with GradientTape() as tape:
            out = closure()
        if isinstance(out, (tuple, list)):
            loss, grads = out
        else:
            loss, grads = out, tape.gradient(out, self._trainable_variables)
        flat = np.empty(sum(self._sizes), self._dtype)
        off = 0
        for g, n in zip(grads, self._sizes):
            if g is None:
                flat[off:off + n] = 0
            else:
                flat[off:off + n] = (g._value if isinstance(g, Tensor) else np.asarray(g)).ravel()
            off += n
        return float(loss._value if isinstance(loss, Tensor) else loss), flat

    def _add(self, t: float, d: np.ndarray) -> None:
        off = 0
        for v, n in zip(self._trainable_variables, self._sizes):
            val = v._value
            val += (t * d[off:off + n]).reshape(val.shape).astype(val.dtype, copy=False)
            off += n

    def _snapshot(self) -> list:
        return [v._value.copy() for v in self._trainable_variables]

    def _restore(self, saved) -> None:
        for v, s in zip(self._trainable_variables, saved):
            np.copyto(v._value, s)

    # -- the algorithm ---------------------------------------------------------------------------
    def minimize(self, loss, var_list, tape=None):
        """Run one L-BFGS ``step`` on ``var_list`` with ``loss`` a zero-argument callable; returns the loss
        (a float) at the starting point."""
        if callable(var_list):
            var_list = var_list()
        if not callable(loss) or isinstance(loss, Tensor):
            raise ValueError("LBFGS.minimize: `loss` must be a zero-argument callable that recomputes the loss")
        return self.step(loss, var_list)

    def step(self, closure, var_list=None) -> float:
        """Up to ``max_iter`` iterations on ``var_list`` (or the variables the optimizer was built with)."""
        if var_list is not None and not self.built:
            self.build([v for v in var_list if v.trainable])
        elif var_list is not None and [id(v) for v in var_list if v.trainable] != \
                [id(v) for v in self._trainable_variables]:
            raise ValueError("LBFGS.step: the optimizer was built on other variables; create a new LBFGS")
        if not self.built:
            raise ValueError("LBFGS.step: pass `var_list` the first time (or call `build(variables)`)")
        st, lr = self.state, self._current_learning_rate()
        loss, g = self._evaluate(closure)
        orig_loss, evals = loss, 1
        st["func_evals"] += 1
        if np.max(np.abs(g)) <= self.tolerance_grad:
            return orig_loss
        d, t = st.get("d"), st.get("t")
        dirs, steps, rho = st.get("old_dirs"), st.get("old_stps"), st.get("ro")
        h_diag, prev_g, prev_loss = st.get("H_diag"), st.get("prev_flat_grad"), st.get("prev_loss")
        n_iter = 0
        while n_iter < self.max_iter:
            n_iter += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                d, dirs, steps, rho, h_diag = -g, [], [], [], 1.0
            else:
                y, s = g - prev_g, d * t
                ys = float(np.dot(y, s))
                if ys > 1e-10:                                  # keep only positive-curvature pairs
                    if len(dirs) == self.history_size:
                        dirs.pop(0), steps.pop(0), rho.pop(0)
                    dirs.append(y), steps.append(s), rho.append(1.0 / ys)
                    h_diag = ys / float(np.dot(y, y))
                q, alphas = -g, [0.0] * len(dirs)               # two-loop recursion: d = -H g
                for i in range(len(dirs) - 1, -1, -1):
                    alphas[i] = float(np.dot(steps[i], q)) * rho[i]
                    q = q - alphas[i] * dirs[i]
                d = q * h_diag
                for i in range(len(dirs)):
                    beta = float(np.dot(dirs[i], d)) * rho[i]
                    d = d + (alphas[i] - beta) * steps[i]
            prev_g, prev_loss = g.copy(), loss
            t = min(1.0, 1.0 / float(np.sum(np.abs(g)))) * lr if st["n_iter"] == 1 else lr
            gtd = float(np.dot(g, d))
            if gtd > -self.tolerance_change:                    # not a descent direction
                break
            if self.line_search_fn == "strong_wolfe":
                x0 = self._snapshot()

                def phi(step, _x0=x0, _d=d):
                    self._add(step, _d)
                    out = self._evaluate(closure)
                    self._restore(_x0)
                    return out
                loss, g, t, ls_evals = strong_wolfe(phi, d, t, loss, g, gtd, tolerance_change=self.tolerance_change,
                                                    max_ls=self.max_eval - evals)
                self._add(t, d)
                optimal = np.max(np.abs(g)) <= self.tolerance_grad
            else:
                self._add(t, d)
                ls_evals, optimal = 0, False
                if n_iter != self.max_iter:
                    loss, g = self._evaluate(closure)
                    optimal = np.max(np.abs(g)) <= self.tolerance_grad
                    ls_evals = 1
            evals += ls_evals
            st["func_evals"] += ls_evals
            if n_iter == self.max_iter or evals >= self.max_eval or optimal:
                break
            if np.max(np.abs(d * t)) <= self.tolerance_change or abs(loss - prev_loss) < self.tolerance_change:
                break
        st.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=rho, H_diag=h_diag, prev_flat_grad=prev_g,
                  prev_loss=prev_loss)
        it = self._iterations._value
        it[()] = it[()] + n_iter
        return orig_loss

    def get_config(self):
        config = super().get_config()
        for key in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema", "ema_momentum",
                    "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps"):
            config.pop(key, None)
        config.update({"max_iter": self.max_iter, "max_eval": self.max_eval, "tolerance_grad": self.tolerance_grad,
                       "tolerance_change": self.tolerance_change, "history_size": self.history_size,
                       "line_search_fn": self.line_search_fn})
        return config
