"""The ``thomson`` command line. Each subcommand lives in its own module of this package and registers
itself in ``COMMANDS`` (``add_arguments(parser)`` and ``run(args) -> int``)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import thomson

COMMANDS: dict[str, str] = {"train": "train", "compare": "compare", "solve": "solve", "inspect": "inspect"}
"""Subcommand name → module under ``thomson.cli`` that defines ``HELP``, ``add_arguments`` and ``run``."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="thomson", description="Hyperspherical-uniformity regularization.")
    parser.add_argument("--version", action="version", version=f"thomson {thomson.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {name: importlib.import_module(f"thomson.cli.{module}") for name, module in COMMANDS.items()}
    for name, module in modules.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    code: int = modules[args.command].run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
