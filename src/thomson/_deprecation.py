"""Names and arguments kept for one release after they moved or went, with a ``DeprecationWarning``.

Every alias names its replacement, and ``docs/architecture.md`` lists them all; they go in the next release.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def warn(message: str, *, stacklevel: int = 3) -> None:
    """Emit a ``DeprecationWarning`` pointing at the caller's caller (the user's line)."""
    warnings.warn(f"{message} (deprecated: removed in the next release)", DeprecationWarning, stacklevel=stacklevel)


def moved(module: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that serves the old ``names`` of ``module`` from their new homes.

    ``names`` maps an old attribute to ``"new.module:attribute"``; reading the old one warns and returns the new.

    Example:
        >>> __getattr__ = moved("mymodule", {"old_name": "math:pi"})
        >>> import warnings
        >>> with warnings.catch_warnings(record=True):
        ...     warnings.simplefilter("always")
        ...     round(__getattr__("old_name"), 2)
        3.14
    """

    def __getattr__(name: str) -> Any:
        target = names.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new_module, _, attribute = target.partition(":")
        warn(f"{module}.{name} is now {new_module}.{attribute}")
        return getattr(importlib.import_module(new_module), attribute)

    return __getattr__


__all__ = ["moved", "warn"]
