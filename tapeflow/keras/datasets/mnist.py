"""MNIST handwritten digits (IDX files; same lookup order as Fashion-MNIST)."""
from __future__ import annotations

from ._loader import load_idx_set

MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"
SYSTEM_DIRS = ("/usr/share/datasets/mnist",)
FILES = {
    "x_train": ("train-images-idx3-ubyte.gz", None, 3),
    "y_train": ("train-labels-idx1-ubyte.gz", None, 1),
    "x_test": ("t10k-images-idx3-ubyte.gz", None, 3),
    "y_test": ("t10k-labels-idx1-ubyte.gz", None, 1),
}


def load_data(path: str | None = None):
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays.

    Files are looked up in ``path``, ``$TAPEFLOW_DATA_DIR``, ``~/.tapeflow/datasets/mnist``,
    then downloaded. Their headers and sizes are checked.
    """
    d = load_idx_set("mnist", FILES, path, SYSTEM_DIRS, MIRROR)
    return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])
