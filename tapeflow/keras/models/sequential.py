"""``keras.Sequential``: a plain stack of layers, each feeding the next."""
from __future__ import annotations

from ...autodiff.tensor import Tensor
from ...ops import array_ops as A
from ..layers.base import _SCOPE, Layer
from ..layers.core import InputLayer
from .keras_tensor import KerasTensor
from .model import Model


class Sequential(Model):
    """A linear stack of layers.

    Give the input shape with ``keras.Input`` (or ``input_shape=`` on the first layer) to build it
    at once; otherwise it builds on its first call.

    >>> import tapeflow as tf
    >>> model = tf.keras.Sequential([
    ...     tf.keras.layers.Dense(128, activation="relu", input_shape=(784,)),
    ...     tf.keras.layers.Dense(10, activation="softmax")])
    >>> model.count_params(), model.output_shape
    (101770, (None, 10))
    """

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        super().__init__(trainable=trainable, name=name, **kwargs)
        self._seq_layers = []
        if layers:
            if not isinstance(layers, (list, tuple)):
                layers = [layers]
            for layer in layers:
                self.add(layer, rebuild=False)
            self._maybe_rebuild()

    def _direct_layers(self) -> list:
        return self.__dict__.get("_seq_layers", [])

    @property
    def layers(self) -> list:
        """The layers, without the InputLayer."""
        layers = list(self._direct_layers())
        return layers[1:] if layers and isinstance(layers[0], InputLayer) else layers

    def add(self, layer, rebuild=True) -> None:
        """Append a layer (or a ``keras.Input`` tensor, which sets the input shape)."""
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            layer = layer._keras_history.operation
        if not isinstance(layer, Layer):
            raise ValueError("Only instances of keras.layers.Layer can be added to a Sequential model. "
                             f"Received: {layer!r} (of type {type(layer).__name__})")
        seq = self._seq_layers
        if isinstance(layer, InputLayer):
            if seq and isinstance(seq[0], InputLayer):
                raise ValueError(f"Sequential model '{self.name}' already has an input layer; "
                                 "you cannot add a second one.")
            if seq:
                raise ValueError(f"Sequential model '{self.name}': an InputLayer must come first.")
        elif not seq and layer._batch_input_shape is not None:
            seq.append(InputLayer(batch_shape=layer._batch_input_shape, dtype=layer._compute_dtype.name))
        if any(existing is layer for existing in seq):
            raise ValueError(f"Layer '{layer.name}' is already in Sequential model '{self.name}'")
        seq.append(layer)
        if rebuild:
            self._maybe_rebuild()
        else:
            self._reset_graph()

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        layers = self.layers
        if not layers:
            raise TypeError(f"Sequential model '{self.name}' has no layers to pop.")
        layer = self._seq_layers.pop()
        if rebuild:
            self._maybe_rebuild()
        else:
            self._reset_graph()
        return layer

    def _reset_graph(self):
        g = self.__dict__.get("_self_graph")
        if g is not None:
            for node in reversed(g.run_nodes):  # drop this graph's nodes when they are the newest ones
                nodes = node.operation._inbound_nodes
                if nodes and nodes[-1] is node:
                    nodes.pop()
        object.__setattr__(self, "_self_graph", None)
        object.__setattr__(self, "built", False)

    def _maybe_rebuild(self):
        self._reset_graph()
        seq = self._seq_layers
        if seq and isinstance(seq[0], InputLayer) and len(seq) > 1:
            self.build(seq[0].batch_shape)

    def build(self, input_shape=None):
        """Connect the layers for inputs of ``input_shape`` (the batch size may be None)."""
        seq = self._seq_layers
        if input_shape is None:
            if seq and isinstance(seq[0], InputLayer):
                input_shape = seq[0].batch_shape
            else:
                raise ValueError(f"Sequential model '{self.name}' cannot be built: its input shape is unknown. "
                                 "Add keras.Input(shape=...) first, pass input_shape= to the first layer, or "
                                 "call the model on data.")
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"Sequential model '{self.name}' takes one input; got shapes {input_shape}")
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
        if not seq or not isinstance(seq[0], InputLayer):
            seq.insert(0, InputLayer(batch_shape=input_shape))
        elif tuple(seq[0].batch_shape[1:]) != input_shape[1:]:
            raise ValueError(f"Sequential model '{self.name}' was configured for input shape "
                             f"{seq[0].batch_shape}, cannot build it for {input_shape}")
        if self.__dict__.get("_self_graph") is not None:
            return
        x = seq[0].output
        _SCOPE.append(self.name)  # weights created here get paths "sequential/dense/kernel", as Keras 3
        try:
            for layer in seq[1:]:
                x = layer(x)
        finally:
            _SCOPE.pop()
        self._init_graph(seq[0].output, x)
        object.__setattr__(self, "built", True)

    def _build_from_shapes(self, shapes, named=None):
        if isinstance(shapes, tuple):
            shapes = (None,) + tuple(shapes[1:])
        self.build(shapes)
        self._build_input_shape = shapes

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._seq_layers:
            if type(layer) is InputLayer:
                want = layer.output._dtype  # as Keras: data takes its Input's dtype (ints for a float model)
                if isinstance(x, Tensor) and x._value.dtype != want and x._value.dtype.kind in "biuf" \
                        and want.kind in "biuf":
                    x = A.cast(x, want)
                continue
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self) -> dict:
        from ..layers import serialize
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_policy_name,
                  "layers": [serialize(layer) for layer in self._seq_layers]}
        if self._seq_layers and isinstance(self._seq_layers[0], InputLayer):
            config["build_input_shape"] = list(self._seq_layers[0].batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from ..layers import deserialize
        config = dict(config)
        layer_configs = config.pop("layers")
        build_shape = config.pop("build_input_shape", None)
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in layer_configs:
            model.add(deserialize(layer_config, custom_objects=custom_objects), rebuild=False)
        if model._seq_layers and isinstance(model._seq_layers[0], InputLayer):
            model._maybe_rebuild()
        elif build_shape:
            model.build(build_shape)
        return model
