import os

import pytest

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def _require(what: str, available: bool, how: str):
    if available:
        return
    if os.environ.get("TAPEFLOW_REQUIRE_ORACLE") == "1":
        pytest.fail(f"{what} is required (TAPEFLOW_REQUIRE_ORACLE=1) but missing: {how}")
    pytest.skip(f"{what} not available: {how}")


@pytest.fixture
def require_dataset():
    from tapeflow.keras.datasets import fashion_mnist
    try:
        fashion_mnist.load_data()
        ok = True
    except (FileNotFoundError, ValueError):
        ok = False
    _require("Fashion-MNIST", ok, "apt-get install dataset-fashion-mnist")


@pytest.fixture
def torch():
    try:
        import torch as _torch
    except ImportError:
        _torch = None
    _require("PyTorch", _torch is not None, "pip install torch==2.13.0")
    return _torch
