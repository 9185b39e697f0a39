"""One mechanism for everything thomson builds by name: objectives, models, data sets, solver problems, CLI commands.

A :class:`Registry` maps names to entries (classes or builder functions). Names are case-insensitive and ignore
``-`` and ``_`` (``"R-MHP"`` is ``rmhp``). Besides its registered names, :meth:`Registry.get` accepts an import
path ``"package.module:Name"``, so user code is reachable from the command line and config files without being
registered first.

>>> animals = Registry("animal")
>>> @animals.register("cat")
... def cat(lives: int = 9) -> str:
...     return f"cat with {lives} lives"
>>> animals.create("CAT", lives=7), animals.names()
('cat with 7 lives', ['cat'])
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
E = TypeVar("E")


def name_key(name: str) -> str:
    """The form names are compared in: lower case, letters and digits only (``"R-MHP"`` → ``"rmhp"``)."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


class Registry(Generic[T]):
    """Entries of one kind by name, in registration order.

    Args:
        kind: what the entries are, for messages (``"objective"``, ``"model"``, ...).
        check: called on every entry before it is registered or loaded by path; raises TypeError if the entry
            is not of the right kind. Default: accept anything.
    """

    def __init__(self, kind: str, *, check: Callable[[object], None] | None = None) -> None:
        self.kind = kind
        self._check = check
        self._entries: dict[str, tuple[str, T]] = {}  # key → (name as registered, entry)

    def register(self, name: str) -> Callable[[E], E]:
        """A decorator that registers the decorated class or function under ``name`` and returns it unchanged."""

        def decorate(entry: E) -> E:
            self.add(name, entry)  # type: ignore[arg-type]  # E is the entry's own, narrower type
            return entry

        return decorate

    def add(self, name: str, entry: T) -> None:
        """Register ``entry`` under ``name``.

        A name already taken by another entry is an error, except that an entry with the same qualified name
        (the same class or function defined again, e.g. a re-run notebook cell or a reloaded module) replaces it.
        """
        key = name_key(name)
        if not key:
            raise ValueError(f"a {self.kind} name needs letters or digits, got {name!r}")
        if self._check is not None:
            self._check(entry)
        taken = self._entries.get(key)
        if taken is not None and _qualified(taken[1]) != _qualified(entry):
            raise ValueError(
                f"{self.kind} name {name!r} is taken by {_qualified(taken[1])}; register {_qualified(entry)} "
                "under another name"
            )
        self._entries[key] = (name, entry)

    def remove(self, name: str) -> None:
        """Unregister ``name`` (an error if it is not registered)."""
        self.get(name)
        del self._entries[name_key(name)]

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return [name for name, _ in self._entries.values()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name_key(name) in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str, *, kind: str | None = None) -> T:
        """The entry ``name``, or the object at the import path ``"module:Name"``.

        Raises ValueError naming the available entries when ``name`` is neither (``kind`` replaces the registry's
        own word in the message).
        """
        if ":" in name:
            return self._load(name, kind or self.kind)
        found = self._entries.get(name_key(name))
        if found is None:
            raise ValueError(f"unknown {kind or self.kind} {name!r}; available: {', '.join(self.names())}")
        return found[1]

    def create(self, name: str, /, *args: Any, kind: str | None = None, **options: Any) -> Any:
        """Call the entry ``name`` (a class or a builder) with ``args`` and ``options``.

        Options the entry does not take are a ValueError that lists the ones it does; errors raised while the
        entry runs pass through unchanged.
        """
        entry = self.get(name, kind=kind)
        if not callable(entry):
            raise TypeError(f"{kind or self.kind} {name!r} is {entry!r}, which cannot be called")
        try:
            parameters = inspect.signature(entry).parameters
        except (TypeError, ValueError):  # no signature to check against (some builtins)
            return entry(*args, **options)
        try:
            inspect.signature(entry).bind(*args, **options)
        except TypeError as error:
            accepted = [p for p in parameters if parameters[p].kind not in (inspect.Parameter.VAR_KEYWORD,)]
            raise ValueError(f"bad option for {kind or self.kind} {name!r}: {error}; it takes {accepted}") from error
        return entry(*args, **options)

    def _load(self, path: str, kind: str) -> T:
        module_name, _, attribute = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"{kind} {path!r}: cannot import {module_name!r} ({error})") from error
        entry = getattr(module, attribute, None)
        if entry is None:
            raise ValueError(f"{kind} {path!r}: module {module_name!r} has no attribute {attribute!r}")
        if self._check is not None:
            self._check(entry)
        loaded: T = entry
        return loaded

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, names={self.names()})"


def _qualified(entry: object) -> str:
    module = getattr(entry, "__module__", None)
    qualname = getattr(entry, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else repr(entry)


__all__ = ["Registry", "name_key"]
