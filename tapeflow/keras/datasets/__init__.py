"""``tf.keras.datasets``: mnist, fashion_mnist, cifar10."""
from . import cifar10, fashion_mnist, mnist  # noqa: F401
