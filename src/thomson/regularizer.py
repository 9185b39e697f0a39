"""``Regularizer``: attach an objective to the layers of any PyTorch model, with a per-layer breakdown."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, cast

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from thomson._validate import coefficient, real
from thomson.layers import LAYER_TYPES, is_layer_weight
from thomson.objectives.base import Objective

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

Coef = float | Callable[[int], float]
"""A coefficient: a number, or a function of the step (warm-up, decay)."""

Selector = str | type | tuple[type, ...] | Callable[[str, nn.Module], bool]
"""Picks weights: a glob on the tensor's or its module's name (``"features.*"``, ``"head"``), a module type,
or a predicate ``(tensor_name, module) -> bool``."""

DEFAULT_TYPES = LAYER_TYPES
"""The module types regularized by default (:data:`thomson.layers.LAYER_TYPES`)."""


@dataclass(frozen=True)
class _Target:
    name: str  # "features.0.weight"
    module: nn.Module
    attr: str  # "weight"

    def tensor(self) -> Tensor:
        value: Tensor = getattr(self.module, self.attr)  # recomputed each call for parametrized weights
        return value

    def rows(self) -> Tensor:
        """The ``[N, D]`` rows the objective sees."""
        return self.tensor().flatten(1)


class Regularizer(nn.Module):
    """Sum of an objective over the layers of a model, weighted by per-layer coefficients.

        R = Σ_{hidden layers l} coef(t) · objective(W_l)  +  classifier_coef(t) · objective(W_cls)

    By default every ``Linear`` and ``Conv1d/2d/3d`` weight is regularized (rows ``weight.flatten(1)``; the rule
    of :mod:`thomson.layers`, which ``thomson inspect`` and the training log share), and
    the classifier is the last ``Linear`` among them: it gets ``classifier_coef`` and is evaluated with
    ``classifier=True`` (no half-space), as in the papers' code.

    Call it each training step and add the result to the loss; ``stats`` then holds that step's per-layer
    values (before coefficients) as plain floats for logging. Its own state (the step counter, the
    objective's auxiliary tensors) is in ``state_dict()``; the model is not.

    Args:
        model: any ``nn.Module``; a DDP/DataParallel wrapper or a ``torch.compile`` result is unwrapped.
        objective: an :class:`~thomson.objectives.Objective`, e.g. ``thomson.MHE(s=2, half_space=True)``.
        coef: hidden-layer coefficient, a number or a function of the step. Default: ``objective.coef``.
        classifier_coef: the classifier's coefficient. Default: ``objective.classifier_coef``.
        include: selectors of the weights to regularize, replacing the default set; any tensor with at
            least 2 dims can be named. Default None (every Linear/Conv weight).
        exclude: selectors of weights to leave out. Default None.
        classifier: ``"auto"`` (the last selected Linear), the name of a selected weight or module, or None
            for no classifier. Default ``"auto"``.
        check_finite: raise, naming the layer, when the value is not finite. Default True.
        classifier_group: the process group across which the classifier's rows are sharded (a model-parallel
            head: each rank's classifier holds its slice of the classes). The classifier's value is then the
            exact objective of all ranks' rows, the same on every rank, and each rank gets the gradient of its
            own rows (:func:`thomson.distributed.hyperspherical_energy`; every rank must call the regularizer).
            Only objectives that are sums over pairs of rows (MHE) can be sharded. Default None (not sharded).

    Example:
        >>> import torch, thomson
        >>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        >>> reg = thomson.Regularizer(model, thomson.MHE(s=2, half_space=True))
        >>> loss = model(torch.randn(4, 8)).square().mean() + reg()
        >>> sorted(reg.stats)
        ['0.weight', '2.weight']
        >>> reg.classifier
        '2.weight'
    """

    step: Tensor

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        *,
        coef: Coef | None = None,
        classifier_coef: Coef | None = None,
        include: Selector | Sequence[Selector] | None = None,
        exclude: Selector | Sequence[Selector] | None = None,
        classifier: str | None = "auto",
        check_finite: bool = True,
        classifier_group: ProcessGroup | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(objective, Objective):
            raise TypeError(
                f"objective must be a thomson objective such as thomson.MHE(...), got {type(objective).__name__}"
            )
        self.objective = objective
        self.coef: Coef = coefficient("coef", objective.coef if coef is None else coef)
        self.classifier_coef: Coef = coefficient(
            "classifier_coef", objective.classifier_coef if classifier_coef is None else classifier_coef
        )
        self.check_finite = check_finite
        targets = _select(_unwrap(model), include, exclude)
        self.classifier: str | None = _find_classifier(targets, classifier)
        self._targets = targets  # a plain list: the model's modules are not registered in the regularizer
        self.classifier_group = classifier_group
        if classifier_group is not None:
            from thomson.distributed.objective import check_shardable  # loaded only for a sharded classifier

            if not isinstance(classifier_group, torch.distributed.ProcessGroup):
                raise TypeError(
                    f"classifier_group must be a torch.distributed ProcessGroup, got {type(classifier_group).__name__}"
                )
            if self.classifier is None:
                raise ValueError(
                    "classifier_group is given but no classifier is selected; name the sharded classifier with "
                    "classifier=... (or drop classifier_group)"
                )
            check_shardable(objective)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self._last: Tensor | None = None  # the last call's per-layer values [L]
        self._pending: _Pending | None = None  # a non-finite check not read yet
        self._vector: tuple[tuple[float, float, torch.dtype, torch.device], Tensor] | None = None

    @property
    def layers(self) -> list[str]:
        """Names of the regularized weights, in model order."""
        return [t.name for t in self._targets]

    @property
    def stats(self) -> dict[str, float]:
        """Per-layer values (before coefficients) of the last call, as floats (reading them waits for the device)."""
        self._check_pending()
        if self._last is None:
            return {}
        return dict(zip(self.layers, self._last.tolist(), strict=True))

    def forward(self, step: int | None = None) -> Tensor:
        """The weighted sum over layers. ``step`` defaults to the internal counter, which advances by one per
        call in training mode.

        All layers are evaluated by one call of the objective (:meth:`~thomson.Objective.forward_many`; MHE
        stacks layers of one shape into one engine pass). Nothing here waits for the device: with constant
        coefficients the step counter is never read on the host, and on an accelerator the non-finite check of
        one call is read at the next call (or when :attr:`stats` are read); under ``torch.compile`` on the CPU it
        is an assertion in the graph.
        """
        self._check_pending()
        hidden, classifier = self._coefficients(step)
        values = self._values()
        try:
            stacked = torch.stack(values)  # promotes dtypes
        except RuntimeError:  # layers on several devices (a model split across accelerators)
            stacked = torch.stack([v.to(values[0].device) for v in values])
        total = torch.dot(stacked, self._coefficient_vector(hidden, classifier, stacked))
        self._last = stacked.detach()
        if self.check_finite:
            self._check_finite(total, self._last, step)
        if self.training and step is None:
            self.step += 1
        return total

    def _coefficients(self, step: int | None) -> tuple[float, float]:
        """The coefficients now; the step is read (on the host) only when one of them is a function of it."""
        hidden, classifier = self.coef, self.classifier_coef
        if not callable(hidden) and not callable(classifier):
            return hidden, classifier
        t = int(self.step) if step is None else step
        return _current("coef", self.coef, t), _current("classifier_coef", self.classifier_coef, t)

    def _values(self) -> list[Tensor]:
        """Each target's value, in order, from one call of the objective (the sharded classifier's apart)."""
        targets = self._targets
        rows = [t.rows() for t in targets]
        flags = [t.name == self.classifier for t in targets]
        sharded = None
        if self.classifier_group is not None and self.classifier is not None:
            sharded = flags.index(True)
        chosen = [i for i in range(len(targets)) if i != sharded]
        try:
            values = self.objective.forward_many(
                [rows[i] for i in chosen],
                layers=[targets[i].name for i in chosen],
                classifiers=[flags[i] for i in chosen],
            )
            if sharded is not None:
                from thomson.distributed.objective import sharded_objective

                values.insert(sharded, sharded_objective(self.objective, rows[sharded], group=self.classifier_group))
        except (ValueError, TypeError, RuntimeError) as error:
            self._raise_on_layer(error, rows, flags)
        return values

    def _raise_on_layer(self, error: Exception, rows: list[Tensor], flags: list[bool]) -> NoReturn:
        """Raise ``error`` naming the layer: the first one on which the objective alone raises."""
        objective = type(self.objective).__name__
        for target, weight, is_classifier in zip(self._targets, rows, flags, strict=True):
            try:
                if is_classifier and self.classifier_group is not None:
                    from thomson.distributed.objective import sharded_objective

                    sharded_objective(self.objective, weight, group=self.classifier_group)
                else:
                    self.objective(weight, layer=target.name, classifier=is_classifier)
            except (ValueError, TypeError, RuntimeError) as layer_error:
                raise _on_layer(layer_error, objective, target.name, weight) from layer_error
        raise _on_layer(error, objective, ", ".join(self.layers), rows[0]) from error

    def _coefficient_vector(self, hidden: float, classifier: float, like: Tensor) -> Tensor:
        """``[L]``: each layer's coefficient, on ``like``'s device and dtype (kept while the coefficients are)."""
        key = (hidden, classifier, like.dtype, like.device)
        if not _compiling() and self._vector is not None and self._vector[0] == key:
            return self._vector[1]
        vector = torch.tensor(
            [classifier if t.name == self.classifier else hidden for t in self._targets],
            dtype=like.dtype,
            device=like.device,
        )
        if not _compiling():
            self._vector = (key, vector)
        return vector

    def _check_finite(self, total: Tensor, values: Tensor, step: int | None) -> None:
        if _compiling():
            if total.device.type == "cpu":  # an assertion in the graph (on an accelerator it would end the process)
                finite = torch.isfinite(values)
                for i, name in enumerate(self.layers):
                    torch._assert_async(finite[i], _non_finite_message([name]))
            else:  # read when the stats are, or at the next call outside the compiled code
                self._pending = _Pending(values, self.step.clone() if step is None else step)
            return
        if total.device.type == "cpu":  # in host memory: reading it waits for nothing
            if not bool(torch.isfinite(total)):
                self._raise_non_finite(values, self.step if step is None else step)
        else:  # read at the next call, by when the device has long finished it
            self._pending = _Pending(values, self.step.clone() if step is None else step)

    def _check_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and not _compiling() and not pending.finite():
            self._raise_non_finite(pending.values, pending.step)

    def _raise_non_finite(self, values: Tensor, step: int | Tensor) -> None:
        when = f" at step {int(step)}"
        for target in self._targets:
            if not bool(torch.isfinite(target.rows()).all()):
                raise FloatingPointError(
                    f"layer {target.name!r} has non-finite weights (NaN or inf){when}; the training has diverged "
                    "before the regularizer was applied: lower the learning rate or clip gradients"
                )
        bad = [name for name, finite in zip(self.layers, torch.isfinite(values).tolist(), strict=True) if not finite]
        raise FloatingPointError(_non_finite_message(bad) + when)

    def extra_repr(self) -> str:
        return f"layers={len(self._targets)}, classifier={self.classifier!r}"


def _on_layer(error: Exception, objective: str, layer: str, weight: Tensor) -> Exception:
    """``error`` (same class where it can be rebuilt from a message) with the layer and its weight's shape."""
    message = f"{objective} on layer {layer!r} (weight of shape {tuple(weight.shape)}): {error}"
    for kind in (type(error), ValueError, TypeError, RuntimeError):
        if isinstance(error, kind):
            try:
                return kind(message)
            except TypeError:  # an exception class with another constructor
                continue
    return RuntimeError(message)


def _current(name: str, coef: Coef, step: int) -> float:
    """The coefficient at ``step``: the number, or what the function returns, checked (a finite number >= 0)."""
    if not callable(coef):
        return coef
    returned = f"{name} at step {step} (the value returned by the function)"
    try:
        value = float(coef(step))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{returned} must be a number: {error}") from error
    return real(returned, value, low=0.0)


def _non_finite_message(layers: list[str]) -> str:
    return (
        f"the objective is not finite on layer(s) {layers} although their weights are: duplicate or "
        "antipodal rows with eps=0, or reference mode with very large weights; use the default eps"
    )


def _compiling() -> bool:
    return bool(torch.compiler.is_compiling())


class _Pending:
    """Per-layer finiteness of one call's values, on its way to the host without stopping the device."""

    def __init__(self, values: Tensor, step: int | Tensor) -> None:
        self.values, self.step = values, step
        flags = torch.isfinite(values)
        self.event = None
        if flags.device.type == "cuda" and not _compiling():
            self.flags = torch.empty(flags.shape, dtype=torch.bool, pin_memory=True)
            self.flags.copy_(flags, non_blocking=True)
            self.event = torch.cuda.Event()  # type: ignore[no-untyped-call]
            self.event.record()
        else:
            self.flags = flags

    def finite(self) -> bool:
        if self.event is not None:
            self.event.synchronize()
        return bool(self.flags.all())


def _unwrap(model: nn.Module) -> nn.Module:
    """The user's model inside DDP/DataParallel and ``torch.compile`` wrappers."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = cast(nn.Module, model.module)
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = cast(nn.Module, model._orig_mod)
        else:
            return model


def _candidates(model: nn.Module) -> list[_Target]:
    """Every weight with at least 2 dims, parametrized ones under their plain name (``layer.weight``)."""
    out = []
    for module_name, module in model.named_modules():
        if isinstance(module, parametrize.ParametrizationList):
            continue
        attrs = [n for n, p in module.named_parameters(recurse=False) if p.dim() >= 2]
        if parametrize.is_parametrized(module):
            attrs += [n for n in module.parametrizations if getattr(module, n).dim() >= 2]
        for attr in attrs:
            out.append(_Target(f"{module_name}.{attr}" if module_name else attr, module, attr))
    return out


def _matches(target: _Target, selector: Selector) -> bool:
    if isinstance(selector, str):
        module_name = target.name.rsplit(".", 1)[0] if "." in target.name else ""
        return fnmatch.fnmatchcase(target.name, selector) or fnmatch.fnmatchcase(module_name, selector)
    if isinstance(selector, (type, tuple)):
        return isinstance(target.module, selector)
    if callable(selector):
        return bool(selector(target.name, target.module))
    raise TypeError(
        f"a selector must be a name pattern, a module type or a predicate (name, module) -> bool, got {selector!r}"
    )


def _as_list(selectors: Selector | Sequence[Selector] | None) -> list[Selector]:
    if selectors is None:
        return []
    is_type_tuple = isinstance(selectors, tuple) and all(isinstance(s, type) for s in selectors)
    if isinstance(selectors, (list, tuple)) and not is_type_tuple:
        return list(selectors)
    return [cast(Selector, selectors)]  # one selector; _matches rejects what is not one


def _select(
    model: nn.Module,
    include: Selector | Sequence[Selector] | None,
    exclude: Selector | Sequence[Selector] | None,
) -> list[_Target]:
    candidates = _candidates(model)
    includes, excludes = _as_list(include), _as_list(exclude)
    if includes:
        chosen = [t for t in candidates if any(_matches(t, s) for s in includes)]
    else:
        chosen = [t for t in candidates if is_layer_weight(t.name, t.tensor(), t.module)]
    chosen = [t for t in chosen if not any(_matches(t, s) for s in excludes)]
    if not chosen:
        names = [t.name for t in candidates]
        raise ValueError(
            f"no weight selected (include={include!r}, exclude={exclude!r}); weights with >= 2 dims in this "
            f"model: {names}"
        )
    return chosen


def _find_classifier(targets: list[_Target], classifier: str | None) -> str | None:
    if classifier is None:
        return None
    if classifier == "auto":
        linears = [t.name for t in targets if isinstance(t.module, nn.Linear)]
        return linears[-1] if linears else None
    for t in targets:
        if classifier in (t.name, t.name.rsplit(".", 1)[0]):
            return t.name
    raise ValueError(
        f"classifier={classifier!r} is not among the regularized weights {[t.name for t in targets]}; "
        "pass one of them, 'auto' or None"
    )
