"""The one registry mechanism: names, conflicts, import paths, options."""

from __future__ import annotations

import pytest

from thomson.registry import Registry, name_key


def make() -> Registry[object]:
    registry: Registry[object] = Registry("shape")

    @registry.register("Square-Box")
    def square(side: float = 1.0) -> float:
        return side * side

    registry.add("circle", lambda radius=1.0: 3.0 * radius * radius)
    return registry


def test_names_ignore_case_dashes_and_underscores() -> None:
    registry = make()
    assert name_key("R-MHP") == "rmhp" and registry.names() == ["Square-Box", "circle"]
    assert "square_box" in registry and "SQUAREBOX" in registry and "triangle" not in registry
    assert registry.create("square-box", side=3.0) == 9.0 and list(registry) == registry.names() and len(registry) == 2


def test_unknown_names_and_bad_options_list_what_is_available() -> None:
    registry = make()
    with pytest.raises(ValueError, match=r"unknown shape 'triangle'; available: Square-Box, circle"):
        registry.get("triangle")
    with pytest.raises(ValueError, match=r"unknown figure 'triangle'"):
        registry.get("triangle", kind="figure")
    with pytest.raises(ValueError, match=r"bad option for shape 'square-box'.*'side'"):
        registry.create("square-box", width=2.0)


def test_a_taken_name_is_an_error_unless_the_same_definition_comes_again() -> None:
    registry = make()
    with pytest.raises(ValueError, match="taken"):
        registry.add("circle", len)

    def square(side: float = 1.0) -> float:  # the same qualified name as the registered one? no: a local function
        return side

    with pytest.raises(ValueError, match="taken"):
        registry.add("square_box", square)
    entry = registry.get("circle")
    registry.add("circle", entry)  # the same object: accepted
    registry.remove("circle")
    assert "circle" not in registry


def test_import_paths_and_checks() -> None:
    def only_callables(entry: object) -> None:
        if not callable(entry):
            raise TypeError(f"not callable: {entry!r}")

    registry: Registry[object] = Registry("function", check=only_callables)
    assert registry.get("math:sqrt")(9.0) == 3.0
    with pytest.raises(ValueError, match="cannot import 'no_such_module'"):
        registry.get("no_such_module:f")
    with pytest.raises(ValueError, match="has no attribute 'nope'"):
        registry.get("math:nope")
    with pytest.raises(TypeError, match="not callable"):
        registry.get("math:pi")
    with pytest.raises(ValueError, match="letters or digits"):
        registry.add("--", print)
