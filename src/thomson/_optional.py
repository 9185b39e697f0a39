"""Optional dependencies, imported one way: :func:`require` names the extra that installs a missing package.

The runtime needs only torch and numpy. Everything else is imported where it is used, through this module:

=============  ===================  =============================================
package        extra                used by
=============  ===================  =============================================
scipy          ``solve``            the solver's separation and covering polish
scipy          ``train``            t-intervals of ``thomson compare``
matplotlib     ``train``            plots (``compare``, ``solve --plot``, ``inspect --plot``)
scikit-learn   ``train``            the digits data set
tomli          ``train``            TOML configs on Python 3.10
safetensors    ``inspect``          ``thomson inspect`` of ``.safetensors`` files
tqdm           ``train``            progress bars (skipped when missing)
tensorboard    (none)               TensorBoard events of a run (``tensorboard=None``: when installed)
lightning      ``integrations``     ``thomson.integrations.lightning``
transformers   ``integrations``     ``thomson.integrations.hf``
pytorch_m...   ``integrations``     ``thomson.integrations.pml`` (pytorch-metric-learning)
=============  ===================  =============================================
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any


def require(module: str, *, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ImportError saying what needs it and how to install it.

    Args:
        module: the module to import, e.g. ``"scipy.optimize"``.
        extra: the thomson extra that installs it, e.g. ``"solve"``.
        purpose: what needs it, e.g. ``"the separation polish"``.

    Example:
        >>> require("math", extra="train", purpose="this example").__name__
        'math'
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        package = module.partition(".")[0]
        raise ImportError(
            f'{purpose} needs {package}, which is not installed: pip install "thomson[{extra}]" '
            f"(or pip install {_DISTRIBUTIONS.get(package, package)})"
        ) from err


def optional(module: str) -> ModuleType | None:
    """Import ``module`` if it is installed, else None (for features that are skipped without it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a None entry in sys.modules
        return False


def figure(width: float, height: float, *, purpose: str, **options: Any) -> Any:
    """A new ``matplotlib.figure.Figure`` of ``width × height`` inches on its own Agg canvas.

    No pyplot and no global state: the backend of a notebook or an application that imports thomson is left
    alone, and figures are freed with their last reference. ``options`` go to ``Figure`` (e.g. ``layout``).
    """
    matplotlib_figure = require("matplotlib.figure", extra="train", purpose=purpose)
    backend_agg = require("matplotlib.backends.backend_agg", extra="train", purpose=purpose)
    fig = matplotlib_figure.Figure(figsize=(width, height), **options)
    backend_agg.FigureCanvasAgg(fig)
    return fig


_DISTRIBUTIONS = {"sklearn": "scikit-learn", "pytorch_metric_learning": "pytorch-metric-learning"}
"""Import names whose distribution (``pip install`` name) differs."""


__all__ = ["available", "figure", "optional", "require"]
