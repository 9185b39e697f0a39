"""Train a small MLP on scikit-learn's bundled digits with and without MHE; print accuracy and energies.

Run with ``make demo`` (or ``python examples/digits_demo.py``). Takes well under a minute on 2 CPU cores.
"""

from __future__ import annotations

import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import thomson


def data(seed: int) -> tuple[torch.Tensor, ...]:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x / 16.0, y, train_size=300, test_size=1000, stratify=y, random_state=seed
    )
    return tuple(
        torch.tensor(a, dtype=torch.float32 if a.dtype.kind == "f" else torch.long)
        for a in (x_train, y_train, x_test, y_test)
    )


def run(objective: thomson.Objective | None, seed: int, steps: int = 600) -> tuple[float, dict[str, float]]:
    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = data(seed)
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    reg = thomson.Regularizer(model, objective, coef=1.0, classifier_coef=1.0) if objective else None
    for _ in range(steps):
        idx = torch.randint(0, len(x_train), (64,))
        loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
        if reg is not None:
            loss = loss + reg()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        energies = thomson.Regularizer(model, thomson.MHE(s=2))
        energies()
    return accuracy, energies.stats


def main() -> None:
    start = time.time()
    setups: dict[str, thomson.Objective | None] = {
        "no regularizer": None,
        "MHE s=2": thomson.MHE(s=2),
        "half-space MHE s=2": thomson.MHE(s=2, half_space=True),
    }
    seeds = (0, 1, 2)
    print("Digits, 300 training images, MLP 64-512-512-10, 600 SGD steps, 3 seeds")
    print(f"{'regularizer':<22}{'test accuracy':>18}   full-space s=2 MHE per layer at the end")
    for name, objective in setups.items():
        results = [run(objective, seed) for seed in seeds]
        accs = torch.tensor([acc for acc, _ in results]) * 100
        layers = results[0][1]
        energy = "  ".join(f"{layer}={value:.4f}" for layer, value in layers.items())
        print(f"{name:<22}{accs.mean():>11.2f} ± {accs.std():.2f}   {energy}")
    print(f"(lower energy = more uniformly spread neurons; done in {time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
