"""Shared helpers for the engine suite.

``require_torch()`` (defined in ``_oracle.py`` so test modules can import it by a name that no
other conftest shadows) returns the torch module, skipping when PyTorch is missing unless
``TAPEFLOW_REQUIRE_ORACLE=1``, in which case it fails.
"""
import pytest

from _oracle import require_torch  # noqa: F401 - re-exported helper


@pytest.fixture
def torch_oracle():
    """Fixture form of ``require_torch()``."""
    return require_torch()
