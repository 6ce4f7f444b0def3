"""Fashion-MNIST: 60k/10k 28x28 grayscale images of 10 clothing classes."""
from __future__ import annotations

from ._loader import load_idx_set

MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)
FILES = {
    "x_train": ("train-images-idx3-ubyte.gz", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 3),
    "y_train": ("train-labels-idx1-ubyte.gz", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 1),
    "x_test": ("t10k-images-idx3-ubyte.gz", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 3),
    "y_test": ("t10k-labels-idx1-ubyte.gz", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 1),
}
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


def load_data(path: str | None = None):
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, as Keras returns them.

    Looks in ``path``, ``$TAPEFLOW_DATA_DIR``, ``~/.tapeflow/datasets/fashion-mnist``, Debian's
    ``/usr/share/datasets/fashion-mnist``, then downloads (checksummed, written atomically).
    """
    d = load_idx_set("fashion-mnist", FILES, path, SYSTEM_DIRS, MIRROR)
    return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])
