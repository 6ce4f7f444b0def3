"""Shared helpers for the engine suite.

``require_torch()`` (defined in ``_oracle.py`` so test modules can import it by a name that no
other conftest shadows) returns the torch module, skipping when PyTorch is missing unless
``TAPEFLOW_REQUIRE_ORACLE=1``, in which case it fails.
"""
import os

# pytest -n 2 runs two workers on two cores: one BLAS thread each, or the workers' OpenBLAS
# threads fight over the cores (measured: the 3-epoch Fashion-MNIST test went from ~10 s to
# ~2 min beside the CNN test). Set before NumPy or torch is imported by any test module.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

from _oracle import require_torch  # noqa: F401 - re-exported helper


@pytest.fixture
def torch_oracle():
    """Fixture form of ``require_torch()``."""
    return require_torch()
