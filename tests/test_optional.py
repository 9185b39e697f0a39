"""Optional dependencies: a missing one names the extra that installs it; figures leave matplotlib's state alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import ROOT
from thomson._optional import available, optional, require


def test_a_missing_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'the digits data set needs sklearn.*pip install "thomson\[train\]"'):
        require("sklearn.datasets", extra="train", purpose="the digits data set")
    assert optional("sklearn.datasets") is None and not available("sklearn")
    assert optional("math") is not None and available("math")


def test_figures_use_their_own_canvas_and_never_pyplot() -> None:
    code = (
        "import matplotlib; matplotlib.use('svg'); import sys\n"
        "from thomson._optional import figure\n"
        "fig = figure(2, 1, purpose='a test'); fig.add_subplot().plot([0, 1])\n"
        "import io; fig.savefig(io.BytesIO(), format='png')\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "print(type(fig.canvas).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src")}
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "FigureCanvasAgg"
