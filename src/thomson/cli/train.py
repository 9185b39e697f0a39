"""``thomson train``: one training run from a config file and flags, with a final summary."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from thomson.train.config import add_config_arguments

    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in the output folder")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the results of an earlier run in the output folder"
    )
    add_config_arguments(parser)
    parser.epilog = (
        "examples: thomson train --reg mhe --reg-opt half_space=true; "
        "thomson train --config configs/cifar100-cnn9-mhe-half-s2.toml --data-dir ~/data/cifar-100-python.tar.gz; "
        "torchrun --nproc_per_node=2 -m thomson train --steps 300"
    )


def format_summary(result: object) -> str:
    """The final summary printed by ``thomson train``: accuracy and, per layer, energy at init, at the end,
    and its simplex lower bound."""
    from thomson.train.loop import RunResult

    assert isinstance(result, RunResult)
    c = result.config
    lines = [
        f"{c.data} · {c.model} · reg {c.reg} {c.reg_options or ''} · seed {c.seed} · step {result.step}/{c.steps} "
        f"· {result.wall_time:.1f} s",
        f"test accuracy {100 * result.test_acc:.2f}%   test loss {result.test_loss:.4f}",
        "",
        f"{'layer':<24} {'N×D':>11} {'energy init':>12} {'final':>10} {'simplex bound':>14}",
    ]
    for name, (n, d) in result.sizes.items():
        final = result.energy_final.get(name, float("nan"))
        lines.append(
            f"{name.removesuffix('.weight'):<24} {f'{n}×{d}':>11} {result.energy_init[name]:>12.4f} {final:>10.4f} "
            f"{result.energy_bound[name]:>14.4f}"
        )
    lines.append(f"(full-space s=2 MHE per layer; files in {c.out_dir})")
    return "\n".join(lines)


def _check_coefficients(config: object) -> None:
    """A coefficient set for a run without a regularizer would do nothing: an error, not a silent no-op."""
    from thomson.registry import name_key
    from thomson.train.config import NONE, TrainConfig

    assert isinstance(config, TrainConfig)
    given = [name for name in ("coef", "classifier_coef") if getattr(config, name) is not None]
    if name_key(config.reg) == NONE and given:
        flags = ", ".join(f"--{name.replace('_', '-')} {getattr(config, name):g}" for name in given)
        raise ValueError(f"{flags} has no effect with --reg none: remove it, or choose a regularizer (--reg mhe)")


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from thomson.train.config import config_from_args
    from thomson.train.loop import fit

    try:
        config = config_from_args(args)
        _check_coefficients(config)
        result = fit(config, resume=args.resume, overwrite=args.overwrite)
    except (ValueError, ImportError) as error:
        print(f"thomson train: error: {error}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":
        if not result.completed:
            print(f"stopped at step {result.step}; checkpoint saved in {config.out_dir} (continue with --resume)")
        print(format_summary(result))
    return 0
