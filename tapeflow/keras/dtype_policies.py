"""``keras.dtype_policies``: the float policies of ``keras.mixed_precision`` under Keras 3's module name, and the
quantized policies of layers quantized with ``int8`` / ``int4`` (``"int8_from_float32"``, ``"int4/128_from_float32"``).

``QuantizedFloat8DTypePolicy``, ``GPTQDTypePolicy`` and ``AWQDTypePolicy`` raise NotImplementedError: tapeflow has
no float8 / GPTQ / AWQ layers.

>>> from tapeflow.keras import dtype_policies
>>> p = dtype_policies.get("mixed_float16")
>>> dtype_policies.serialize(p)["config"], p.compute_dtype
({'name': 'mixed_float16'}, 'float16')
>>> dtype_policies.get("int8_from_float32").quantization_mode
'int8'
"""
from __future__ import annotations

from .mixed_precision.policy import DTypePolicy, FloatDTypePolicy, Policy, dtype_policy
from .quantizers.config import QUANTIZATION_MODES
from .quantizers.policies import (POLICY_CLASSES, AWQDTypePolicy, GPTQDTypePolicy, Int4DTypePolicy,  # noqa: F401
                                  QuantizedDTypePolicy, QuantizedFloat8DTypePolicy, policy_from_config,
                                  policy_from_name, serialize_policy)


def serialize(policy) -> dict:
    """Keras 3's config dict of a policy."""
    if isinstance(policy, QuantizedDTypePolicy):
        return serialize_policy(policy)
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None) -> Policy:
    """The policy a ``serialize`` dict (or a bare ``{"name": ...}`` config) describes."""
    if not isinstance(config, dict):
        raise ValueError(f"dtype_policies.deserialize expects a dict from serialize(); received {config!r}")
    inner = config.get("config", config)
    if config.get("class_name") in POLICY_CLASSES or "mode" in inner:
        return policy_from_config(config if "config" in config else {"config": inner})
    return Policy(inner["name"])


def get(identifier) -> Policy:
    """A policy from a name, a config dict or a policy; ``None`` gives the global policy."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, Policy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(QUANTIZATION_MODES):
            return policy_from_name(identifier)
        try:
            return Policy(identifier)
        except ValueError:
            raise ValueError(f"Cannot convert {identifier!r} to a mixed precision DTypePolicy. Valid policies include "
                             "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as 'float32'.")
    raise ValueError(f"Cannot interpret dtype policy identifier: {identifier!r}")


__all__ = ["DTypePolicy", "FloatDTypePolicy", "QuantizedDTypePolicy", "Int4DTypePolicy", "QuantizedFloat8DTypePolicy",
           "GPTQDTypePolicy", "AWQDTypePolicy", "deserialize", "get", "serialize"]
