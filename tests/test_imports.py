"""``import thomson`` loads the core only; the applications load on first use, and the CLI only the subcommand
that runs. Each check runs in a fresh interpreter, so that no other test's imports can hide a regression."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

from helpers import ROOT

CORE = ("thomson.engine", "thomson.functional", "thomson.kernels", "thomson.objectives", "thomson.regularizer")
APPLICATIONS = (
    "thomson.cli",
    "thomson.data",
    "thomson.embeddings",
    "thomson.inspection",
    "thomson.integrations",
    "thomson.models",
    "thomson.train",
)
OPTIONAL = (
    "matplotlib",
    "scipy",
    "sklearn",
    "safetensors",
    "tomli",
    "lightning",
    "transformers",
    "timm",
    "pytorch_metric_learning",
)


def loaded_after(code: str) -> list[str]:
    """The modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"},
        check=True,
    )
    modules: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return modules


def package_loaded(modules: list[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


def test_import_thomson_loads_only_the_core() -> None:
    modules = loaded_after("import thomson")
    for package in (*CORE, "thomson.solve"):
        assert package_loaded(modules, package), package
    for package in (*APPLICATIONS, *OPTIONAL):
        assert not package_loaded(modules, package), f"import thomson loaded {package}"


def test_applications_load_on_first_attribute_access() -> None:
    modules = loaded_after("import thomson\nassert thomson.models.CNN9 and 'models' in dir(thomson)")
    assert package_loaded(modules, "thomson.models")
    assert not package_loaded(modules, "thomson.train") and not package_loaded(modules, "thomson.data")


def test_the_cli_imports_only_the_subcommand_that_runs() -> None:
    modules = loaded_after("from thomson.cli import main\nmain(['solve', '--n', '4', '--restarts', '1'])")
    assert "thomson.cli.solve" in modules
    for package in ("thomson.cli.train", "thomson.cli.compare", "thomson.cli.inspect", "thomson.train"):
        assert not package_loaded(modules, package), package
    assert not package_loaded(modules, "matplotlib")


def test_version_comes_from_the_package_metadata() -> None:
    import thomson

    assert thomson.__version__ == metadata.version("thomson")


def test_thomson_solve_is_the_package_and_calls_its_function() -> None:
    import thomson
    import thomson.solve.lbfgs as lbfgs

    assert thomson.solve.SolveResult is thomson.SolveResult and lbfgs.minimize_on_spheres
    assert thomson.solve(4, 3, s=1, restarts=1).value == thomson.solve.solve(4, 3, s=1, restarts=1).value


def test_an_integration_without_its_package_names_the_extra() -> None:
    for module, package in (("lightning", "lightning"), ("hf", "transformers"), ("pml", "pytorch_metric_learning")):
        code = f"import sys\nsys.modules[{package!r}] = None\nimport thomson.integrations.{module}"
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"},
        )
        assert out.returncode == 1 and 'pip install "thomson[integrations]"' in out.stderr, out.stderr
