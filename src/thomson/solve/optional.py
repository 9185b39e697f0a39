"""The solver's optional dependency: scipy, for the separation and covering polish (``pip install thomson[solve]``)."""

from __future__ import annotations

import importlib
from types import ModuleType


def require_scipy(module: str, purpose: str) -> ModuleType:
    """Import ``scipy.<module>``, or raise ImportError saying what needs it and how to install it.

    Example:
        >>> require_scipy("optimize", "the separation polish").__name__
        'scipy.optimize'
    """
    try:
        return importlib.import_module(f"scipy.{module}")
    except ImportError as err:
        raise ImportError(
            f"{purpose} needs scipy, which is not installed; install it with `pip install thomson[solve]` "
            "(or `pip install scipy`)"
        ) from err
