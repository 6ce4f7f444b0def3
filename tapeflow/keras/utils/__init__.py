"""``tf.keras.utils``."""
from ...backend.rng import set_seed as _set_seed
from .data_utils import normalize, pack_x_y_sample_weight, to_categorical, unpack_x_y_sample_weight  # noqa: F401


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and tapeflow's RNG in one call."""
    import random

    import numpy as np
    random.seed(seed)
    np.random.seed(seed)
    _set_seed(seed)
