import pytest

from _oracle import require_fashion_mnist


@pytest.fixture(scope="session")
def require_dataset():
    """Skip (or fail under TAPEFLOW_REQUIRE_ORACLE=1) when Fashion-MNIST is not installed."""
    require_fashion_mnist()


@pytest.fixture(scope="session")
def has_plots():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False
