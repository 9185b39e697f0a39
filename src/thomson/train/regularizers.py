"""Objectives by name: every ``Objective`` class that thomson exports, built from keyword options."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from thomson.objectives.base import Objective

NONE_NAMES = ("none",)
"""Names meaning "no regularizer" (the baseline)."""


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def available_objectives() -> dict[str, type[Objective]]:
    """Lower-case name → class, for every :class:`~thomson.Objective` subclass in ``thomson.__all__`` or
    ``thomson.objectives.__all__`` (so objectives added to the library are found without registering them).

    Example:
        >>> available_objectives()["mhe"].__name__
        'MHE'
    """
    import thomson
    import thomson.objectives

    found: dict[str, type[Objective]] = {}
    for module in (thomson, thomson.objectives):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if isinstance(obj, type) and issubclass(obj, Objective) and obj is not Objective:
                found.setdefault(_key(name), obj)
    return dict(sorted(found.items()))


def build_objective(
    name: str, options: dict[str, Any] | None = None, *, lr: Callable[[], float] | None = None
) -> Objective | None:
    """The objective ``name`` built with ``options`` as keyword arguments, or None for ``"none"``.

    Names are case-insensitive and ignore ``-`` and ``_`` (``"R-MHP"`` is ``rmhp``). Objectives that take an
    ``inner_lr`` (inner steps on projections or poles) follow the network's learning rate ``lr`` unless the
    options set it, as in the reference code.

    Args:
        name: ``"none"`` or the name of an objective class exported by thomson, e.g. ``"mhe"``.
        options: keyword arguments of the class, e.g. ``{"s": 2, "half_space": True, "reference": True}``.
        lr: the network's current learning rate, for ``inner_lr``. Default None.

    Example:
        >>> build_objective("MHE", {"s": 0, "half_space": True})
        MHE(s=0, metric='euclidean', half_space=True, reference=False)
        >>> build_objective("none") is None
        True
    """
    options = dict(options or {})
    if _key(name) in NONE_NAMES:
        if options:
            raise ValueError(f"regularizer 'none' takes no options, got {sorted(options)}")
        return None
    classes = available_objectives()
    cls = classes.get(_key(name))
    if cls is None:
        raise ValueError(f"unknown regularizer {name!r}; available: {', '.join(['none', *classes])}")
    parameters = inspect.signature(cls).parameters
    try:
        objective = cls(**options)
    except TypeError as error:
        raise ValueError(f"bad option for regularizer {name!r}: {error}; it takes {list(parameters)}") from error
    if lr is not None and hasattr(objective, "inner_lr") and "inner_lr" not in options:
        setattr(objective, "inner_lr", lr)  # noqa: B010 — inner steps (projections, poles) follow the network's learning rate
    return objective
