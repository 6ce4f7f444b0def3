"""The PyTorch oracle for the engine tests (importable by name; ``conftest`` re-exports it).

``require_torch()`` returns the torch module, skipping the caller when PyTorch is not installed
-- unless ``TAPEFLOW_REQUIRE_ORACLE=1``, where a missing oracle is a failure, so that oracle
tests can never silently vanish from CI.
"""
import os

import pytest


def require_torch():
    """The ``torch`` module, or skip (fail under TAPEFLOW_REQUIRE_ORACLE=1) when it is missing."""
    try:
        import torch
    except ImportError:
        if os.environ.get("TAPEFLOW_REQUIRE_ORACLE") == "1":
            pytest.fail("PyTorch is required as the test oracle (TAPEFLOW_REQUIRE_ORACLE=1) but is not "
                        "installed: pip install torch==2.13.0", pytrace=False)
        pytest.skip("PyTorch not installed (pip install torch==2.13.0); oracle comparison skipped",
                    allow_module_level=True)
    return torch
