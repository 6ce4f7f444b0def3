"""Boston housing prices (StatLib, 1970s): 506 districts, 13 features, target the median value in k$.

Keras warns that this dataset has an ethical problem (the "B" feature); prefer ``california_housing``.
Reads Keras's ``boston_housing.npz`` (numeric ``x``, ``y``; no pickle), looked up by name in
``$TAPEFLOW_DATA_DIR``, ``~/.tapeflow/datasets/boston-housing``, Keras's cache ``~/.keras/datasets`` and
``/usr/share/datasets/boston-housing`` (``path`` may also be a full path), then downloaded.
"""
from __future__ import annotations

from ._files import KERAS_ORIGIN, find_file
from ._tabular import check_test_split, load_xy, shuffle_split

URL = KERAS_ORIGIN + "boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113):
    """``(x_train, y_train), (x_test, y_test)``: x ``(n, 13)``, y ``(n,)``, as Keras returns them.

    The samples are shuffled with ``np.random.RandomState(seed)`` and the first ``int(n * (1 - test_split))``
    go to training (404 of 506 by default); ``test_split`` must be in [0, 1).

    >>> import os, tempfile
    >>> import numpy as np
    >>> tmp = tempfile.TemporaryDirectory()
    >>> f = os.path.join(tmp.name, "boston_housing.npz")
    >>> np.savez(f, x=np.arange(130.0).reshape(10, 13), y=np.arange(10.0))
    >>> (x, y), (xt, yt) = load_data(f)
    >>> x.shape, y.shape, xt.shape, x.dtype
    ((8, 13), (8,), (2, 13), dtype('float64'))
    >>> tmp.cleanup()
    """
    check_test_split(test_split)
    x, y = load_xy(find_file("boston-housing", path, URL, SHA256), features=13)
    return shuffle_split(x, y, test_split, seed)
