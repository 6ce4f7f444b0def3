"""InputSpec: what a layer accepts (rank, fixed axes, dtype), checked on every call."""
from __future__ import annotations

import numpy as np


class InputSpec:
    """Constraints on a layer input, as ``keras.InputSpec``.

    >>> spec = InputSpec(min_ndim=2, axes={-1: 784})
    >>> spec.axes
    {-1: 784}
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = None if dtype is None else np.dtype(dtype).name
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional = name, optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self._fast = None  # (min_ndim, max_ndim, axes) when only those are constrained: a quick check per call
        if dtype is None and shape is None and not allow_last_axis_squeeze:
            lo = ndim if ndim is not None else (min_ndim or 0)
            hi = ndim if ndim is not None else (max_ndim if max_ndim is not None else 1 << 30)
            self._fast = (lo, hi, tuple((a, v) for a, v in self.axes.items() if v is not None))
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            top = (self.ndim if self.ndim is not None else self.max_ndim) - 1
            if max(self.axes) > top:
                raise ValueError(f"InputSpec: axis {max(self.axes)} is out of range for ndim {top + 1}")

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k)}" for k in ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes")
                 if getattr(self, k)]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _incompatible(i, layer_name, what):
    return ValueError(f'Input {i} of layer "{layer_name}" is incompatible with the layer: {what}')


def assert_input_compatibility(input_spec, inputs, layer_name: str) -> None:
    """Raise a ValueError naming the layer, the expected and the actual shape on a mismatch."""
    if not input_spec:
        return
    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec]
    if isinstance(inputs, dict):
        flat = list(inputs.values())
    elif isinstance(inputs, (list, tuple)):
        flat = list(inputs)
    else:
        flat = [inputs]
    if len(flat) != len(specs):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
                         f'{len(flat)} input tensors.')
    for i, (spec, x) in enumerate(zip(specs, flat)):
        if spec is None or x is None:
            continue
        shape = getattr(x, "shape", None)
        if shape is None:
            continue
        shape = tuple(shape)
        ndim = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
            raise _incompatible(i, layer_name, f"expected ndim={spec.ndim}, found ndim={ndim}. "
                                f"Full shape received: {shape}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise _incompatible(i, layer_name, f"expected max_ndim={spec.max_ndim}, found ndim={ndim}. "
                                f"Full shape received: {shape}")
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise _incompatible(i, layer_name, f"expected min_ndim={spec.min_ndim}, found ndim={ndim}. "
                                f"Full shape received: {shape}")
        if spec.dtype is not None:
            dt = getattr(x, "dtype", None)
            if dt is not None and np.dtype(dt).name != spec.dtype:
                raise _incompatible(i, layer_name, f"expected dtype={spec.dtype}, found dtype={np.dtype(dt).name}")
        for axis, value in spec.axes.items():
            if value is None:
                continue
            if not -ndim <= axis < ndim or shape[axis] not in (value, None):
                raise _incompatible(
                    i, layer_name, f"expected axis {axis} of input shape to have value {value}, "
                    f"but received input with shape {shape}")
        if spec.shape is not None:
            sshape, xshape = spec.shape, shape
            if spec.allow_last_axis_squeeze:
                if xshape and xshape[-1] == 1:
                    xshape = xshape[:-1]
                if sshape and sshape[-1] == 1:
                    sshape = sshape[:-1]
            if len(sshape) != len(xshape) or any(
                    s is not None and d is not None and s != d for s, d in zip(sshape, xshape)):
                raise _incompatible(i, layer_name, f"expected shape={spec.shape}, found shape={shape}")
