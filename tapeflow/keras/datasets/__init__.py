"""``tf.keras.datasets``: mnist, fashion_mnist, cifar10, cifar100, imdb, reuters, boston_housing,
california_housing."""
from . import (boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,  # noqa: F401
               reuters)
