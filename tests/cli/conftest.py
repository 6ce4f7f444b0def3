import os

import pytest


def _require(what: str, available: bool, how: str):
    if available:
        return
    if os.environ.get("TAPEFLOW_REQUIRE_ORACLE") == "1":
        pytest.fail(f"{what} is required (TAPEFLOW_REQUIRE_ORACLE=1) but missing: {how}")
    pytest.skip(f"{what} not available: {how}")


@pytest.fixture(scope="session")
def require_dataset():
    """Skip (or fail under TAPEFLOW_REQUIRE_ORACLE=1) when Fashion-MNIST is not installed."""
    from tapeflow.keras.datasets import fashion_mnist
    try:
        fashion_mnist.load_data()
        ok = True
    except (FileNotFoundError, ValueError):
        ok = False
    _require("Fashion-MNIST", ok, "apt-get install dataset-fashion-mnist")


@pytest.fixture(scope="session")
def has_plots():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False
