"""The layering of docs/architecture.md: a module imports only from its own layer and the layers below it."""

from __future__ import annotations

import ast

from helpers import ROOT

LAYERS = {
    "_validate": 0,
    "_optional": 0,
    "_deprecation": 0,
    "_table": 0,
    "registry": 0,
    "kernels": 1,
    "engine": 2,
    "functional": 3,
    "objectives": 4,
    "layers": 5,
    "distributed": 5,
    "regularizer": 5,
    "solve": 6,
    "models": 7,
    "data": 7,
    "inspection": 8,
    "embeddings": 8,
    "train": 8,
    "integrations": 8,
    "cli": 9,
}
PACKAGE = ROOT / "src" / "thomson"


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if parts[0] == "thomson" and len(parts) > 1 else None


def imports(tree: ast.Module) -> list[str]:
    """The thomson modules a file imports at run time (``if TYPE_CHECKING:`` blocks left out)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            if node.module == "thomson":
                found += [f"thomson.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name.startswith("thomson.")]


def test_every_module_has_a_layer_and_imports_only_downwards() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(("thomson", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        if module in ("thomson", "thomson.__main__"):
            continue
        own = layer(module)
        assert own is not None, f"{module} is in no layer of docs/architecture.md"
        for name in imports(ast.parse(path.read_text())):
            other = layer(name)
            if other is not None and other > own:
                upward.append(f"{module} (layer {own}) imports {name} (layer {other})")
    assert not upward, upward
