"""Objectives by name: the registry behind ``thomson.create_objective``, ``Regularizer``'s names, ``thomson train
--reg`` and TOML configs.

Register an objective with the decorator and it is available everywhere a name is accepted, and the contract
tests (``tests/objectives/test_contract.py``) check it:

>>> import torch, thomson
>>> @thomson.register_objective("row-norm-spread")
... class RowNormSpread(thomson.Objective):
...     '''Variance of the neurons' lengths (a toy objective).'''
...     def forward(self, weight, *, layer="", classifier=False):
...         return weight.flatten(1).norm(dim=1).var()
>>> objective = thomson.create_objective("row_norm_spread")
>>> "row-norm-spread" in thomson.list_objectives()
True
>>> OBJECTIVES.remove("row-norm-spread")  # (tidy up after the example)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from thomson.objectives.base import Objective
from thomson.registry import Registry

ObjectiveClass = TypeVar("ObjectiveClass", bound=type[Objective])


def _check(entry: object) -> None:
    if not (isinstance(entry, type) and issubclass(entry, Objective)):
        raise TypeError(f"an objective must be a subclass of thomson.Objective, got {entry!r}")


OBJECTIVES: Registry[type[Objective]] = Registry("objective", check=_check)
"""Every objective by name: the library's (``mhe``, ``comhe``, ...) and those registered by the user."""


def register_objective(name: str) -> Callable[[ObjectiveClass], ObjectiveClass]:
    """A class decorator that makes an :class:`~thomson.Objective` subclass available by ``name`` (to
    :func:`create_objective`, ``thomson train --reg NAME`` and the ``reg`` of a TOML config).

    Names are case-insensitive and ignore ``-`` and ``_``.
    """
    return OBJECTIVES.register(name)


def list_objectives() -> list[str]:
    """The names of the registered objectives, sorted.

    Example:
        >>> [name for name in list_objectives() if name.startswith("mh")]
        ['mhc', 'mhe', 'mhp', 'mhs']
    """
    return sorted(OBJECTIVES.names())


def create_objective(name: str, /, **options: Any) -> Objective:
    """The objective ``name`` built with ``options`` as keyword arguments.

    ``name`` is a registered name (see :func:`list_objectives`; case-insensitive, ``-`` and ``_`` ignored) or an
    import path ``"package.module:ClassName"`` of an :class:`~thomson.Objective` subclass. An unknown name or an
    option the class does not take is a ValueError that lists what is available.

    Example:
        >>> create_objective("MHE", s=0, half_space=True)
        MHE(s=0, metric='euclidean', half_space=True, reference=False)
    """
    objective: Objective = OBJECTIVES.create(name, **options)
    return objective


__all__ = ["OBJECTIVES", "create_objective", "list_objectives", "register_objective"]
