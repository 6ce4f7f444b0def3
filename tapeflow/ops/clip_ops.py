"""Gradient clipping helpers: clip_by_norm, global_norm, clip_by_global_norm."""
from __future__ import annotations

import numpy as np

from ..autodiff.tensor import Tensor, convert_to_tensor
from . import math_ops as M
from . import reduce_ops as R


def clip_by_norm(t, clip_norm, axes=None, name=None) -> Tensor:
    """Rescale ``t`` so its L2 norm (over ``axes``) is at most ``clip_norm``.

    >>> import tapeflow as tf
    >>> tf.clip_by_norm([3.0, 4.0], 1.0).numpy().tolist()
    [0.6000000238418579, 0.800000011920929]
    """
    t = convert_to_tensor(t)
    l2sum = R.reduce_sum(M.square(t), axis=axes, keepdims=True)
    safe = M.maximum(l2sum, np.finfo(t.dtype).tiny)
    # t * clip / max(norm, clip), written so that norm == 0 gives t unchanged
    scale = M.divide(clip_norm, M.maximum(M.sqrt(safe), clip_norm))
    return M.multiply(t, scale)


def global_norm(t_list, name=None) -> Tensor:
    """sqrt(sum of squared entries over every tensor in the list; None entries skipped)."""
    parts = [R.reduce_sum(M.square(convert_to_tensor(t))) for t in t_list if t is not None]
    if not parts:
        return convert_to_tensor(0.0)
    total = parts[0]
    for p in parts[1:]:
        total = M.add(total, M.cast_like(p, total) if p.dtype != total.dtype else p)
    return M.sqrt(total)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scale every tensor by clip_norm / max(global_norm, clip_norm); returns (list, norm)."""
    t_list = list(t_list)
    norm = global_norm(t_list) if use_norm is None else convert_to_tensor(use_norm)
    if not np.isfinite(norm._value):
        nan = float("nan")
        return [None if t is None else M.multiply(convert_to_tensor(t), nan) for t in t_list], norm
    # A tensor (not a Python float) so that the norm's own gradient flows, as in TF.
    clip = M.cast_like(convert_to_tensor(clip_norm), norm)
    scale = M.divide(clip, M.maximum(norm, clip))
    out = []
    for t in t_list:
        if t is None:
            out.append(None)
            continue
        t = convert_to_tensor(t)
        out.append(M.multiply(t, scale if scale.dtype == t.dtype else M.cast_like(scale, t)))
    return out, norm
