"""Dtype policies: ``Policy('mixed_float16')`` computes in float16 and keeps variables in float32.

``set_global_policy`` makes every layer created afterwards use the policy (a layer's own
``dtype=`` argument overrides it: Keras's advice is ``dtype='float32'`` for the softmax output).
"""
from __future__ import annotations

from ... import backend as B
from .. import backend as K

_NAMES = ("float16", "float32", "float64", "bfloat16", "mixed_float16", "mixed_bfloat16")


class Policy:
    """A dtype policy: ``name``, ``compute_dtype``, ``variable_dtype`` (as ``tf.keras.mixed_precision.Policy``).

    >>> from tapeflow.keras import mixed_precision
    >>> p = mixed_precision.Policy("mixed_float16")
    >>> p.compute_dtype, p.variable_dtype
    ('float16', 'float32')
    """

    def __init__(self, name: str):
        if isinstance(name, Policy):
            name = name.name
        if not isinstance(name, str) or name not in _NAMES:
            raise ValueError(f"Policy: cannot convert {name!r} to a mixed precision policy; expected one of "
                             f"{', '.join(repr(n) for n in _NAMES)}")
        if "bfloat16" in name:
            B.as_dtype("bfloat16")  # raises a clear error when ml_dtypes is missing
        self._name = name
        if name.startswith("mixed_"):
            self._compute, self._variable = name[len("mixed_"):], "float32"
        else:
            self._compute = self._variable = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._compute

    @property
    def variable_dtype(self) -> str:
        return self._variable

    @property
    def quantization_mode(self):
        """None: a float policy (quantized layers have ``keras.dtype_policies.QuantizedDTypePolicy``)."""
        return None

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<Policy "{self._name}">'


DTypePolicy = Policy  # Keras 3 name
FloatDTypePolicy = Policy

_global: list = [None]


def global_policy() -> Policy:
    """The policy new layers use; ``Policy(floatx())`` unless ``set_global_policy`` was called.

    >>> from tapeflow.keras import mixed_precision
    >>> mixed_precision.global_policy().name
    'float32'
    """
    pol = _global[0]
    return pol if pol is not None else Policy(K.floatx())


def set_global_policy(policy) -> None:
    """Set the global policy: ``'mixed_float16'``, ``'mixed_bfloat16'``, ``'float32'``, a Policy, or None
    (back to ``floatx()``). Affects layers created afterwards.

    >>> from tapeflow.keras import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_float16")
    >>> mixed_precision.global_policy().compute_dtype
    'float16'
    >>> mixed_precision.set_global_policy("float32")
    """
    if policy is None:
        _global[0] = None
        return
    pol = policy if isinstance(policy, Policy) else Policy(policy)
    if not B.is_floating(pol.variable_dtype):
        raise ValueError(f"set_global_policy: the global policy must be a floating policy, got {pol.name!r}")
    _global[0] = pol


def dtype_policy() -> Policy:
    """Keras 3 spelling of ``global_policy``."""
    return global_policy()


def set_dtype_policy(policy) -> None:
    """Keras 3 spelling of ``set_global_policy``."""
    set_global_policy(policy)
