"""Quantization configs (``keras.quantizers.*QuantizationConfig``) and Keras's resolution of ``quantize(mode, config)``.

tapeflow implements the ``int8`` and ``int4`` modes. ``Float8QuantizationConfig``, ``GPTQConfig`` and ``AWQConfig``
exist under Keras's names so that code and files naming them fail with a clear ``NotImplementedError``.
"""
from __future__ import annotations

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
IMPLEMENTED_MODES = ("int8", "int4")


def not_implemented(mode: str) -> NotImplementedError:
    return NotImplementedError(
        f"tapeflow does not implement the '{mode}' quantization mode (Keras 3's float8 training, GPTQ and AWQ "
        f"calibration need kernels tapeflow does not have); use mode='int8' or mode='int4'.")


def _serialize(obj):
    from . import serialize
    return serialize(obj)


def _deserialize(config):
    from . import deserialize
    return None if config is None else deserialize(config)


class QuantizationConfig:
    """Base class of quantization configs: a weight quantizer and an activation quantizer.

    >>> from tapeflow.keras import quantizers
    >>> quantizers.Int8QuantizationConfig().mode
    'int8'
    """

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self):
        raise NotImplementedError("Subclasses must implement this property. Do not instantiate QuantizationConfig "
                                  "directly.")

    def get_config(self):
        return {"weight_quantizer": _serialize(self.weight_quantizer),
                "activation_quantizer": _serialize(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config):
        return cls(weight_quantizer=_deserialize(config.get("weight_quantizer")),
                   activation_quantizer=_deserialize(config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config, default):
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        return config.activation_quantizer if config is not None else default


class Int8QuantizationConfig(QuantizationConfig):
    """int8: weights per output channel, inputs per row (``activation_quantizer="default"`` is an
    ``AbsMaxQuantizer``; ``None`` quantizes the weights only).

    >>> from tapeflow.keras import quantizers
    >>> type(quantizers.Int8QuantizationConfig().activation_quantizer).__name__
    'AbsMaxQuantizer'
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        from .quantizers import AbsMaxQuantizer
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if self.weight_quantizer is not None and self.weight_quantizer.output_dtype != "int8":
            raise ValueError("Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                             f"Received: output_dtype={self.weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """int4: weights packed two per byte; ``block_size`` rows share a scale and zero point (sub-channel, the
    default 128), or ``None``/``-1`` for one symmetric scale per output channel. Weight-only by default.

    >>> from tapeflow.keras import quantizers
    >>> quantizers.Int4QuantizationConfig().get_config()["block_size"]
    128
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and (not isinstance(block_size, int) or block_size <= 0):
            raise ValueError(f"block_size must be None, -1, or a positive integer. Received: block_size={block_size}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (self.weight_quantizer is not None
                                                          or self.activation_quantizer is not None):
            raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support custom quantizers. "
                             "Either set block_size to None or -1 for per-channel quantization, or remove the custom "
                             f"quantizer arguments. Received: block_size={block_size}")
        if self.weight_quantizer is not None:
            if tuple(self.weight_quantizer.value_range) != (-8, 7):
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with value_range=(-8, 7). "
                                 f"Received: value_range={self.weight_quantizer.value_range}")
            if self.weight_quantizer.output_dtype != "int8":
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                                 f"Received: output_dtype={self.weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int4"

    def get_config(self):
        config = super().get_config()
        config["block_size"] = self.block_size
        return config

    @classmethod
    def from_config(cls, config):
        return cls(weight_quantizer=_deserialize(config.get("weight_quantizer")),
                   activation_quantizer=_deserialize(config.get("activation_quantizer")),
                   block_size=config.get("block_size", None))


class Float8QuantizationConfig(QuantizationConfig):
    """Keras's float8 training config: not implemented by tapeflow (constructing it raises NotImplementedError)."""

    def __init__(self):
        raise not_implemented("float8")

    @property
    def mode(self):
        return "float8"

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls()


class GPTQConfig(QuantizationConfig):
    """Keras's GPTQ calibration config: not implemented by tapeflow (constructing it raises NotImplementedError)."""

    def __init__(self, *args, **kwargs):
        raise not_implemented("gptq")

    @property
    def mode(self):
        return "gptq"


class AWQConfig(QuantizationConfig):
    """Keras's AWQ calibration config: not implemented by tapeflow (constructing it raises NotImplementedError)."""

    def __init__(self, *args, **kwargs):
        raise not_implemented("awq")

    @property
    def mode(self):
        return "awq"


def validate_mode(mode) -> None:
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")


def validate_and_resolve_config(mode, config):
    """The config ``quantize(mode, config)`` uses, with Keras's checks and messages (a string ``config`` is a
    mode; ``None`` gets the mode's default config; a mode that contradicts the config is refused)."""
    if isinstance(config, str):
        mode, config = config, None
    validate_mode(mode)
    if config is None:
        if mode == "int8":
            config = Int8QuantizationConfig()
        elif mode == "int4":
            config = Int4QuantizationConfig()
        elif mode == "float8":
            raise not_implemented("float8")
        elif mode in ("gptq", "awq"):
            raise ValueError(f"For {mode.upper()}, you must pass a `{mode.upper()}Config` object in the `config` "
                             "argument.")
        else:
            raise ValueError("You must provide either `mode` or `config` to `quantize`.")
    elif not isinstance(config, QuantizationConfig):
        raise ValueError("Argument `config` must be an instance of `QuantizationConfig`. "
                         f"Received: config={config} (of type {type(config)})")
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode='{mode}' but config.mode='{config.mode}'")
    validate_mode(config.mode)
    if config.mode not in IMPLEMENTED_MODES:
        raise not_implemented(config.mode)
    return config


def block_size_of(config, policy_block_size=None):
    """The int4 block size: the config's, else the dtype policy's (``-1`` read as per-channel ``None``)."""
    if isinstance(config, Int4QuantizationConfig):
        return config.block_size
    return None if policy_block_size in (None, -1) else policy_block_size
