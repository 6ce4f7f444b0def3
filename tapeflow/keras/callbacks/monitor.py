"""Shared helpers for callbacks that watch a metric (``monitor`` + ``mode``)."""
from __future__ import annotations

import warnings

import numpy as np

_MAX_HINTS = ("acc", "auc", "precision", "recall", "fmeasure", "f1", "iou", "r2", "top_k")


def resolve_mode(mode: str, monitor: str, who: str) -> str:
    """``'min'`` or ``'max'``; ``'auto'`` maximizes accuracy-like metrics and minimizes the rest (losses)."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who}: mode {mode!r} is unknown, falling back to 'auto'", stacklevel=3)
        mode = "auto"
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if "loss" in name or "error" in name:
        return "min"
    return "max" if any(h in name for h in _MAX_HINTS) else "min"


def improved(mode: str, current: float, reference, min_delta: float = 0.0) -> bool:
    """Whether ``current`` beats ``reference`` by more than ``min_delta`` (None always loses)."""
    if reference is None:
        return True
    if mode == "min":
        return bool(current + abs(min_delta) < reference)
    return bool(current - abs(min_delta) > reference)


def scalar(value):
    """A log value as a float (None when it is not a single number)."""
    try:
        arr = np.asarray(getattr(value, "_value", value), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(arr) if arr.size == 1 else None


def monitor_value(logs, monitor: str, who: str, warn: bool = True):
    value = scalar((logs or {}).get(monitor)) if monitor in (logs or {}) else None
    if value is None and warn:
        warnings.warn(f"{who}: conditioned on metric `{monitor}` which is not available. Available metrics are: "
                      f"{','.join(sorted(logs or {}))}.", stacklevel=3)
    return value
