"""``tf.keras.utils``: data helpers (to_categorical, normalize, pad_sequences, PyDataset/Sequence),
seeding, Progbar, image helpers (Pillow) and plot_model (pydot + Graphviz).

>>> from tapeflow import keras
>>> keras.utils.to_categorical([1, 0], 2).tolist(), keras.utils.pad_sequences([[5]], maxlen=2).tolist()
([[0.0, 1.0], [1.0, 0.0]], [[0, 5]])
"""
from ...backend.rng import set_seed as _set_seed
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


def __getattr__(name):
    if name == "Progbar":
        from ..callbacks.progbar import Progbar
        return Progbar
    if name in ("get_custom_objects", "register_keras_serializable", "custom_object_scope",
                "serialize_keras_object", "deserialize_keras_object"):
        from .. import saving
        if hasattr(saving, name):
            return getattr(saving, name)
    raise AttributeError(f"module 'tapeflow.keras.utils' has no attribute {name!r}")
