"""Quantized dtype policies (``keras.dtype_policies.QuantizedDTypePolicy`` and ``Int4DTypePolicy``).

A quantized layer's policy is named ``"<mode>_from_<source policy>"`` (``"int8_from_float32"``,
``"int4/128_from_mixed_bfloat16"``): the layer computes in the source policy's dtypes and stores its weights in
the mode's integer layout. ``QuantizedFloat8DTypePolicy``, ``GPTQDTypePolicy`` and ``AWQDTypePolicy`` exist under
Keras's names and raise NotImplementedError (tapeflow has no float8 / GPTQ / AWQ layers).
"""
from __future__ import annotations

from ..mixed_precision.policy import Policy, global_policy
from .config import QUANTIZATION_MODES, not_implemented


class QuantizedDTypePolicy(Policy):
    """The policy of a layer quantized with ``mode`` from ``source_name`` (default: the global policy).

    >>> from tapeflow.keras.dtype_policies import QuantizedDTypePolicy
    >>> p = QuantizedDTypePolicy("int8", "float32")
    >>> p.name, p.quantization_mode, p.compute_dtype
    ('int8_from_float32', 'int8', 'float32')
    """

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = global_policy().name
        source = Policy(source_name)
        base = mode.split("/")[0] if isinstance(mode, str) else mode
        if base not in QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
        if base not in ("int8", "int4"):
            raise not_implemented(base)
        if source.compute_dtype == "float16" and base == "int8":
            raise ValueError(f"Quantization mode='{base}' doesn't work well with compute_dtype='float16'.")
        self._name = f"{mode}_from_{source_name}"
        self._compute, self._variable = source.compute_dtype, source.variable_dtype
        self._source_name = source_name
        self._quantization_mode = base

    @property
    def quantization_mode(self):
        return self._quantization_mode

    @property
    def source_name(self) -> str:
        return self._source_name

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def __eq__(self, other):
        if isinstance(other, str):
            return other == self._name
        return type(other) is type(self) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self._name}">'


class Int4DTypePolicy(QuantizedDTypePolicy):
    """int4 policy whose mode carries the block size: ``"int4/<block_size>"`` (``-1``: per channel).

    >>> from tapeflow.keras.dtype_policies import Int4DTypePolicy
    >>> p = Int4DTypePolicy("int4/128", "float32")
    >>> p.name, p.block_size, p.get_config()
    ('int4/128_from_float32', 128, {'mode': 'int4/128', 'source_name': 'float32'})
    """

    def __init__(self, mode, source_name=None):
        parts = mode.split("/") if isinstance(mode, str) else []
        expected = "'int4/<block_size>'"
        if len(parts) != 2 or parts[0] != "int4":
            raise ValueError(f"Invalid mode for Int4DTypePolicy. Expected format {expected}, but got '{mode}'.")
        try:
            block_size = int(parts[1])
        except ValueError:
            raise ValueError(f"Invalid mode for Int4DTypePolicy. <block_size> must be an integer. Expected format "
                             f"{expected}, but got '{mode}'.") from None
        if block_size < -1 or block_size == 0:
            raise ValueError("Invalid block_size in mode. Supported values are -1 (per-channel) or a positive integer "
                             f"(sub-channel), but got {block_size} from '{mode}'.")
        super().__init__("int4", source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.mode = "int4"
        self.block_size = block_size

    def get_config(self) -> dict:
        return {"mode": f"int4/{self.block_size}", "source_name": self._source_name}


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """Keras's float8 policy: not implemented by tapeflow."""

    def __init__(self, mode="float8", source_name=None, amax_history_length=1024):
        raise not_implemented("float8")


class GPTQDTypePolicy(QuantizedDTypePolicy):
    """Keras's GPTQ policy: not implemented by tapeflow."""

    def __init__(self, mode="gptq", source_name=None):
        raise not_implemented("gptq")


class AWQDTypePolicy(QuantizedDTypePolicy):
    """Keras's AWQ policy: not implemented by tapeflow."""

    def __init__(self, mode="awq", source_name=None):
        raise not_implemented("awq")


POLICY_CLASSES = {c.__name__: c for c in (QuantizedDTypePolicy, Int4DTypePolicy, QuantizedFloat8DTypePolicy,
                                          GPTQDTypePolicy, AWQDTypePolicy)}


def is_quantized_name(name) -> bool:
    return isinstance(name, str) and "_from_" in name and name.startswith(QUANTIZATION_MODES)


def policy_from_name(name: str) -> QuantizedDTypePolicy:
    """The quantized policy a ``"<mode>_from_<source>"`` name spells (Keras's ``dtype_policies.get``)."""
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError("Cannot convert `policy` into a valid pair (`mode`, `source_name`) to instantiate "
                         f"`QuantizedDTypePolicy`. Received: policy={name}")
    mode, source = parts
    if mode.startswith("int4") and "/" in mode:
        return Int4DTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)


def policy_from_config(config: dict) -> QuantizedDTypePolicy:
    """A quantized policy from its serialized dict (``{"class_name": ..., "config": {"mode", "source_name"}}``)."""
    cls = POLICY_CLASSES.get(config.get("class_name"))
    inner = config.get("config", {}) or {}
    if cls is None:
        cls = Int4DTypePolicy if "/" in str(inner.get("mode", "")) else QuantizedDTypePolicy
    return cls(**inner)


def serialize_policy(policy: QuantizedDTypePolicy) -> dict:
    return {"module": "keras.dtype_policies", "class_name": type(policy).__name__, "config": policy.get_config(),
            "registered_name": None}
