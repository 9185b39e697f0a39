"""``TrainConfig``: every setting of a training run, from defaults, a recipe, a TOML file and command-line flags;
and the run's objective from its name (:func:`build_objective`)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from thomson import _deprecation
from thomson._optional import require
from thomson._validate import coefficient, integer, real
from thomson.objectives import Objective
from thomson.objectives.registry import OBJECTIVES, list_objectives
from thomson.registry import name_key
from thomson.train.optimizer import OPTIMIZERS
from thomson.train.recipe import RECIPES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = require("tomli", extra="train", purpose="reading TOML configs on Python 3.10")


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


def _options(help: str, flag: str) -> dict[str, str]:
    return {"help": f"{help}, KEY=VALUE (repeatable)", "flag": flag}


@dataclass
class TrainConfig:
    """One training run. The defaults train an MLP on scikit-learn's digits with SGD in a few seconds.

    Every field can be set in a TOML file (``[reg_options]``, ``[model_options]`` and ``[data_options]`` are
    tables) and overridden by a command-line flag of the same name (``--batch-size 64``,
    ``--reg-opt half_space=true``). ``recipe`` names a preset of :data:`~thomson.train.recipe.RECIPES` (the
    papers' CIFAR schedule, the MNIST-1D ones); it fills fields that the file and the flags do not set.

    Example:
        >>> TrainConfig(reg="mhe", reg_options={"s": 0}).reg_options
        {'s': 0}
    """

    model: str = _f("mlp", "model name: mlp, cnn9, resnet20/32/56/110, resnet18, mlp1d, cnn1d")
    model_options: dict[str, Any] = field(
        default_factory=dict, metadata=_options("keyword option of the model", "model-opt")
    )
    data: str = _f("digits", "data set: digits, cifar10, cifar100, synthetic, mnist1d")
    data_dir: str | None = _f(None, "CIFAR python-format archive (.tar.gz) or its extracted folder")
    train_size: int | None = _f(None, "training items kept (stratified subset); default: all")
    train_fraction: float | None = _f(None, "or the fraction of the training set kept")
    data_options: dict[str, Any] = field(
        default_factory=dict, metadata=_options("keyword option of the data loader", "data-opt")
    )
    data_seed: int | None = _f(None, "seed of the training subset; default: seed")
    reg: str = _f("none", "regularizer: none, a registered objective (mhe, comhe, mhs, ...) or module:Class")
    reg_options: dict[str, Any] = field(
        default_factory=dict, metadata=_options("keyword option of the objective", "reg-opt")
    )
    imports: list[str] = field(
        default_factory=list,
        metadata={
            "help": "modules to import first, e.g. ones that register objectives, models or data sets (repeatable)",
            "flag": "import",
            "metavar": "MODULE",
        },
    )
    coef: float | None = _f(None, "hidden-layer coefficient; default: the objective's paper value")
    classifier_coef: float | None = _f(None, "classifier coefficient; default: the objective's paper value")
    steps: int = _f(1000, "optimizer updates")
    optimizer: str = _f("sgd", f"optimizer: {', '.join(OPTIMIZERS)}")
    batch_size: int = _f(50, "global batch size (split across DDP processes)")
    lr: float = _f(0.05, "initial learning rate")
    milestones: list[int] = field(
        default_factory=lambda: [700], metadata={"help": "steps at which the learning rate is multiplied by gamma"}
    )
    gamma: float = _f(0.1, "learning-rate factor at each milestone")
    momentum: float = _f(0.9, "SGD momentum (not used by adam)")
    weight_decay: float = _f(5e-4, "L2 weight decay on every parameter")
    label_smoothing: float = _f(0.0, "label smoothing of the cross-entropy")
    prob_eps: float = _f(0.0, "ε in log(softmax + ε) (reference: 1e-4)")
    seed: int = _f(0, "seed of the initialization, the batch order and the augmentation")
    eval_every: int = _f(100, "evaluate on the test set every k steps")
    log_every: int = _f(10, "log training metrics every k steps")
    checkpoint_every: int = _f(500, "save a checkpoint every k steps (and at the end, and on SIGTERM)")
    eval_batch_size: int = _f(1000, "batch size of the evaluation")
    device: str = _f("auto", "auto, cpu, cuda or cuda:N")
    threads: int | None = _f(None, "torch CPU threads; default: torch's")
    recipe: str | None = _f(None, f"preset of the papers' recipe: {', '.join(RECIPES)}")
    progress: bool | None = _f(None, "progress bar; default: when stderr is a terminal")
    tensorboard: bool | None = _f(
        None, "also write TensorBoard events to out/tb (true: required, false: never); default: when installed"
    )
    out: str | None = _f(None, "output folder; default: runs/<data>-<model>-<reg>-seed<seed>")

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(TrainConfig)
        for f in dataclasses.fields(self):
            setattr(self, f.name, _coerce(f.name, getattr(self, f.name), hints[f.name]))
        for name in ("steps", "batch_size", "eval_every", "log_every", "checkpoint_every", "eval_batch_size"):
            integer(name, getattr(self, name), low=1)
        if self.threads is not None:
            integer("threads", self.threads, low=1)
        for name in ("lr", "weight_decay", "prob_eps"):
            real(name, getattr(self, name), low=0.0)
        real("momentum", self.momentum, low=0.0, high=1.0)
        real("label_smoothing", self.label_smoothing, low=0.0, high=1.0)
        real("gamma", self.gamma, low=0.0, strict=True)
        for name in ("coef", "classifier_coef"):
            if getattr(self, name) is not None:
                coefficient(name, getattr(self, name))
        if self.seed < 0 or (self.data_seed is not None and self.data_seed < 0):
            raise ValueError("seed and data_seed must be >= 0")
        clash = sorted(set(self.data_options) & {"seed", "train_size", "train_fraction", "data_dir"})
        if clash:
            raise ValueError(
                f"data_options {clash} are run settings, not data options: set data_seed, train_size, "
                "train_fraction or data_dir (--data-seed, ...); mnist1d's generator seed is the option generation_seed"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.recipe is not None and self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {self.recipe!r}")

    @property
    def out_dir(self) -> Path:
        """The output folder (``out``, or the default name built from the run's settings)."""
        return Path(self.out or f"runs/{self.data}-{self.model}-{self.reg}-seed{self.seed}")

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data (TOML/JSON-ready; ``None`` kept)."""
        return dataclasses.asdict(self)


RESULT_NEUTRAL = frozenset(
    {
        "steps",
        "eval_every",
        "log_every",
        "checkpoint_every",
        "eval_batch_size",
        "device",
        "threads",
        "progress",
        "tensorboard",
        "out",
        "imports",
    }
)
"""Fields that do not change the trained weights (``steps`` only extends a run; ``imports`` only finds code): a
resumed run may change them."""

NONE = "none"
"""The ``reg`` of a run without a regularizer (the baseline)."""


def import_modules(modules: Sequence[str]) -> None:
    """Import ``modules`` (a config's ``imports``), so that what they register is available by name."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ValueError(f"cannot import {module!r} (imports / --import): {error}") from error


def build_objective(
    name: str, options: dict[str, Any] | None = None, *, lr: Callable[[], float] | None = None
) -> Objective | None:
    """The objective ``name`` built with ``options`` as keyword arguments, or None for ``"none"``.

    ``name`` is a registered objective (:func:`thomson.list_objectives`; case-insensitive, ``-`` and ``_``
    ignored) or an import path ``module:Class``. Objectives that take an ``inner_lr`` (inner steps on
    projections or poles) follow the network's learning rate ``lr`` unless the options set it, as in the
    reference code.

    Args:
        name: ``"none"``, a registered name, e.g. ``"mhe"``, or ``"package.module:ClassName"``.
        options: keyword arguments of the class, e.g. ``{"s": 2, "half_space": True, "reference": True}``.
        lr: the network's current learning rate, for ``inner_lr``. Default None.

    Example:
        >>> build_objective("MHE", {"s": 0, "half_space": True})
        MHE(s=0, metric='euclidean', half_space=True, reference=False)
        >>> build_objective("none") is None
        True
    """
    options = dict(options or {})
    if name_key(name) == NONE:
        if options:
            raise ValueError(f"regularizer 'none' takes no options, got {sorted(options)}")
        return None
    if ":" not in name and name not in OBJECTIVES:
        raise ValueError(f"unknown regularizer {name!r}; available: {', '.join([NONE, *list_objectives()])}")
    objective: Objective = OBJECTIVES.create(name, kind="regularizer", **options)
    if lr is not None and hasattr(objective, "inner_lr") and "inner_lr" not in options:
        setattr(objective, "inner_lr", lr)  # noqa: B010 — inner steps (projections, poles) follow the network's learning rate
    return objective


def available_objectives() -> dict[str, type[Objective]]:
    """Deprecated: the registered objectives, name → class; use :func:`thomson.list_objectives`."""
    _deprecation.warn("thomson.train.available_objectives() is thomson.list_objectives()")
    return {name: OBJECTIVES.get(name) for name in list_objectives()}


def saved_setting(saved: dict[str, Any], name: str) -> Any:
    """Field ``name`` of a saved config (a checkpoint's, a summary's); its default if the config predates it.

    Example:
        >>> saved_setting({"lr": 0.1}, "lr"), saved_setting({"lr": 0.1}, "optimizer")
        (0.1, 'sgd')
    """
    if name in saved:
        return saved[name]
    return getattr(TrainConfig(), name)  # the defaults are a valid config


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` checked against the field's type ``hint`` (int, float, str, bool, list[int], dict, ``X | None``)."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ValueError(f"{name} must not be empty (none)")
    base = next(o for o in options if o is not type(None))
    origin = typing.get_origin(base) or base
    if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if origin is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if origin in (str, bool) and isinstance(value, origin):
        return value
    if origin is list and isinstance(value, (list, tuple)):
        return [_coerce(f"{name}[]", v, typing.get_args(base)[0]) for v in value]
    if origin is dict and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return dict(value)
    expected = getattr(base, "__name__", str(base)) + (" or none" if type(None) in options else "")
    raise ValueError(f"{name} must be {expected}, got {value!r}")


def parse_value(text: str) -> Any:
    """A command-line value as a TOML literal (``2``, ``1e-3``, ``true``, ``[1, 2]``, ``"x"``), ``none`` as None,
    and anything else as the plain string.

    Example:
        >>> [parse_value(t) for t in ("2", "0.5", "true", "[1, 2]", "angular", "none")]
        [2, 0.5, True, [1, 2], 'angular', None]
    """
    if text.strip().lower() in ("none", "null"):
        return None
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """``["s=2", "half_space=true"]`` → ``{"s": 2, "half_space": True}``."""
    options: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"an option must read KEY=VALUE, got {item!r}")
        options[key.strip()] = parse_value(value.strip())
    return options


def read_toml(path: str | Path) -> dict[str, Any]:
    """The tables of a TOML file (clear errors for a missing or malformed file)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            content: dict[str, Any] = tomllib.load(f)
            return content
    except FileNotFoundError as error:
        raise ValueError(f"config file {path} not found") from error
    except IsADirectoryError as error:
        raise ValueError(f"config file {path} is a folder: name a .toml file in it") from error
    except OSError as error:
        raise ValueError(f"config file {path} cannot be read: {error.strerror or error}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"config file {path} is not valid TOML: {error}") from error


def make_config(file_values: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """A config from a file's values and overrides (flags): defaults < recipe < file < overrides.

    Option tables (``reg_options``, ...) are merged key by key; every other field is replaced.

    Example:
        >>> c = make_config({"recipe": "mhe", "reg": "mhe"}, {"steps": 10})
        >>> (c.steps, c.milestones, c.lr, c.reg)
        (10, [20000, 30000, 37500], 0.1, 'mhe')
    """
    file_values, overrides = dict(file_values or {}), dict(overrides or {})
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted((set(file_values) | set(overrides)) - names)
    if unknown:
        raise ValueError(f"unknown config field(s) {unknown}; fields: {', '.join(sorted(names))}")
    recipe = overrides.get("recipe", file_values.get("recipe"))
    if recipe is not None and recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {sorted(RECIPES)}, got {recipe!r}")
    values = {**(RECIPES[recipe] if recipe else {}), **file_values, **overrides}
    for name in names:
        if name.endswith("_options") and isinstance(file_values.get(name), dict) and name in overrides:
            values[name] = {**file_values[name], **overrides[name]}  # a flag's options add to the file's
    return TrainConfig(**values)


def _flag(f: dataclasses.Field[Any]) -> str:
    return "--" + str(f.metadata.get("flag") or f.name.replace("_", "-"))


def _shown_default(f: dataclasses.Field[Any]) -> str:
    """A field's default as a flag would write it (``700`` for ``[700]``; ``none`` for an empty table)."""
    value = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)


TABLES = ("compare",)
"""Tables of a config file that are not run settings (read by the command that needs them)."""


def add_config_arguments(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    """Add ``--config FILE`` and one flag per :class:`TrainConfig` field (a flag overrides the file)."""
    parser.add_argument("--config", metavar="FILE", help="TOML file of TrainConfig fields (flags override it)")
    group = parser.add_argument_group("run settings (override the config file)")
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        is_options = f.name.endswith("_options")
        repeatable = is_options or hints[f.name] == list[str]
        group.add_argument(
            _flag(f),
            dest=f"cfg_{f.name}",
            action="append" if repeatable else "store",
            metavar="KEY=VALUE" if is_options else f.metadata.get("metavar", f.name.upper()),
            help=f"{f.metadata['help']} (default: {_shown_default(f)})",
        )


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The fields set by flags, parsed (lists accept ``1,2``)."""
    hints = typing.get_type_hints(TrainConfig)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(TrainConfig):
        raw = getattr(args, f"cfg_{f.name}", None)
        if raw is None:
            continue
        if f.name.endswith("_options"):
            out[f.name] = parse_options(raw)
        elif hints[f.name] == list[str]:  # repeatable, each value may be a comma-separated list
            out[f.name] = [item.strip() for value in raw for item in value.split(",") if item.strip()]
        elif typing.get_origin(hints[f.name]) is list:
            text = raw.strip()
            out[f.name] = parse_value(text if text.startswith("[") else f"[{text}]")
        elif hints[f.name] is str:
            out[f.name] = raw
        elif str in typing.get_args(hints[f.name]):  # an optional string: keep it verbatim, "none" clears it
            out[f.name] = None if raw.lower() in ("none", "null") else raw
        else:
            out[f.name] = parse_value(raw)
    return out


def config_from_args(args: argparse.Namespace, *, fixed: Sequence[str] = ()) -> TrainConfig:
    """The config of ``--config FILE`` (its top-level fields) overridden by the flags.

    A table other than the option tables (``[reg_options]``, ...) and :data:`TABLES` is an error, as is a field
    in ``fixed``, which the command sets itself (``compare`` sets ``reg``, ``reg_options`` and ``seed`` per cell).
    """
    file_values = read_toml(args.config) if args.config else {}
    for key, value in file_values.items():
        if isinstance(value, dict) and not key.endswith("_options") and key not in TABLES:
            tables = ", ".join(f"[{name}]" for name in [*_option_tables(), *TABLES])
            raise ValueError(f"config file {args.config}: unknown table [{key}]; the tables are {tables}")
        if key in fixed:
            raise ValueError(
                f"config file {args.config}: {key} is set by the command for each run (compare: the grid entries "
                'and seeds, e.g. grid = ["mhe:s=0"], seeds = [0, 1]); remove it'
            )
    file_values = {k: v for k, v in file_values.items() if k not in TABLES}
    return make_config(file_values, overrides_from_args(args))


def _option_tables() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig) if f.name.endswith("_options")]
