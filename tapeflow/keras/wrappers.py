"""``keras.wrappers``: scikit-learn estimators around a Keras model (Keras 3.15.1's names and behaviour).

``SKLearnClassifier``, ``SKLearnRegressor`` and ``SKLearnTransformer`` take ``model``: a compiled
``Model`` (cloned, then compiled the same way, at each ``fit``) or a callable ``model(X=X, y=y,
**model_kwargs)`` returning a compiled one. ``fit(X, y, **kwargs)`` validates the data as
scikit-learn does, then calls ``model.fit(X, y, **{**fit_kwargs, **kwargs})``. The classifier
one-hot encodes its labels (``classes_``; ``predict`` maps the output's argmax back to a label,
``decision_function`` is the raw output); the regressor reshapes a 1-D ``y`` to one column and
back; ``transform`` returns the model's output.

scikit-learn is optional: this module imports without it, and building a wrapper then raises an
ImportError that says ``pip install scikit-learn``.

Where tapeflow differs from Keras 3.15.1 (whose code disagrees with its own documentation):
``warm_start=True`` keeps training the fitted model (Keras rebuilds it at every fit); ``clone``
keeps ``fit_kwargs`` (Keras drops them) and ``fit`` leaves ``fit_kwargs`` unchanged (Keras adds
the call's keyword arguments to it); ``set_fit_request`` routes to ``fit`` (Keras: to ``score``);
``predict`` shows no progress bar; a fitted wrapper pickles (its models travel as ``.keras`` archives).

>>> import numpy as np, tapeflow as tf
>>> from tapeflow.keras.wrappers import SKLearnClassifier
>>> def make_model(X, y):
...     model = tf.keras.Sequential([tf.keras.Input((X.shape[1],)),
...                                  tf.keras.layers.Dense(y.shape[1], activation="softmax")])
...     model.compile(optimizer="adam", loss="categorical_crossentropy")
...     return model
>>> X = np.array([[0., 1.], [1., 0.], [0., 2.], [2., 0.]])
>>> clf = SKLearnClassifier(make_model, fit_kwargs={"epochs": 2, "verbose": 0})
>>> clf.fit(X, np.array(["a", "b", "a", "b"])).classes_.tolist()
['a', 'b']
>>> clf.predict(X).shape
(4,)
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the wrappers import without scikit-learn; building one says how to get it
    sklearn = None

    class BaseEstimator:  # noqa: D101 - stand-ins so the classes below can be defined
        pass

    class ClassifierMixin:  # noqa: D101
        pass

    class RegressorMixin:  # noqa: D101
        pass

    class TransformerMixin:  # noqa: D101
        pass

from .models import Model, clone_model

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def _require_sklearn(owner: str) -> None:
    if sklearn is None:
        raise ImportError(f"{owner} requires scikit-learn, which is not installed. Run `pip install scikit-learn` "
                          "(or `pip install 'tapeflow[sklearn]'`) to install it.")


def _validate_data(estimator, *args, **kwargs):
    """scikit-learn's data validation (``validate_data`` from 1.6, the estimator method before)."""
    try:
        from sklearn.utils.validation import validate_data
    except ImportError:  # scikit-learn < 1.6
        return estimator._validate_data(*args, **kwargs)
    return validate_data(estimator, *args, **kwargs)


def _target_type(owner: str, y) -> str:
    """``type_of_target(y)``; an error for a target scikit-learn cannot classify (as Keras)."""
    from sklearn.utils.multiclass import type_of_target
    kind = type_of_target(y)
    if kind == "unknown":
        raise ValueError(f"{owner}.fit: Unknown label type for y (dtype {getattr(y, 'dtype', type(y))}, "
                         f"shape {np.shape(y)}): {y!r}. Pass numbers, or labels of one type.")
    return kind


def _is_compiled(model) -> bool:
    compiled = getattr(model, "compiled", None)
    if compiled is None:
        compiled = getattr(model, "_is_compiled", False)
    return bool(compiled) and getattr(model, "loss", None) is not None \
        and getattr(model, "optimizer", None) is not None


def _clone_compiled(model):
    """``clone_model(model)`` (fresh weights), compiled as ``model`` is: Keras's clone_model does both."""
    clone = clone_model(model)
    if not getattr(model, "_is_compiled", False):
        return clone
    from .saving import keras_zip
    try:  # through the saved form: a new optimizer and new metric objects, nothing shared with `model`
        config = keras_zip.compile_config(model)
    except ValueError:  # a loss or metric that cannot be serialized: share those objects instead
        from . import optimizers
        raw = getattr(model, "_compile_config", {}) or {}
        opt = model.optimizer
        clone.compile(optimizer=optimizers.deserialize(optimizers.serialize(opt)) if opt is not None else "rmsprop",
                      loss=raw.get("loss", model.loss), loss_weights=raw.get("loss_weights"),
                      metrics=raw.get("metrics"), weighted_metrics=raw.get("weighted_metrics"))
        return clone
    keras_zip.compile_from_config(clone, config, path=f"<the model passed as `model` ({model.name})>")
    return clone


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """Makes a 1-D target one column (for the encoders and the model) and squeezes it back after."""

    def fit(self, y):
        self.ndim_ = np.ndim(y)
        return self

    def transform(self, y):
        y = np.asarray(y)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        y = np.asarray(y)
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 and y.shape[1] == 1 else y


class _ModelArchive:
    """A model in pickled form: the bytes of its ``.keras`` archive (JSON config + weights, no code)."""

    def __init__(self, model):
        from .saving import save_model
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            save_model(model, path)
            with open(path, "rb") as f:
                self.data = f.read()

    def load(self):
        from .saving import load_model
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as f:
                f.write(self.data)
            return load_model(path)


class SKLBase(BaseEstimator):
    """What the three wrappers share: parameters, model building, ``fit`` and ``predict``.

    Args:
        model: a compiled ``Model`` (cloned and compiled alike before each fit unless
            ``warm_start``), or a callable ``model(X=X, y=y, **model_kwargs)`` returning a compiled
            ``Model``; ``y`` reaches it encoded (one-hot for the classifier, a column otherwise).
        warm_start: if True, a second ``fit`` keeps training the fitted model (and a ``Model``
            given as ``model`` is trained in place rather than cloned).
        model_kwargs: keyword arguments for ``model`` when it is a callable.
        fit_kwargs: keyword arguments for ``model.fit`` (epochs, batch_size, verbose...); those passed
            to ``fit`` itself take precedence.

    Attributes (after ``fit``): ``model_`` (the fitted model), ``history_`` (the ``History`` that
    ``model.fit`` returned), ``n_features_in_``.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    # -- scikit-learn protocol ---------------------------------------------------------------
    def _more_tags(self):  # scikit-learn < 1.6
        return {"non_deterministic": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters (the same ``model`` object or callable)."""
        return type(self)(model=self.model, warm_start=self.warm_start,
                          model_kwargs=None if self.model_kwargs is None else dict(self.model_kwargs),
                          fit_kwargs=None if self.fit_kwargs is None else dict(self.fit_kwargs))

    def __getstate__(self):
        state = self.__dict__.copy()
        archives = {}
        for key in ("model", "model_"):
            if isinstance(state.get(key), Model):
                m = state[key]
                if id(m) not in archives:
                    archives[id(m)] = _ModelArchive(m)
                state[key] = archives[id(m)]
        history = state.get("history_")
        if getattr(history, "model", None) is not None:  # the History points at the model
            history = object.__new__(type(history))
            history.__dict__.update(state["history_"].__dict__, model=None)
            state["history_"] = history
        return state

    def __setstate__(self, state):
        loaded = {}
        for key in ("model", "model_"):
            if isinstance(state.get(key), _ModelArchive):
                archive = state[key]
                if id(archive) not in loaded:
                    loaded[id(archive)] = archive.load()
                state[key] = loaded[id(archive)]
        self.__dict__.update(state)

    @property
    def epoch_(self) -> int:
        """The number of epochs the last ``fit`` reached (0 before any fit)."""
        epochs = getattr(getattr(self, "history_", None), "epoch", None)
        return int(epochs[-1]) + 1 if epochs else 0

    def set_fit_request(self, **kwargs):
        """Ask for metadata (``sample_weight=True``...) routed to ``fit`` (and so to ``model.fit``).

        Needs ``sklearn.set_config(enable_metadata_routing=True)``; returns ``self``.
        """
        _require_sklearn(type(self).__name__)
        if not sklearn.get_config().get("enable_metadata_routing", False):
            raise RuntimeError(f"{type(self).__name__}.set_fit_request: metadata routing is off; enable it with "
                               "sklearn.set_config(enable_metadata_routing=True) first.")
        from sklearn.utils.metadata_routing import MetadataRequest
        self._metadata_request = MetadataRequest(owner=type(self).__name__)
        for param, alias in kwargs.items():
            self._metadata_request.fit.add_request(param=param, alias=alias)
        return self

    # -- building the model -------------------------------------------------------------------
    def _check_params(self):
        owner = type(self).__name__
        for name in ("model_kwargs", "fit_kwargs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{owner}: `{name}` must be a dict or None, got {type(value).__name__} "
                                f"({value!r}).")
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(f"{owner}: `warm_start` must be True or False, got {self.warm_start!r}.")
        if isinstance(self.model, Model):
            if self.model_kwargs:
                raise ValueError(f"{owner}: `model_kwargs` ({sorted(self.model_kwargs)}) only apply when `model` "
                                 "is a callable that builds the model; `model` is a Model instance. Drop "
                                 "`model_kwargs`, or pass a function that builds and compiles the model.")
        elif not callable(self.model):
            raise TypeError(f"{owner}: `model` must be a compiled keras Model or a callable "
                            f"model(X, y, **model_kwargs) that returns one, got {type(self.model).__name__} "
                            f"({self.model!r}).")
        clash = {"x", "y"} & set(self.fit_kwargs or {})
        if clash:
            raise ValueError(f"{owner}: `fit_kwargs` must not hold {sorted(clash)}: the data come from "
                             "fit(X, y).")

    def _get_model(self, X, y):
        owner = type(self).__name__
        if self.warm_start and getattr(self, "model_", None) is not None:
            return self.model_
        if isinstance(self.model, Model):
            model = self.model if self.warm_start else _clone_compiled(self.model)
        else:
            model = self.model(X=X, y=y, **(self.model_kwargs or {}))
            if not isinstance(model, Model):
                raise TypeError(f"{owner}: `model` must return a keras Model, but "
                                f"{getattr(self.model, '__name__', self.model)!r} returned "
                                f"{type(model).__name__}.")
        if not _is_compiled(model):
            raise RuntimeError(f"{owner}: the model must be compiled with a loss and an optimizer before fit: "
                               f"call model.compile(optimizer=..., loss=...) in (or on) `model`. Got model "
                               f"'{getattr(model, 'name', '?')}' with compiled={getattr(model, '_is_compiled', False)}"
                               f", loss={getattr(model, 'loss', None)!r}.")
        return model

    # -- fit / predict ------------------------------------------------------------------------
    def fit(self, X, y, **kwargs):
        """Validate ``X`` and ``y``, build the model and train it with ``model.fit``; returns ``self``.

        ``kwargs`` go to ``model.fit`` and override ``fit_kwargs``.
        """
        self._check_params()
        X, y = _validate_data(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        fit_kwargs = {**(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def _model_output(self, X):
        from sklearn.utils.validation import check_is_fitted
        check_is_fitted(self, "model_")
        X = _validate_data(self, X, reset=False)
        return self.model_.predict(X, verbose=0)

    def predict(self, X):
        """The model's predictions for ``X``, decoded back to the target's form (labels, 1-D...)."""
        return self._reverse_process_target(self._model_output(X))

    def _process_target(self, y, reset=False):
        """The target as the model sees it: a column for a 1-D ``y``."""
        _target_type(type(self).__name__, y)
        if np.asarray(y).dtype.kind not in "biuf":
            raise ValueError(f"{type(self).__name__}.fit: y must be numeric, got dtype {np.asarray(y).dtype}; "
                             "use SKLearnClassifier for class labels.")
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y):
        return self._target_encoder.inverse_transform(y)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around a Keras model: labels are one-hot encoded for the model.

    ``model`` (a compiled ``Model`` or a callable ``model(X=X, y=y, **model_kwargs)``) sees ``y`` as
    a one-hot matrix of ``len(classes_)`` columns, so its output layer has that many units.
    ``predict`` returns the class of the largest output; ``decision_function`` the raw outputs;
    ``score`` is the accuracy. See ``SKLBase`` for the arguments.

    >>> import numpy as np, tapeflow as tf
    >>> from tapeflow.keras.wrappers import SKLearnClassifier
    >>> def make_model(X, y, units=4):
    ...     model = tf.keras.Sequential([tf.keras.Input((X.shape[1],)), tf.keras.layers.Dense(units, "relu"),
    ...                                  tf.keras.layers.Dense(y.shape[1], activation="softmax")])
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> clf = SKLearnClassifier(make_model, model_kwargs={"units": 3}, fit_kwargs={"verbose": 0})
    >>> clf.fit(X, [2, 0, 1, 2, 0, 1]).classes_
    array([0, 1, 2])
    >>> clf.decision_function(X).shape
    (6, 3)
    """

    def decision_function(self, X):
        """The model's raw outputs for ``X``: one column per class in ``classes_``."""
        return self._model_output(X)

    def _process_target(self, y, reset=False):
        """``y`` one-hot encoded (``classes_`` and the encoder are set when ``reset``)."""
        owner = type(self).__name__
        kind = _target_type(owner, y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"{owner}.fit: only binary and multiclass targets are supported, got a {kind!r} "
                             "target y. Use SKLearnRegressor for continuous targets.")
        if reset:
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import OneHotEncoder
            classes = np.unique(y)
            if len(classes) == 1:
                raise ValueError(f"{owner}.fit: y holds one class only ({classes[0]!r}); a classifier "
                                 "needs at least two.")
            self._target_encoder = make_pipeline(_TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = classes
        return self._target_encoder.transform(y)

    def _more_tags(self):  # scikit-learn < 1.6
        return {"poor_score": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a Keras model (``score`` is R²).

    ``y`` is 1-D (a one-column ``y`` is flattened, with scikit-learn's warning); the model sees and
    returns one column, and ``predict`` returns a 1-D array. See ``SKLBase`` for the arguments.

    >>> import numpy as np, tapeflow as tf
    >>> from tapeflow.keras.wrappers import SKLearnRegressor
    >>> def make_model(X, y):
    ...     model = tf.keras.Sequential([tf.keras.Input((X.shape[1],)), tf.keras.layers.Dense(1)])
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> X = np.linspace(0, 1, 8).reshape(4, 2)
    >>> reg = SKLearnRegressor(make_model, fit_kwargs={"epochs": 3, "verbose": 0}).fit(X, X.sum(axis=1))
    >>> reg.predict(X).shape
    (4,)
    """

    def _more_tags(self):  # scikit-learn < 1.6
        return {"poor_score": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer around a Keras model: ``transform(X)`` is the model's output.

    ``fit(X, y)`` trains the model on ``y`` (as a column when 1-D), so an embedding or a
    supervised feature extractor can be a ``Pipeline`` step. See ``SKLBase`` for the arguments.

    >>> import numpy as np, tapeflow as tf
    >>> from tapeflow.keras.wrappers import SKLearnTransformer
    >>> def make_model(X, y):
    ...     model = tf.keras.Sequential([tf.keras.Input((X.shape[1],)), tf.keras.layers.Dense(1)])
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> X = np.linspace(0, 1, 8).reshape(4, 2)
    >>> trs = SKLearnTransformer(make_model, fit_kwargs={"verbose": 0}).fit(X, X[:, 0])
    >>> trs.transform(X).shape
    (4, 1)
    """

    def transform(self, X):
        """The fitted model's output for ``X`` (float32, one row per sample)."""
        return self._model_output(X)

    def _more_tags(self):  # scikit-learn < 1.6
        return {"preserves_dtype": []}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
