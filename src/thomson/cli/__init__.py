"""The ``thomson`` command line. Each subcommand is a module of this package (``add_arguments(parser)`` and
``run(args) -> int``), registered in :data:`COMMANDS` with its one-line help; only the module of the subcommand
that runs is imported (``thomson solve`` never loads the training tools, ``thomson --help`` none of them)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata

from thomson.registry import Registry


@dataclass(frozen=True)
class Command:
    """A subcommand: the module that implements it and its one-line help."""

    module: str
    help: str


COMMANDS: Registry[Command] = Registry("command")
"""Subcommand name → :class:`Command`."""

COMMANDS.add(
    "train",
    Command(
        "thomson.cli.train",
        "train one model with a regularizer (papers' recipes via --config/--recipe), resumable, DDP via torchrun",
    ),
)
COMMANDS.add(
    "compare",
    Command(
        "thomson.cli.compare",
        "compare regularizers over seeds: accuracy intervals, paired differences, energies, results files, plots",
    ),
)
COMMANDS.add(
    "solve",
    Command(
        "thomson.cli.solve",
        "find N points on the sphere S^(D-1) minimizing the Riesz/log energy, or best separated (Tammes) or covering",
    ),
)
COMMANDS.add(
    "inspect",
    Command(
        "thomson.cli.inspect",
        "per-layer MHE (s = 0, 1, 2), minimum angle and mean |cos| of a checkpoint (or, with --embeddings, "
        "uniformity and alignment of a tensor of embeddings), vs random and best known",
    ),
)


def _version() -> str:
    try:
        return metadata.version("thomson")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="thomson", description="Hyperspherical-uniformity regularization.")
    parser.add_argument("--version", action="version", version=f"thomson {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((arg for arg in args_list if not arg.startswith("-")), None)  # the global options take no value
    module = None
    for name in COMMANDS:
        command = COMMANDS.get(name)
        subparser = sub.add_parser(name, help=command.help, description=command.help)
        if chosen == name:
            module = importlib.import_module(command.module)
            module.add_arguments(subparser)
    args = parser.parse_args(args_list)
    if module is None:
        parser.print_help()
        return 0
    try:
        code: int = module.run(args)
    except KeyboardInterrupt:  # Ctrl-C outside a training loop (which stops cleanly on its own)
        print(f"thomson {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
