"""Import Optuna on first use, with an error that says how to install it."""
from __future__ import annotations

INSTALL_HINT = "pip install 'tapeflow[tune]' (or pip install optuna)"


def require_optuna(what: str = "tapeflow.tune"):
    """The ``optuna`` module; raises ImportError naming ``what`` and the install command when missing."""
    try:
        import optuna
    except ImportError as e:
        raise ImportError(f"{what} needs Optuna, which is not installed: {INSTALL_HINT}") from e
    return optuna
