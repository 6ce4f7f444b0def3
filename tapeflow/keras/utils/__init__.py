"""``tf.keras.utils``: data helpers (to_categorical, normalize, pad_sequences, PyDataset/Sequence),
seeding, Progbar, image helpers (Pillow) and plot_model (pydot + Graphviz).

>>> from tapeflow import keras
>>> keras.utils.to_categorical([1, 0], 2).tolist(), keras.utils.pad_sequences([[5]], maxlen=2).tolist()
([[0.0, 1.0], [1.0, 0.0]], [[0, 5]])
"""
from ...backend.rng import set_seed as _set_seed
from .audio_dataset_utils import audio_dataset_from_directory  # noqa: F401
from .data_utils import normalize, pack_x_y_sample_weight, to_categorical, unpack_x_y_sample_weight  # noqa: F401
from .dataset_utils import (get_file, image_dataset_from_directory, split_dataset,  # noqa: F401
                            text_dataset_from_directory, timeseries_dataset_from_array)
from .image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: F401
from .model_visualization import model_to_dot, plot_model  # noqa: F401
from .py_dataset import PyDataset, Sequence  # noqa: F401
from .sequence_utils import pad_sequences  # noqa: F401


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and tapeflow's RNG in one call."""
    import random

    import numpy as np
    random.seed(seed)
    np.random.seed(seed)
    _set_seed(seed)


def get_source_inputs(tensor) -> list:
    """The ``keras.Input`` tensors that ``tensor`` is computed from (Keras's ``get_source_inputs``).

    >>> from tapeflow import keras
    >>> x = keras.Input((3,))
    >>> keras.utils.get_source_inputs(keras.layers.Dense(2)(x))[0] is x
    True
    """
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return tensor if not hasattr(tensor, "_keras_history") else [tensor]
    node = history.operation._inbound_nodes[history.node_index]
    if node.is_input:
        return list(node.output_tensors)
    out = []
    for t in node.input_tensors:
        for x in get_source_inputs(t):
            if all(x is not y for y in out):
                out.append(x)
    return out


def __getattr__(name):
    if name == "Progbar":
        from ..callbacks.progbar import Progbar
        return Progbar
    if name in ("get_custom_objects", "register_keras_serializable", "serialize_keras_object",
                "deserialize_keras_object"):
        from .. import saving
        if hasattr(saving, name):
            return getattr(saving, name)
    if name in ("custom_object_scope", "CustomObjectScope", "get_registered_name", "get_registered_object"):
        from .. import _serialization
        return getattr(_serialization, name)
    if name in ("Config", "enable_interactive_logging", "disable_interactive_logging",
                "is_interactive_logging_enabled"):
        from . import config_utils
        return getattr(config_utils, name)
    if name == "FeatureSpace":
        from .feature_space import FeatureSpace
        return FeatureSpace
    if name in ("is_keras_tensor", "standardize_dtype", "clear_session"):
        from .. import backend
        return getattr(backend, name)
    raise AttributeError(f"module 'tapeflow.keras.utils' has no attribute {name!r}")
