"""Shared helpers of ``keras.applications``: ``preprocess_input`` modes, ``decode_predictions``, input-shape
checks and the ``weights=`` argument (pretrained ImageNet weights cannot be downloaded here)."""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

from .. import backend

CLASS_INDEX = None
CLASS_INDEX_FILE = "imagenet_class_index.json"
_CAFFE_MEAN = [103.939, 116.779, 123.68]
_TORCH_MEAN = [0.485, 0.456, 0.406]
_TORCH_STD = [0.229, 0.224, 0.225]


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a batch of images with values in [0, 255], as Keras's ``imagenet_utils.preprocess_input``.

    ``mode="caffe"``: RGB -> BGR, then subtract the ImageNet channel means (no scaling); ``"tf"``: scale to
    [-1, 1]; ``"torch"``: scale to [0, 1], then normalize each channel with the ImageNet mean and std. A float
    NumPy array is modified in place (as Keras does); other inputs get a new tensor.

    >>> import numpy as np
    >>> preprocess_input(np.array([[0.0, 127.5, 255.0]]), mode="tf")
    array([[-1.,  0.,  1.]])
    >>> preprocess_input(np.array([[10.0, 20.0, 30.0]]), mode="caffe").round(3)
    array([[ -73.939,  -96.779, -113.68 ]])
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = backend.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or `channels_last`. "
                         f"Received: data_format={data_format}")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy_input(x, data_format, mode)
    return _preprocess_tensor_input(x, data_format, mode)


def _preprocess_numpy_input(x, data_format, mode):
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(backend.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        if data_format == "channels_first":
            x = x[::-1, ...] if x.ndim == 3 else x[:, ::-1, ...]
        else:
            x = x[..., ::-1]
        mean, std = _CAFFE_MEAN, None
    for c in range(3):
        if data_format == "channels_first":
            idx = (c,) if x.ndim == 3 else (slice(None), c)
        else:
            idx = (Ellipsis, c)
        x[idx] -= mean[c]
        if std is not None:
            x[idx] /= std[c]
    return x


def _preprocess_tensor_input(x, data_format, mode):
    from .. import ops
    ndim = len(x.shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        if data_format == "channels_first":
            if ndim == 3:
                x = ops.stack([x[i, ...] for i in (2, 1, 0)], axis=0)
            else:
                x = ops.stack([x[:, i] for i in (2, 1, 0)], axis=1)
        else:
            x = ops.stack([x[..., i] for i in (2, 1, 0)], axis=-1)
        mean, std = _CAFFE_MEAN, None
    if data_format == "channels_first":
        shape = (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    else:
        shape = (1,) * (ndim - 1) + (3,)
    dtype = getattr(getattr(x, "dtype", None), "name", None) or backend.floatx()
    x = x - ops.convert_to_tensor(np.reshape(mean, shape).astype(dtype))
    if std is not None:
        x = x / ops.convert_to_tensor(np.reshape(std, shape).astype(dtype))
    return x


def _class_index_path() -> str:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models", CLASS_INDEX_FILE)


def decode_predictions(preds, top=5):
    """Decode a ``(samples, 1000)`` batch of ImageNet predictions into ``(class_name, description, score)``
    tuples, best first.

    The class index cannot be downloaded here: put Keras's ``imagenet_class_index.json`` at
    ``$KERAS_HOME/models/imagenet_class_index.json`` (``KERAS_HOME`` defaults to ``~/.keras``), where Keras's
    own ``get_file`` caches it.

    >>> import numpy as np
    >>> decode_predictions(np.zeros((1, 10)))
    Traceback (most recent call last):
    ...
    ValueError: `decode_predictions` expects a batch of predictions (i.e. a 2D array of shape (samples, 1000)). \
Received array with shape: (1, 10)
    """
    global CLASS_INDEX
    preds = np.asarray(getattr(preds, "numpy", lambda: preds)())
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
                         f"(samples, 1000)). Received array with shape: {preds.shape}")
    if CLASS_INDEX is None:
        path = _class_index_path()
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"decode_predictions: the ImageNet class index {CLASS_INDEX_FILE!r} cannot be downloaded here and "
                f"was not found at {path!r}. Copy Keras's {CLASS_INDEX_FILE} there (or set KERAS_HOME to a folder "
                "whose models/ subfolder holds it).")
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
        if not isinstance(index, dict) or any(str(i) not in index for i in range(1000)):
            raise ValueError(f"decode_predictions: {path!r} is not an ImageNet class index (expected a JSON object "
                             "with keys '0'..'999' mapping to [class_name, description])")
        CLASS_INDEX = index
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(CLASS_INDEX[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


def check_weights(weights, include_top, classes, model_name):
    """Validate the ``weights=`` argument: ``None`` or an existing local file; ``"imagenet"`` is refused
    with an explanation, since pretrained weights cannot be downloaded here.

    >>> check_weights(None, True, 1000, "VGG16")
    >>> check_weights("imagenet", True, 1000, "VGG16")
    Traceback (most recent call last):
    ...
    ValueError: VGG16: pretrained ImageNet weights (weights='imagenet') cannot be downloaded here. ...
    """
    if weights is None:
        return
    if isinstance(weights, str) and weights == "imagenet":
        raise ValueError(
            f"{model_name}: pretrained ImageNet weights (weights='imagenet') cannot be downloaded here. Pass "
            "weights=None for random initialization, or weights='/path/to/file.weights.h5' (a Keras .weights.h5 "
            "or legacy .h5 file with this architecture's weights, e.g. one Keras itself downloaded to "
            "~/.keras/models/).")
    if not (isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)):
        raise ValueError(
            f"{model_name}: the `weights` argument should be either `None` (random initialization), 'imagenet' "
            f"(pre-training on ImageNet), or the path to the weights file to be loaded. Received: weights={weights!r}"
            " (no such file)")
    del include_top, classes


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """Compute and validate a model's input shape, as Keras's ``imagenet_utils.obtain_input_shape``.

    >>> obtain_input_shape(None, 224, 32, "channels_last", require_flatten=True)
    (224, 224, 3)
    >>> obtain_input_shape(None, 224, 32, "channels_last", require_flatten=False)
    (None, None, 3)
    """
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if data_format == "channels_first":
            if input_shape[0] not in {1, 3}:
                warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an "
                              f"input_shape with {input_shape[0]} input channels.", stacklevel=2)
            default_shape = (input_shape[0], default_size, default_size)
        else:
            if input_shape[-1] not in {1, 3}:
                warnings.warn("This model usually expects 1 or 3 input channels. However, it was passed an "
                              f"input_shape with {input_shape[-1]} input channels.", stacklevel=2)
            default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (3, default_size, default_size) if data_format == "channels_first" \
            else (default_size, default_size, 3)
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"`input_shape` must be a tuple of three integers. Received: input_shape={input_shape}")
        spatial = input_shape[1:] if data_format == "channels_first" else input_shape[:2]
        if any(s is not None and s < min_size for s in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    else:
        if require_flatten:
            input_shape = default_shape
        else:
            input_shape = (3, None, None) if data_format == "channels_first" else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size):
    """Zero padding ``((top, bottom), (left, right))`` for a stride-2 "valid" convolution, as Keras's.

    >>> import tapeflow as tf
    >>> correct_pad(tf.keras.Input((32, 32, 3)), 3)
    ((0, 1), (0, 1))
    """
    img_dim = 2 if backend.image_data_format() == "channels_first" else 1
    input_size = tuple(inputs.shape)[img_dim:img_dim + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if input_size[0] is None else (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def model_input(input_tensor, input_shape):
    """The model's image input: a new ``Input(shape=input_shape)``, or ``input_tensor`` (wrapped in an
    ``Input`` when it is not a symbolic tensor). Returns ``(img_input, model_inputs)``."""
    from ..layers import Input
    from ..models.keras_tensor import is_keras_tensor
    if input_tensor is None:
        img_input = Input(shape=input_shape)
        return img_input, img_input
    if not is_keras_tensor(input_tensor):
        img_input = Input(tensor=input_tensor, shape=input_shape)
        return img_input, img_input
    return input_tensor, _source_inputs(input_tensor)


def _source_inputs(tensor):
    history = getattr(tensor, "_keras_history", None)
    layer = getattr(history, "operation", None)
    if layer is None or type(layer).__name__ == "InputLayer":
        return tensor
    node = layer._inbound_nodes[history.node_index] if hasattr(layer, "_inbound_nodes") else None
    parents = getattr(node, "input_tensors", None) if node is not None else None
    if not parents:
        return tensor
    found = []
    for p in parents:
        src = _source_inputs(p)
        for s in (src if isinstance(src, list) else [src]):
            if all(s is not f for f in found):
                found.append(s)
    return found[0] if len(found) == 1 else found


def require_channels_last(model_name):
    """tapeflow's applications build channels-last models only; say so for ``channels_first``."""
    if backend.image_data_format() != "channels_last":
        raise ValueError(f"{model_name}: only the `channels_last` image data format is supported by tapeflow's "
                         "keras.applications; call keras.config.set_image_data_format('channels_last').")


def validate_activation(classifier_activation, weights):
    """With pretrained weights only ``None`` or ``"softmax"`` may top the classifier (as Keras checks)."""
    if weights is None:
        return
    if classifier_activation not in (None, "softmax"):
        raise ValueError("Only `None` and `softmax` activations are allowed for the `classifier_activation` "
                         "argument when using pretrained weights, with `include_top=True`; Received: "
                         f"classifier_activation={classifier_activation}")


def load_weights(model, weights):
    """Load a local weights file (already checked by ``check_weights``) into ``model``."""
    if weights is not None:
        model.load_weights(os.fspath(weights))
    return model
