"""A short SimCLR-style run on scikit-learn's digits: alignment and uniformity during training, and a linear probe.

Two views of each image (a shift of up to one pixel, a random contrast, Gaussian noise) go through an MLP
encoder and a projection head onto the unit sphere ``S^31``. Two losses are trained from the same start, with
the same batches and views:

    align + uniformity:  alignment(z1, z2) + λ (uniformity(z1) + uniformity(z2)) / 2   (Wang & Isola, λ = 1)
    align only:          alignment(z1, z2)

Every ``--eval-every`` steps the alignment of two views of the 899 test images and the uniformity of their
embeddings are recorded; at the end a logistic-regression probe on the frozen encoder's features (train
images) is scored on the test images. Without the uniformity term nothing stops the embeddings from
collapsing to a point (alignment 0, uniformity 0), and the probe shows what is lost.

    python examples/contrastive.py                   # 1000 steps per loss: about a minute on one core
    python examples/contrastive.py --steps 50 --out /tmp/contrastive
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from thomson.data.digits import load_digits
from thomson.functional import alignment, uniformity

LOSSES = ("align + uniformity", "align only")


def augment(x: Tensor, g: torch.Generator) -> Tensor:
    """A random view of each image ``[B, 1, 8, 8]``: shift by -1..1 pixels, contrast x0.7..1.3, noise σ = 0.1."""
    b = x.shape[0]
    padded = nn.functional.pad(x, (1, 1, 1, 1))
    dy, dx = torch.randint(0, 3, (2, b), generator=g)
    rows = (dy[:, None] + torch.arange(8))[:, :, None]
    cols = (dx[:, None] + torch.arange(8))[:, None, :]
    shifted = padded[torch.arange(b)[:, None, None], 0, rows, cols]
    contrast = 0.7 + 0.6 * torch.rand(b, 1, 1, generator=g)
    noisy = shifted * contrast + 0.1 * torch.randn(shifted.shape, generator=g)
    return noisy.clamp(0.0, 1.0).flatten(1)


class Network(nn.Module):
    """Encoder 64-256-128 (the features the probe reads) and projection head 128-128-32 onto the sphere."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 32))

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.normalize(self.head(self.encoder(x)), dim=1)


def train(
    loss_name: str, data: tuple[Tensor, Tensor], steps: int, eval_every: int, seed: int
) -> tuple[Network, list[dict[str, float]]]:
    """Adam (lr 1e-3), batches of 256 training images, two views each; the curve of (step, alignment, uniformity).

    Every loss starts from the same initialization and sees the same batches and views (``seed``); 0 steps gives
    the untrained network."""
    train_x, test_x = data
    torch.manual_seed(seed)
    net = Network()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed + 1)
    held = torch.Generator().manual_seed(seed + 2)
    test_views = augment(test_x, held), augment(test_x, held)
    history = []
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            with torch.no_grad():
                z1, z2 = net(test_views[0]), net(test_views[1])
                history.append(
                    {"step": step, "alignment": float(alignment(z1, z2)), "uniformity": float(uniformity(z1))}
                )
        if step == steps:
            break
        batch = train_x[torch.randint(len(train_x), (256,), generator=g)]
        z1, z2 = net(augment(batch, g)), net(augment(batch, g))
        loss = alignment(z1, z2)
        if loss_name == "align + uniformity":
            loss = loss + (uniformity(z1) + uniformity(z2)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, history


def probe_accuracy(net: Network, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor]) -> float:
    """Test accuracy of a logistic regression on the frozen encoder's features (standardized)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with torch.no_grad():
        features = [net.encoder(x.flatten(1)).numpy() for x in (train[0], test[0])]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(features[0], train[1].numpy())
    return float(probe.score(features[1], test[1].numpy()))


def plot(histories: dict[str, list[dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, history in histories.items():
        steps = [h["step"] for h in history]
        for ax, key in zip(axes, ("alignment", "uniformity"), strict=True):
            ax.plot(steps, [h[key] for h in history], label=name)
    axes[0].set_title("alignment of two test views (α = 2)")
    axes[1].set_title("uniformity of test embeddings (t = 2)")
    random = -2 * 2.0 + 2 * 2.0**2 / 32  # -2t + 2t²/D: uniformly random directions in D = 32 dims
    axes[1].axhline(random, color="grey", lw=0.8, ls="--", label="random directions (-2t + 2t²/D)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000, help="training steps per loss (default 1000)")
    parser.add_argument("--eval-every", type=int, default=50, help="steps between measurements (default 50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest for a tiny MLP)")
    parser.add_argument("--out", type=Path, default=Path("results/contrastive"), help="folder for the plot")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.eval_every < 1:
        parser.error("--steps and --eval-every must be >= 1")
    torch.set_num_threads(args.threads)
    ds = load_digits()
    train_x, test_x = ds.train_x.flatten(1), ds.test_x.flatten(1)
    results, histories = {}, {}
    for name, steps in (("untrained", 0), *((loss, args.steps) for loss in LOSSES)):
        net, history = train(name, (ds.train_x, ds.test_x), steps, args.eval_every, args.seed)
        results[name] = {
            "alignment": history[-1]["alignment"],
            "uniformity": history[-1]["uniformity"],
            "probe_accuracy": probe_accuracy(net, (train_x, ds.train_y), (test_x, ds.test_y)),
        }
        if steps:
            histories[name] = history
    args.out.mkdir(parents=True, exist_ok=True)
    plot(histories, args.out / "contrastive.png")
    (args.out / "contrastive.json").write_text(json.dumps({"results": results, "histories": histories}, indent=1))
    print(f"digits, {args.steps} steps per loss, linear probe on the encoder's 128 features (test accuracy)")
    print(f"{'loss':<20} {'alignment':>10} {'uniformity':>11} {'probe':>7}")
    for name, r in results.items():
        print(f"{name:<20} {r['alignment']:>10.4f} {r['uniformity']:>11.4f} {100 * r['probe_accuracy']:>6.1f}%")
    print(f"plot: {args.out / 'contrastive.png'}")
    return results


if __name__ == "__main__":
    main()
