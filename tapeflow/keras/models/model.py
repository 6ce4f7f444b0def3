"""``keras.Model``: a Layer with training (from the Trainer mixin), summary and whole-model weights.

Three ways to make one, as in Keras:

* functional: ``Model(inputs, outputs)`` (returns a ``Functional``),
* ``Sequential([...])``,
* subclassing: define layers in ``__init__`` and the forward pass in ``call``.
"""
from __future__ import annotations

import json
import os
from copy import deepcopy as _deepcopy

import numpy as np

from ...autodiff.tensor import Tensor
from ..layers.base import Layer
from ..layers.tracking import CTX
from ..trainer import Trainer


def _is_functional_args(args, kwargs) -> bool:
    return ("inputs" in kwargs and "outputs" in kwargs) or (len(args) == 2) or \
        (len(args) == 1 and "outputs" in kwargs)


class Model(Trainer, Layer):
    """A trainable model: ``compile``/``fit``/``evaluate``/``predict`` plus Layer's API.

    >>> import tapeflow as tf
    >>> class MLP(tf.keras.Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = tf.keras.layers.Dense(8, activation="relu")
    ...         self.out = tf.keras.layers.Dense(2)
    ...     def call(self, x, training=None):
    ...         return self.out(self.hidden(x))
    >>> m = MLP()
    >>> m(tf.ones((3, 4))).shape.as_list(), len(m.trainable_variables)
    ([3, 2], 4)
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_args(args, kwargs):
            from .functional import Functional
            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        trainer_init = getattr(Trainer, "__init__", None)
        if trainer_init is not None and trainer_init is not object.__init__:
            trainer_init(self)
        if _is_functional_args(args, kwargs):
            names = ("inputs", "outputs")
            for k, v in zip(names, args):
                kwargs[k] = v
            inputs, outputs = kwargs.pop("inputs"), kwargs.pop("outputs")
            Layer.__init__(self, name=kwargs.pop("name", None), trainable=kwargs.pop("trainable", True),
                           dtype=kwargs.pop("dtype", None), **kwargs)
            self._init_graph(inputs, outputs)
        else:
            Layer.__init__(self, *args, **kwargs)

    # -- functional graph -------------------------------------------------------------------
    def _init_graph(self, inputs, outputs):
        from .functional import Graph
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        graph = Graph(inputs, outputs)
        self._self_graph = graph
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.built = True

    def _direct_layers(self) -> list:
        g = self.__dict__.get("_self_graph")
        if g is not None:
            return g.operations
        return Layer._direct_layers(self)

    @property
    def inputs(self):
        g = self.__dict__.get("_self_graph")
        return list(g.flat_inputs) if g is not None else None

    @property
    def outputs(self):
        g = self.__dict__.get("_self_graph")
        return list(g.flat_outputs) if g is not None else None

    @property
    def input(self):
        if self.__dict__.get("_self_graph") is not None:
            return self._inputs_struct
        return Layer.input.fget(self)

    @property
    def output(self):
        if self.__dict__.get("_self_graph") is not None:
            return self._outputs_struct
        return Layer.output.fget(self)

    @property
    def input_shape(self):
        if self.__dict__.get("_self_graph") is not None:
            shapes = [tuple(x.shape) for x in self.inputs]
            return shapes[0] if len(shapes) == 1 else shapes
        return Layer.input_shape.fget(self)

    @property
    def output_shape(self):
        if self.__dict__.get("_self_graph") is not None:
            shapes = [tuple(x.shape) for x in self.outputs]
            return shapes[0] if len(shapes) == 1 else shapes
        return Layer.output_shape.fget(self)

    @property
    def input_names(self) -> list:
        return [x._keras_history.operation.name for x in self.inputs or []]

    @property
    def output_names(self) -> list:
        return [x._keras_history.operation.name for x in self.outputs or []]

    def call(self, inputs, training=None, mask=None):
        if self.__dict__.get("_self_graph") is not None:
            from .functional import run_graph
            return run_graph(self, inputs, training=training, mask=mask)
        raise NotImplementedError(
            f"Model {type(self).__name__} has no call(): subclass keras.Model and define call(self, inputs), "
            "or build it with Model(inputs, outputs) or Sequential([...]).")

    def _build_from_shapes(self, shapes, named=None):
        if type(self).build is Model.build:  # subclassed model: weights appear during the first call
            object.__setattr__(self, "built", True)
            self._build_input_shape = shapes
            return
        Layer._build_from_shapes(self, shapes, named)

    def build(self, input_shape=None):
        """Create the weights of a subclassed model by running it once on zeros of ``input_shape``."""
        if self.built or self.__dict__.get("_self_graph") is not None:
            return
        if input_shape is None:
            raise ValueError(f'Model "{self.name}".build(): an input_shape is required, e.g. build((None, 784))')

        def zeros(s):
            if isinstance(s, dict):
                return {k: zeros(v) for k, v in s.items()}
            if isinstance(s, list) or (isinstance(s, tuple) and s and isinstance(s[0], (tuple, list))):
                return [zeros(v) for v in s]
            return Tensor._wrap(np.zeros(tuple(1 if d is None else int(d) for d in s), dtype=self._compute_dtype))
        prev = CTX.shape_inference
        CTX.shape_inference = True
        try:
            self(zeros(input_shape), training=False)
        finally:
            CTX.shape_inference = prev
        self._build_input_shape = input_shape
        self.built = True

    # -- layers -----------------------------------------------------------------------------
    @property
    def layers(self) -> list:
        """The model's direct sub-layers (for a functional model, in graph order, inputs first); operations
        on tensors (``x + y``, ``keras.ops.mean``) are not layers, as in Keras: see ``operations``."""
        return [layer for layer in self._direct_layers() if not getattr(layer, "_is_operation", False)]

    @property
    def operations(self) -> list:
        """Every node of a functional model's graph in order: its layers and its tensor operations."""
        return list(self._direct_layers())

    def get_layer(self, name=None, index=None):
        """A direct sub-layer by ``name`` or by ``index``."""
        if index is not None and name is not None:
            raise ValueError("get_layer: provide either name or index, not both")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in layers]}.")
        raise ValueError("get_layer: provide a layer name or index")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print a table of layers, output shapes and parameter counts, then the totals."""
        from .summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        if self.__dict__.get("_self_graph") is not None and _functional_like(type(self)):
            from .functional import functional_get_config
            return functional_get_config(self)
        return Layer.get_config(self)

    get_config._automatic = True

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config and "output_layers" in config:
            from .functional import functional_from_config
            return functional_from_config(cls, config, custom_objects=custom_objects)
        return cls(**config)

    # -- saving (delegates to keras.saving) ---------------------------------------------------
    def save(self, filepath, overwrite=True, zipped=None, **kwargs) -> None:
        """Save the whole model: ``.keras`` (Keras 3 zip) or ``.h5`` (legacy HDF5); written atomically.

        >>> import os, tempfile, tapeflow as tf
        >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
        >>> m.save(os.path.join(tempfile.mkdtemp(), "m.keras"))
        """
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs) -> None:
        """Save the weights (and optimizer state) to ``*.weights.h5`` in Keras 3's layout, atomically."""
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs) -> None:
        """Load weights from ``.weights.h5``, a legacy ``.h5`` or a ``.keras`` file; shapes are checked first."""
        from ..saving import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def quantize(self, mode=None, config=None, filters=None, **kwargs) -> None:
        """Quantize the model's Dense / EinsumDense / Embedding layers to ``"int8"`` or ``"int4"`` (or as a
        ``keras.quantizers`` config says), as Keras 3; ``filters`` (a regex on layer names, a list of them, or
        a callable on the layer) picks the layers. Other leaf layers get Keras's "no quantize method" warning.

        >>> import warnings, tapeflow as tf
        >>> m = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3, name="a"),
        ...                          tf.keras.layers.Dense(2, name="b")])
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     m.quantize("int8", filters="b")
        >>> [layer.dtype_policy if isinstance(layer.dtype_policy, str) else layer.dtype_policy.name
        ...  for layer in m.layers]
        ['float32', 'int8_from_float32']
        """
        from ..layers.quantized import quantize_model
        quantize_model(self, mode, config=config, filters=filters, **kwargs)

    def __reduce__(self):
        """``pickle.dumps(model)``, as Keras 3: the model travels as its ``.keras`` archive (config, weights,
        optimizer state), for joblib, multiprocessing and scikit-learn; unpickling loads it and compiles it.

        >>> import pickle, tapeflow as tf
        >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
        >>> pickle.loads(pickle.dumps(m)).get_weights()[0].shape
        (2, 1)
        """
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.keras")
            self.save(path)
            with open(path, "rb") as f:
                return _unpickle_model, (f.read(),)

    def __deepcopy__(self, memo):  # attribute by attribute, as before __reduce__ (not through a saved archive)
        copy = type(self).__new__(type(self))
        memo[id(self)] = copy
        copy.__dict__.update({k: _deepcopy(v, memo) for k, v in self.__dict__.items()})
        return copy

    def to_json(self, **kwargs) -> str:
        """The model's architecture as JSON (``keras.models.model_from_json`` reads it back)."""
        from ..layers import serialize
        return json.dumps(serialize(self), default=_json_default, **kwargs)


def _unpickle_model(data: bytes):
    import tempfile

    from ..saving import load_model
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return load_model(path)


def _functional_like(cls) -> bool:
    from .functional import Functional
    return cls is Functional or cls is Model or cls.__init__ is Functional.__init__


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model's architecture (fresh weights) from ``model.to_json()``."""
    from ..layers import deserialize
    return deserialize(json.loads(json_string), custom_objects=custom_objects)
