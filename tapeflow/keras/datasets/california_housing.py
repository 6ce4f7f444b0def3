"""California housing prices (StatLib, 1990 census): 20,640 block groups, 8 features, target in dollars.

Features: MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude. Reads Keras's
``california_housing.npz`` (numeric ``x``, ``y``; no pickle), looked up by name in ``$TAPEFLOW_DATA_DIR``,
``~/.tapeflow/datasets/california-housing``, Keras's cache ``~/.keras/datasets`` and
``/usr/share/datasets/california-housing`` (``path`` may also be a full path), then downloaded.
"""
from __future__ import annotations

from ._files import KERAS_ORIGIN, find_file
from ._tabular import check_test_split, load_xy, shuffle_split

URL = KERAS_ORIGIN + "california_housing.npz"
SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
SMALL = 600


def load_data(version: str = "large", path: str = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113):
    """``(x_train, y_train), (x_test, y_test)``: x ``(n, 8)``, y ``(n,)``, as Keras returns them.

    ``version="small"`` keeps the first 600 samples (a stand-in for boston_housing), ``"large"`` all 20,640.
    The samples are then shuffled with ``np.random.RandomState(seed)`` and the first
    ``int(n * (1 - test_split))`` go to training; ``test_split`` must be in [0, 1).

    >>> import os, tempfile
    >>> import numpy as np
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "california_housing.npz")
    >>> np.savez(f, x=np.zeros((700, 8), np.float32), y=np.zeros(700, np.float32))
    >>> (x, y), (xt, yt) = load_data("small", f)
    >>> x.shape, xt.shape, y.dtype
    ((480, 8), (120, 8), dtype('float32'))
    >>> tmp.cleanup()
    """
    check_test_split(test_split)
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    x, y = load_xy(find_file("california-housing", path, URL, SHA256), features=8)
    if version == "small":
        x, y = x[:SMALL], y[:SMALL]
    return shuffle_split(x, y, test_split, seed)
