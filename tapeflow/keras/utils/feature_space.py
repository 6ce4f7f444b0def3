"""``keras.utils.FeatureSpace``: preprocess and encode a dict of structured-data columns in one object.

Each feature names a preprocessing layer (Normalization, Rescaling, Discretization, StringLookup,
IntegerLookup, Hashing, or one of your own) and an output mode: ``"float"`` (the layer's output as it is),
``"int"`` (the layer's integer indices) or ``"one_hot"`` (the indices turned into a 0/1 vector by a
``CategoryEncoding`` layer whose size is the layer's vocabulary or bin count). Crosses hash the *preprocessed*
values of two or more features together (``HashedCrossing``). In ``output_mode="concat"`` the encoded features
are concatenated in sorted-name order, features first and crosses after (Keras's order); in ``"dict"`` they are
returned by name, in that same order.

Inputs are fed to the layers as ``(batch, 1)`` columns: a rank-1 column gets a trailing axis, and a dict of
scalars is one example, whose output loses the batch axis again. Inputs are checked against the feature's dtype:
floats become float32, integer-valued floats become int64 for integer features, and anything else (a string
for a float feature, 2.5 for an integer feature) is an error naming the feature.

Differences from Keras 3.15.1: ``FeatureSpace.float_discretized(num_bins=None, bin_boundaries=[...])`` works
(Keras tries to adapt it and fails); an ``adapt`` Dataset may yield ``(features, label)`` pairs (Keras needs
the features alone); a dict with keys that are not features, a duplicate cross, or a cross named like a
feature is an error (Keras raises a bare ``KeyError`` or silently keeps one).
"""
from __future__ import annotations

import numpy as np

from ...autodiff.tensor import Tensor
from .. import layers as L
from ..layers.base import Layer

__all__ = ["FeatureSpace", "Feature", "Cross", "TFDIdentity"]

_FEATURE_MODES = ("int", "one_hot", "float")
_CROSS_MODES = ("int", "one_hot")
_SHORTHANDS = ("float", "float_normalized", "float_rescaled", "float_discretized", "integer_categorical",
               "string_categorical", "integer_hashed", "string_hashed")
_KERAS_MODULE = "keras.src.layers.preprocessing.feature_space"


def _auto_name(prefix: str) -> str:
    from ..backend import unique_object_name
    return unique_object_name(prefix)


def _kind(dtype) -> str:
    """``"int"``, ``"float"``, ``"string"``, ``"bool"`` or ``"other"`` for a dtype name or NumPy dtype."""
    if isinstance(dtype, np.dtype):
        return {"i": "int", "u": "int", "f": "float", "U": "string", "S": "string", "O": "string",
                "b": "bool"}.get(dtype.kind, "other")
    name = str(dtype)
    if name.startswith(("int", "uint")):
        return "int"
    if name.startswith(("float", "bfloat")):
        return "float"
    if name in ("string", "str", "bytes", "object"):
        return "string"
    return "bool" if name == "bool" else "other"


def _serialize_layer(layer) -> dict:
    out = L.serialize(layer)
    if isinstance(layer, TFDIdentity):  # where Keras looks it up
        out["module"], out["registered_name"] = _KERAS_MODULE, "TFDIdentity"
    return out


class Cross:
    """A feature cross: ``feature_names`` hashed together into ``crossing_dim`` bins, as one-hot vectors
    (``output_mode="one_hot"``) or bin indices (``"int"``). Made by ``FeatureSpace.cross``.

    >>> from tapeflow import keras
    >>> cross = keras.utils.FeatureSpace.cross(("color", "size"), crossing_dim=16)
    >>> cross.name, cross.get_config()["crossing_dim"]
    ('color_X_size', 16)
    """

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in _CROSS_MODES:
            raise ValueError(f"FeatureSpace.cross: output_mode must be one of {_CROSS_MODES}, got {output_mode!r}")
        if isinstance(feature_names, str) or not hasattr(feature_names, "__iter__"):
            raise ValueError(f"FeatureSpace.cross: feature_names must be a tuple of at least two feature names, "
                             f"got {feature_names!r}")
        self.feature_names = tuple(feature_names)
        if len(self.feature_names) < 2 or not all(isinstance(n, str) for n in self.feature_names):
            raise ValueError(f"FeatureSpace.cross: feature_names must be a tuple of at least two feature names "
                             f"(strings), got {feature_names!r}")
        if isinstance(crossing_dim, bool) or not isinstance(crossing_dim, (int, np.integer)) or crossing_dim < 1:
            raise ValueError(f"FeatureSpace.cross {self.feature_names}: crossing_dim must be a positive integer "
                             f"(the number of hash bins), got {crossing_dim!r}")
        self.crossing_dim, self.output_mode = int(crossing_dim), output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"Cross({self.feature_names}, crossing_dim={self.crossing_dim}, output_mode={self.output_mode!r})"


class Feature:
    """One feature of a FeatureSpace: its input ``dtype`` (``"float32"``, ``"int32"``, ``"string"``...), the
    ``preprocessor`` layer it goes through, and its ``output_mode`` (``"float"``, ``"int"`` or ``"one_hot"``).
    Made by the ``FeatureSpace`` constructors (``FeatureSpace.feature`` for your own layer).

    >>> from tapeflow import keras
    >>> f = keras.utils.FeatureSpace.string_categorical(max_tokens=10, name="color")
    >>> f.dtype, type(f.preprocessor).__name__, f.preprocessor.name, f.output_mode
    ('string', 'StringLookup', 'color_preprocessor', 'one_hot')
    """

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in _FEATURE_MODES:
            raise ValueError(f"FeatureSpace.feature: output_mode must be one of {_FEATURE_MODES}, got "
                             f"{output_mode!r}")
        if isinstance(preprocessor, dict):
            preprocessor = L.deserialize(preprocessor)
        if not isinstance(preprocessor, Layer):
            raise ValueError(f"FeatureSpace.feature: preprocessor must be a Keras layer (e.g. "
                             f"keras.layers.StringLookup()), got {type(preprocessor).__name__}")
        self.dtype, self.preprocessor, self.output_mode = dtype, preprocessor, output_mode

    def get_config(self) -> dict:
        return {"dtype": self.dtype, "preprocessor": _serialize_layer(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        return f"Feature(dtype={self.dtype!r}, preprocessor={self.preprocessor.name!r}, " \
               f"output_mode={self.output_mode!r})"


def _deserialize_spec(config, what: str):
    """A ``Feature`` or ``Cross`` from its serialized dict (by class name only: nothing is imported)."""
    classes = {"Feature": Feature, "Cross": Cross}
    name = config.get("registered_name") or config.get("class_name")
    if name not in classes or "config" not in config:
        raise ValueError(f"FeatureSpace: {what} should be a serialized Feature/Cross ({{'class_name': 'Feature', "
                         f"'config': {{...}}}}), got class_name={config.get('class_name')!r}")
    return classes[name].from_config(config["config"])


class TFDIdentity(Layer):
    """Pass values through unchanged: the preprocessor of ``FeatureSpace.float()`` (Keras's name for it).

    >>> import numpy as np
    >>> TFDIdentity()(np.array([[1.5]], "float32")).numpy().tolist()
    [[1.5]]
    """

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


class FeatureSpace(Layer):
    """Preprocess and encode structured data (a dict of columns), as ``keras.utils.FeatureSpace``.

    ``features`` maps each name to a ``Feature`` (from the constructors below) or a shorthand string:
    ``"float"``, ``"float_normalized"``, ``"float_rescaled"``, ``"float_discretized"`` (``num_discretization_bins``
    bins), ``"integer_categorical"``, ``"string_categorical"``, ``"integer_hashed"``, ``"string_hashed"``
    (``hashing_dim`` bins). ``crosses`` lists tuples of feature names (``crossing_dim`` bins) or
    ``FeatureSpace.cross(...)``. Call ``adapt(dataset)`` first, then call the space on a dict of columns
    (batched or one example), or build a model on ``get_inputs()`` / ``get_encoded_features()``.

    >>> import numpy as np, tapeflow as tf
    >>> data = {"price": np.array([1.0, 2.0, 3.0]), "color": np.array(["red", "blue", "red"])}
    >>> fs = tf.keras.utils.FeatureSpace({"price": "float_normalized", "color": "string_categorical"})
    >>> fs.adapt(tf.data.Dataset.from_tensor_slices(data))
    >>> fs(data).numpy().astype(float).round(2).tolist()  # color one-hot ([UNK], red, blue), then normalized price
    [[0.0, 1.0, 0.0, -1.22], [0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.22]]
    >>> fs({"price": 2.0, "color": "green"}).numpy().tolist()
    [1.0, 0.0, 0.0, 0.0]
    """

    # -- feature constructors ------------------------------------------------------------------
    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        name = name or _auto_name("float")
        return Feature("float32", TFDIdentity(dtype="float32", name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        name = name or _auto_name("float_rescaled")
        return Feature("float32", L.Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name=None):
        name = name or _auto_name("float_normalized")
        return Feature("float32", L.Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        name = name or _auto_name("float_discretized")
        layer = L.Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries, name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or _auto_name("integer_categorical")
        layer = L.IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or _auto_name("string_categorical")
        layer = L.StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens, num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or _auto_name("string_hashed")
        return Feature("string", L.Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or _auto_name("integer_hashed")
        return Feature("int32", L.Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    # -- construction --------------------------------------------------------------------------
    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32, hashing_dim=32,
                 num_discretization_bins=32, name=None):
        super().__init__(name=name)
        if not features or not isinstance(features, dict):
            raise ValueError(f"FeatureSpace: `features` must be a non-empty dict mapping feature names to types, "
                             f"e.g. {{'age': 'float_normalized'}}; got {features!r}")
        if output_mode not in ("dict", "concat"):
            raise ValueError(f"FeatureSpace: output_mode must be 'concat' or 'dict', got {output_mode!r}")
        self.output_mode = output_mode
        self.crossing_dim, self.hashing_dim = crossing_dim, hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {n: self._standardize_feature(n, v) for n, v in features.items()}
        self.crosses = [self._standardize_cross(c) for c in (crosses or [])]
        self.crosses_by_name = {}
        for cross in self.crosses:
            if cross.name in self.crosses_by_name or cross.name in self.features:
                what = "is listed twice" if cross.name in self.crosses_by_name else "has the name of a feature"
                raise ValueError(f"FeatureSpace: the cross {cross.name!r} {what}; each cross and feature needs "
                                 "its own name")
            self.crosses_by_name[cross.name] = cross
        from ..layers.core import Input
        self.inputs = {n: Input(shape=(1,), dtype=f.dtype, name=n) for n, f in self.features.items()}
        self.preprocessors = {n: f.preprocessor for n, f in self.features.items()}
        self.crossers = {c.name: L.HashedCrossing(c.crossing_dim, name=c.name) for c in self.crosses}
        self.one_hot_encoders = {}
        self.encoded_features = None
        self.concat = None
        self._is_adapted = False
        self._sublayers_built = False
        self._output_names = None

    def _standardize_feature(self, name, feature) -> Feature:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"FeatureSpace: feature names must be non-empty strings without '/', got {name!r}")
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return _deserialize_spec(feature, f"feature {name!r}")
        if feature in ("float", "float_normalized", "float_rescaled"):
            return getattr(self, feature)(name=name)
        if feature == "float_discretized":
            return self.float_discretized(num_bins=self.num_discretization_bins, name=name)
        if feature in ("integer_categorical", "string_categorical"):
            return getattr(self, feature)(name=name)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(self.hashing_dim, name=name)
        raise ValueError(f"FeatureSpace: feature {name!r} has the unknown type {feature!r}; use one of "
                         f"{list(_SHORTHANDS)} or a FeatureSpace.<type>(...) / FeatureSpace.feature(...) object")

    def _standardize_cross(self, cross) -> Cross:
        if isinstance(cross, dict):
            cross = _deserialize_spec(cross, "a cross")
        elif not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise ValueError(f"FeatureSpace: the cross {cross!r} needs a crossing_dim (the number of hash "
                                 f"bins), got crossing_dim={self.crossing_dim!r}")
            cross = Cross(cross, crossing_dim=self.crossing_dim)
        unknown = [n for n in cross.feature_names if n not in self.features]
        if unknown:
            raise ValueError(f"FeatureSpace: the cross {cross.feature_names} names {unknown}, which are not in "
                             f"`features` (known: {sorted(self.features)}); cross only declared features")
        return cross

    # -- adapt ---------------------------------------------------------------------------------
    def _list_adaptable_preprocessors(self) -> list:
        names = []
        for name, layer in self.preprocessors.items():
            if isinstance(layer, L.Normalization) and layer.input_mean is not None:
                continue  # given mean and variance
            if isinstance(layer, L.Discretization) and layer.num_bins is None:
                continue  # given bin boundaries
            if isinstance(layer, L.TextVectorization) and layer.get_vocabulary(include_special_tokens=False):
                continue  # a vocabulary is set (Keras: one was given)
            if hasattr(layer, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset) -> None:
        """Adapt every feature's preprocessing layer (vocabularies, mean/variance, bin boundaries) to
        ``dataset``: a ``tf.data.Dataset`` of dicts (batched or not) or a dict of arrays."""
        from ...data import Dataset
        if isinstance(dataset, dict):
            dataset = Dataset.from_tensor_slices(dataset)
        elif not isinstance(dataset, Dataset):
            raise ValueError(f"FeatureSpace.adapt: expected a tf.data.Dataset of dicts or a dict of arrays, got "
                             f"{type(dataset).__name__}")
        # a second adapt may change vocabulary sizes: the one-hot encoders and the encoded graph are made anew
        self.one_hot_encoders, self.encoded_features, self.concat, self._output_names = {}, None, None, None
        for name in self._list_adaptable_preprocessors():
            column = dataset.map(lambda *element, _name=name: _column(element, _name))
            try:
                first = np.asarray(_numpy(next(iter(column))))
            except StopIteration:
                raise ValueError("FeatureSpace.adapt: the dataset is empty; adapt on some data") from None
            if first.ndim == 0:
                column = column.batch(32)  # one example per element: adapt 32 at a time, as Keras
            if first.ndim <= 1:
                column = column.map(lambda x: np.expand_dims(_numpy(x), -1))
            self.preprocessors[name].adapt(column)
        self._is_adapted = True
        self.get_encoded_features()
        self.built = True
        self._sublayers_built = True

    # -- the functional view -------------------------------------------------------------------
    def get_inputs(self) -> dict:
        """The ``keras.Input`` of each feature (shape ``(None, 1)``, the feature's dtype), by name."""
        self._check_if_built()
        return self.inputs

    def get_encoded_features(self):
        """The encoded features as symbolic tensors computed from ``get_inputs()``: one tensor in
        ``concat`` mode, a dict in ``dict`` mode (build a model on them)."""
        self._check_if_adapted()
        if self.encoded_features is None:
            self.encoded_features = self._encode(self.inputs, symbolic=True)
        return self.encoded_features

    def _check_if_adapted(self) -> None:
        if not self._is_adapted:
            if self._list_adaptable_preprocessors():
                raise ValueError(f"FeatureSpace '{self.name}': call .adapt(dataset) before using it (features "
                                 f"{self._list_adaptable_preprocessors()} learn from data; a space loaded from a "
                                 "Keras-written file needs it too: Keras keeps vocabularies in the file's assets/)")
            self._is_adapted = True

    def _check_if_built(self) -> None:
        if not self._sublayers_built:
            self._check_if_adapted()
            self.get_encoded_features()
            self._sublayers_built = True

    # -- encoding ------------------------------------------------------------------------------
    def _encode(self, data: dict, symbolic: bool = False):
        run = (lambda layer, x: layer(x)) if symbolic else _run
        pre = {n: run(self.preprocessors[n], data[n]) for n in self.features}
        crossed = {c.name: run(self.crossers[c.name], [pre[n] for n in c.feature_names]) for c in self.crosses}
        if self._output_names is None:
            self._make_encoders(pre, crossed)
        out = {}
        for n in self._output_names:
            x = pre[n] if n in pre else crossed[n]
            encoder = self.one_hot_encoders.get(n)
            out[n] = x if encoder is None else run(encoder, x)
        if self.output_mode == "dict":
            return out
        return run(self.concat, list(out.values()))

    def _make_encoders(self, pre: dict, crossed: dict) -> None:
        """A CategoryEncoding for each one-hot output, and the Concatenate layer; checks the dtypes."""
        names = sorted(pre) + sorted(crossed)
        for n in names:
            spec = self.features[n] if n in pre else self.crosses_by_name[n]
            layer = self.preprocessors.get(n) or self.crossers.get(n)
            kind = _kind(_dtype(pre[n] if n in pre else crossed[n]))
            if spec.output_mode == "one_hot":
                if kind != "int":
                    raise ValueError(f"FeatureSpace: feature {n!r} has output_mode='one_hot', so its preprocessor "
                                     f"'{layer.name}' must return integer indices, but it returns {kind} values; "
                                     "use output_mode='float' (or 'int') for it")
                self.one_hot_encoders[n] = L.CategoryEncoding(num_tokens=_cardinality(n, layer),
                                                              output_mode="multi_hot")
                kind = "float"
            if self.output_mode == "concat" and kind != "float":
                raise ValueError(f"FeatureSpace: cannot concatenate feature {n!r}: it is not encoded as floats (its "
                                 f"output_mode is {spec.output_mode!r}, giving {kind} values); use "
                                 "output_mode='one_hot' for it, or FeatureSpace(..., output_mode='dict')")
        if self.output_mode == "concat":
            self.concat = L.Concatenate(axis=-1)
        self._output_names = names

    def __call__(self, data):
        """Encode ``data``, a dict of columns (arrays, lists, Tensors) with one entry per feature; a dict of
        scalars is one example and gives an output without the batch axis."""
        self._check_if_built()
        if not isinstance(data, dict):
            raise ValueError(f"FeatureSpace '{self.name}': call it on a dict of feature columns, got "
                             f"{type(data).__name__}")
        missing = [n for n in self.features if n not in data]
        unknown = [n for n in data if n not in self.features]
        if missing or unknown:
            raise ValueError(f"FeatureSpace '{self.name}': the data's keys must be the features "
                             f"{list(self.features)}; missing {missing}, unexpected {unknown}")
        from ..backend import is_keras_tensor
        if any(is_keras_tensor(v) for v in data.values()):
            return self._encode(data, symbolic=True)
        columns, rebatched = {}, False
        for n, f in self.features.items():
            arr = _convert(n, f.dtype, data[n])
            if arr.ndim == 0:
                arr, rebatched = arr.reshape(1, 1), True
            elif arr.ndim == 1:
                arr = arr[:, None]
            columns[n] = arr
        sizes = {n: a.shape[0] for n, a in columns.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"FeatureSpace '{self.name}': every feature needs the same number of examples, got "
                             f"{sizes}")
        out = self._encode({n: Tensor._wrap(a) for n, a in columns.items()})
        if rebatched:
            if self.output_mode == "concat":
                return Tensor._wrap(out._value[0])
            return {n: Tensor._wrap(x._value[0]) if x._value.ndim == 2 and x._value.shape[0] == 1 else x
                    for n, x in out.items()}
        return out

    # -- config and saving ---------------------------------------------------------------------
    def get_config(self) -> dict:
        features = {n: {"module": _KERAS_MODULE, "class_name": "Feature", "config": f.get_config(),
                        "registered_name": "Feature"} for n, f in self.features.items()}
        crosses = [{"module": _KERAS_MODULE, "class_name": "Cross", "config": c.get_config(),
                    "registered_name": "Cross"} for c in self.crosses]
        return {"features": features, "output_mode": self.output_mode, "crosses": crosses,
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def build(self, input_shape=None) -> None:
        """Create the preprocessing layers' weights (for inputs of shape ``(batch, 1)``)."""
        for layer in self.preprocessors.values():
            if not layer.built:
                layer._build_from_shapes((None, 1))
        self.built = True

    def get_build_config(self) -> dict:
        return {"input_shape": {n: [None, 1] for n in self.features}}

    def build_from_config(self, config) -> None:
        """Restore a saved (adapted) space: build the preprocessing layers, whose weights load next. A lookup
        layer without a vocabulary (Keras writes adapted vocabularies to the file's ``assets/``, not to the
        config) leaves the space un-adapted, so that using it asks for ``adapt`` instead of encoding
        everything as out-of-vocabulary."""
        self.build()
        self._is_adapted = not any(isinstance(layer, (L.StringLookup, L.IntegerLookup, L.TextVectorization))
                                   and not layer.get_vocabulary(include_special_tokens=False)
                                   for layer in self.preprocessors.values())

    def save(self, filepath) -> None:
        """Save to a ``.keras`` file (config with the vocabularies and bin boundaries, weights with the
        normalization statistics); reload with ``keras.saving.load_model``."""
        from ..saving import save_model
        save_model(self, filepath)


# -- helpers -------------------------------------------------------------------------------------
def _numpy(x):
    return x._value if isinstance(x, Tensor) else np.asarray(x)


def _column(element: tuple, name: str):
    """Feature ``name`` of a Dataset element: a dict, or the first item of an ``(x, y)`` pair."""
    x = element[0]
    if not isinstance(x, dict):
        raise ValueError(f"FeatureSpace.adapt: the dataset must yield dicts of feature columns (or (dict, label) "
                         f"pairs), got {type(x).__name__}")
    if name not in x:
        raise ValueError(f"FeatureSpace.adapt: the dataset has no column for feature {name!r} (columns: "
                         f"{sorted(x)})")
    return x[name]


def _dtype(x):
    value = getattr(x, "_value", None)
    return value.dtype if isinstance(value, np.ndarray) else x.dtype


def _convert(name: str, dtype, value) -> np.ndarray:
    """``value`` as an array for a feature of ``dtype``; an error naming the feature when it does not fit."""
    arr = _numpy(value)
    want, got = _kind(dtype), _kind(arr.dtype)
    if want == "float":
        if got not in ("float", "int", "bool"):
            raise ValueError(f"FeatureSpace: feature {name!r} takes numbers ({dtype}), got {arr.dtype} values")
        return arr.astype(_numpy_dtype(dtype, np.float32), copy=False)
    if want == "int":
        if got == "float":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError(f"FeatureSpace: feature {name!r} takes integers ({dtype}), got non-integer "
                                 f"floats such as {arr[arr != np.round(arr)].reshape(-1)[:1].tolist()}")
            return arr.astype(np.int64)
        if got not in ("int", "bool"):
            raise ValueError(f"FeatureSpace: feature {name!r} takes integers ({dtype}), got {arr.dtype} values")
        return arr.astype(np.int64, copy=False)
    if want == "string" and got != "string":
        raise ValueError(f"FeatureSpace: feature {name!r} takes strings, got {arr.dtype} values; pass the "
                         "categories as strings (or declare the feature integer_categorical)")
    return arr


def _numpy_dtype(dtype, default):
    try:
        return np.dtype(str(dtype))
    except TypeError:  # bfloat16 and other names NumPy does not know
        return np.dtype(default)


def _run(layer, x):
    """Call a built layer's ``call`` directly (eager data: no graph, no shared call state, so a
    ``Dataset.map`` on worker threads is safe); an unbuilt (custom) layer goes through ``__call__``."""
    return layer.call(x) if layer.built else layer(x)


def _cardinality(name: str, layer) -> int:
    """The number of distinct indices ``layer`` produces: the one-hot size of feature ``name``."""
    if isinstance(layer, (L.IntegerLookup, L.StringLookup)):
        return layer.vocabulary_size()
    if isinstance(layer, L.CategoryEncoding):
        return layer.num_tokens
    if isinstance(layer, L.Discretization):
        return len(layer.bin_boundaries) + 1 if layer.bin_boundaries is not None else layer.num_bins
    if isinstance(layer, (L.HashedCrossing, L.Hashing)):
        return layer.num_bins
    raise ValueError(f"FeatureSpace: feature {name!r} has output_mode='one_hot', but the size of its "
                     f"preprocessor's output space ({type(layer).__name__}) is not known, so it cannot be one-hot "
                     "encoded; use output_mode='int' (or 'float') for it")
