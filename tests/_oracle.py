"""Oracles and datasets the tests depend on (importable by name from any test or conftest).

Each helper skips the calling test when its dependency is missing -- unless
``TAPEFLOW_REQUIRE_ORACLE=1`` (set by CI), where a missing oracle or dataset is a failure, so
that no test can silently vanish from CI.
"""
import importlib
import os

import pytest


def require(what: str, available: bool, how: str) -> None:
    """Skip (fail under TAPEFLOW_REQUIRE_ORACLE=1) unless ``available``; ``how`` says how to get it."""
    if available:
        return
    if os.environ.get("TAPEFLOW_REQUIRE_ORACLE") == "1":
        pytest.fail(f"{what} is required (TAPEFLOW_REQUIRE_ORACLE=1) but missing: {how}", pytrace=False)
    pytest.skip(f"{what} not available: {how}", allow_module_level=True)


def require_module(name: str, how: str | None = None):
    """The module ``name``, or skip/fail as ``require`` does."""
    try:
        return importlib.import_module(name)
    except ImportError:
        require(name, False, how or f"pip install -e '.[test]' (provides {name})")


def require_torch():
    """The ``torch`` module (the gradient oracle)."""
    return require_module("torch", "pip install torch==2.13.0")


def fashion_mnist_available() -> bool:
    from tapeflow.keras.datasets import fashion_mnist
    try:
        fashion_mnist.load_data()
        return True
    except (FileNotFoundError, ValueError):
        return False


def require_fashion_mnist() -> None:
    require("Fashion-MNIST", fashion_mnist_available(), "apt-get install dataset-fashion-mnist")
