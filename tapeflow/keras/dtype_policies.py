"""``keras.dtype_policies``: the float policies of ``keras.mixed_precision`` under Keras 3's module name.

Quantized policies (int8, int4, float8, GPTQ, AWQ) are not provided: tapeflow has no quantized kernels.

>>> from tapeflow.keras import dtype_policies
>>> p = dtype_policies.get("mixed_float16")
>>> dtype_policies.serialize(p)["config"], p.compute_dtype
({'name': 'mixed_float16'}, 'float16')
"""
from __future__ import annotations

from .mixed_precision.policy import DTypePolicy, FloatDTypePolicy, Policy, dtype_policy


def serialize(policy) -> dict:
    """Keras 3's config dict of a policy."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None) -> Policy:
    """The policy a ``serialize`` dict (or a bare ``{"name": ...}`` config) describes."""
    if not isinstance(config, dict):
        raise ValueError(f"dtype_policies.deserialize expects a dict from serialize(); received {config!r}")
    inner = config.get("config", config)
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
        try:
            return Policy(identifier)
        except ValueError:
            raise ValueError(f"Cannot convert {identifier!r} to a mixed precision DTypePolicy. Valid policies include "
                             "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as 'float32'.")
    raise ValueError(f"Cannot interpret dtype policy identifier: {identifier!r}")


__all__ = ["DTypePolicy", "FloatDTypePolicy", "deserialize", "get", "serialize"]
