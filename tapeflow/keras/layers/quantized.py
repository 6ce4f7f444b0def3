"""What quantizable layers share: ``layer.quantize(mode, config)``, ``quantization_mode``, the quantized dtype policy,
the variable order of Keras's files, and ``Model.quantize``'s walk (Keras 3.15.1's behaviour and messages).

A quantized layer's policy is ``"<mode>_from_<source>"`` (its ``_dtype_policy_name``). Quantizing replaces the
float weight by non-trainable integer variables (Keras's names, dtypes, shapes, and paths) and routes ``call``
to the layer's quantized call: float layers keep their own ``call`` untouched. The quantized call's gradient is
Keras's custom one: inputs get the upstream gradient through the dequantized kernel (straight through the input
quantizer); the integer kernel and its scales get none (they are not trainable).

>>> import numpy as np, tapeflow as tf
>>> layer = tf.keras.layers.Dense(2)
>>> layer.build((None, 3))
>>> layer.quantize("int8")
>>> [(w.name, w.dtype.name, w.trainable) for w in layer.weights]
[('bias', 'float32', True), ('kernel', 'int8', False), ('kernel_scale', 'float32', False)]
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from ...autodiff.tensor import Tensor
from .tracking import bump


def _quant():
    from .. import quantizers
    return quantizers


def check_quantize_args(layer, mode) -> None:
    """Keras's ``_check_quantize_args``: built, not yet quantized, a known mode, int8 not from float16."""
    if not layer.built:
        raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer '{layer.name}' (of type "
                         f"'{type(layer).__name__}') is not built yet.")
    if getattr(layer, "_is_quantized", False):
        raise ValueError(f"Layer '{layer.name}' is already quantized with dtype_policy="
                         f"'{layer._dtype_policy_name}'. Received: mode={mode}")
    _quant().config.validate_mode(mode)
    if mode is None:
        raise ValueError("You must provide either `mode` or `config` to `quantize`.")
    if mode == "int8" and layer._compute_dtype.name == "float16":
        raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. Consider "
                         "loading model/layer with another dtype policy such as 'mixed_bfloat16' or 'mixed_float16' "
                         "before calling `quantize()`.")


def not_quantizable(layer) -> NotImplementedError:
    return NotImplementedError(f"Layer {type(layer).__name__} does not have a `quantize` method implemented.")


def should_quantize_layer(layer, filters) -> bool:
    """Keras's filter rule: a regex (searched in the layer name), a list of them (any), or a callable."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(p, layer.name) for p in filters)
    if callable(filters):
        return bool(filters(layer))
    return True


def quantize_model(model, mode=None, config=None, filters=None, **kwargs) -> None:
    """``Model.quantize``: quantize every leaf layer that ``filters`` selects; a leaf layer with no quantized form
    gets Keras's warning (after the same argument checks)."""
    type_check = kwargs.pop("type_check", True)
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments passed to {type(model).__name__}: {kwargs}")
    if filters is not None and not (isinstance(filters, (str, list, tuple)) or callable(filters)):
        raise ValueError("The `filters` argument must be a regex string, a list of regex strings, or a callable. "
                         f"Received: {type(filters)}")
    resolve = _quant().config.validate_and_resolve_config
    resolve(mode, config)  # a mode tapeflow lacks (float8, gptq, awq) fails here, not as one warning per layer
    changed = False
    for layer in model._flatten_layers():
        if not should_quantize_layer(layer, filters) or len(layer._flatten_layers()) != 1:
            continue
        try:
            if isinstance(layer, QuantizableMixin):
                layer.quantize(mode, type_check=type_check, config=config)
                changed = True
            else:
                check_quantize_args(layer, resolve(mode, config).mode)
                raise not_quantizable(layer)
        except NotImplementedError as e:  # as Keras: a layer without a quantized form is skipped with a warning
            warnings.warn(str(e), stacklevel=3)
    if changed:
        from ..traced_step import reset
        reset(model)


class QuantizableMixin:
    """Layer methods for post-training quantization. A concrete layer sets ``_quantizable_class`` to itself,
    ``_float_weight`` (the attribute quantization replaces) and ``_saved_order`` (Keras's file order per mode),
    and implements ``_quantize_arrays(mode, config) -> {attribute: array}`` (computed before anything changes),
    ``_quantized_build(mode, config, float_shape, prefix)`` (creates the integer variables, in Keras's order) and
    ``_quantized_call(inputs)``."""

    _quantizable_class = None
    _float_weight = "kernel"
    _saved_order: dict = {}

    # -- policy ----------------------------------------------------------------------------------
    @property
    def quantization_mode(self):
        """``"int8"`` / ``"int4"`` once quantized (or built from a quantized policy), else ``None``."""
        name = self._dtype_policy_name
        if "_from_" not in name:
            return None
        return name.split("_from_")[0].split("/")[0]

    @property
    def dtype_policy(self):
        """The policy name for a float layer (as every tapeflow layer); a ``QuantizedDTypePolicy`` once quantized."""
        if self.quantization_mode is None:
            return self._dtype_policy_name
        from ..quantizers.policies import policy_from_name
        return policy_from_name(self._dtype_policy_name)

    def _policy_block_size(self):
        mode = self._dtype_policy_name.split("_from_")[0]
        return int(mode.split("/")[1]) if "/" in mode else None

    def _int4_block_size(self, config):
        """Keras's ``get_block_size_for_layer``: the config's block size, else the policy's (-1 -> None)."""
        return _quant().config.block_size_of(config, self._policy_block_size())

    def _set_quantization_config(self, config):
        if isinstance(config, dict):
            config = _quant().deserialize(config)
        if config is not None and not isinstance(config, _quant().QuantizationConfig):
            raise ValueError(f"Layer '{self.name}': `quantization_config` must be a keras.quantizers."
                             f"QuantizationConfig (or its serialized dict), got {type(config).__name__}")
        if config is not None and config.mode not in ("int8", "int4"):
            raise _quant().config.not_implemented(config.mode)
        self.__dict__["quantization_config"] = config

    def _quantization_entries(self, config: dict) -> dict:
        """``get_config`` additions: ``quantization_config`` and, once quantized, Keras's policy dict as ``dtype``."""
        qc = self.__dict__.get("quantization_config")
        config["quantization_config"] = None if qc is None else _quant().serialize(qc)
        if self.quantization_mode is not None:
            from ..quantizers.policies import serialize_policy
            config["dtype"] = serialize_policy(self.dtype_policy)
        return config

    # -- quantize --------------------------------------------------------------------------------
    def quantize(self, mode=None, type_check=True, config=None) -> None:
        """Quantize the built layer's weights to ``mode`` (``"int8"`` / ``"int4"``) or as ``config`` says.

        >>> import tapeflow as tf
        >>> emb = tf.keras.layers.Embedding(10, 4)
        >>> emb.build()
        >>> emb.quantize("int4")
        >>> emb.dtype_policy.name, tuple(emb.embeddings.shape), emb.embeddings.dtype.name
        ('int4/128_from_float32', (10, 2), 'int8')
        """
        config = _quant().config.validate_and_resolve_config(mode, config)
        mode = config.mode
        check_quantize_args(self, mode)
        if type_check and type(self) is not self._quantizable_class:
            raise not_quantizable(self)
        arrays = self._quantize_arrays(mode, config)  # computed before anything changes: an error leaves the layer
        old = getattr(self, self._float_weight)
        prefix = old.path.rsplit("/", 1)[0] if "/" in old.path else self.name
        self._drop_weight(old)
        block = self._int4_block_size(config) if mode == "int4" else None
        policy = "int8" if mode == "int8" else f"int4/{-1 if block is None else block}"
        self._dtype_policy_name = f"{policy}_from_{self._dtype_policy_name}"
        self._set_quantization_config(config)
        self._quantized_build(mode, config, tuple(old.shape), prefix=prefix)
        for attr, value in arrays.items():
            getattr(self, attr).assign(value)

    def _drop_weight(self, var) -> None:
        for lst in (self._trainable_variables, self._non_trainable_variables):
            for i, v in enumerate(lst):
                if v is var:
                    del lst[i]
                    break
        delattr(self, self._float_weight)
        bump()

    def _add_quantized_weight(self, name, shape, dtype=None, prefix=None):
        var = self.add_weight(name=name, shape=tuple(int(s) for s in shape), initializer="zeros" if dtype else "ones",
                              dtype=dtype, trainable=False)
        if prefix is not None:
            var.path = f"{prefix}/{name}"
        return var

    def _finish_quantized_build(self) -> None:
        self._is_quantized = True
        object.__setattr__(self, "call", self._quantized_call)
        self._call_sig = None
        bump()

    @staticmethod
    def _check_shape(layer, attr, value, expected) -> np.ndarray:
        value = np.asarray(value)
        if tuple(value.shape) != tuple(expected):
            raise ValueError("The shape of the target variable and the shape of the target value in "
                             f"`variable.assign(value)` must match. variable.shape={tuple(expected)}, Received: "
                             f"value.shape={tuple(value.shape)}. Target variable: {layer.name}/{attr}")
        return value

    # -- files -----------------------------------------------------------------------------------
    def _saved_variables(self):
        """The own variables in Keras's file order for the quantized mode (None for a float layer)."""
        mode = self.quantization_mode
        if mode is None or not getattr(self, "_is_quantized", False):
            return None
        out = []
        for name in self._saved_order[mode]:
            v = self.__dict__.get(name)
            if v is not None:
                out.append(v)
        return out

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform", b_initializer="zeros"):
        """Keras's LoRA adapters: not implemented by tapeflow."""
        raise NotImplementedError(f"Layer '{self.name}': tapeflow does not implement LoRA (enable_lora / lora_rank); "
                                  "fine-tune the float layer, or quantize after training.")


def straight_through(x: Tensor, y: np.ndarray, grad_fn) -> Tensor:
    """``y`` (the quantized forward, an array) as a Tensor whose gradient w.r.t. ``x`` is ``grad_fn(upstream)``:
    Keras's ``custom_gradient`` around the quantized matmul/einsum."""
    from ...autodiff.custom import custom_gradient

    def forward(inputs):
        return Tensor._wrap(y), grad_fn
    forward.__name__ = "quantized_call"
    return custom_gradient(forward)(x)
