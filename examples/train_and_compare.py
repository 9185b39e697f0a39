"""The training tools from Python: one run with ``fit``, then a small grid with ``compare``.

Run with ``python examples/train_and_compare.py`` (about a minute on 2 cores); ``thomson train`` and
``thomson compare`` are the same functions on the command line.
"""

from __future__ import annotations

from thomson.train import TrainConfig, fit
from thomson.train.compare import compare
from thomson.train.report import format_comparison


def main() -> None:
    base = TrainConfig(train_size=100, steps=500, milestones=[350], model_options={"hidden": [128, 128]})

    result = fit(TrainConfig(**{**base.to_dict(), "reg": "mhe", "out": "runs/example-mhe"}), resume=True)
    print(f"one run: test accuracy {100 * result.test_acc:.2f}%, final energies {result.energy_final}")

    comparison = compare(base, ["none", "mhe", "mhe:half_space=true"], seeds=[0, 1], out="results/example")
    print(format_comparison(comparison))


if __name__ == "__main__":
    main()
