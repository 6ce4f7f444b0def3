import pytest

from _oracle import require_fashion_mnist, require_torch


@pytest.fixture
def require_dataset():
    require_fashion_mnist()


@pytest.fixture
def torch():
    return require_torch()
