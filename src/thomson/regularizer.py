"""``Regularizer``: attach an objective to the layers of any PyTorch model, with a per-layer breakdown."""

from __future__ import annotations

import fnmatch
import math
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn, cast

import torch
from torch import Tensor, nn

from thomson._validate import coefficient, real
from thomson.layers import LAYER_TYPES, Target, candidates, layer_targets
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


class Regularizer(nn.Module):
    """Sum of an objective over the layers of a model, weighted by per-layer coefficients.

        R = Σ_{hidden layers l} coef(t) · objective(W_l)  +  classifier_coef(t) · objective(W_cls)

    By default every ``Linear``, ``Conv1d/2d/3d`` and transformers ``Conv1D`` weight is regularized, each tensor
    once (tied weights too), its neurons read in its layout (``weight.flatten(1)``; ``weight.T`` for ``Conv1D``;
    an old-style ``weight_norm``/``spectral_norm`` weight as computed from its parameters) — the rule of
    :mod:`thomson.layers`, which ``thomson inspect`` and the training log share. Left out by default: embeddings
    and weights tied to them (a language model's output layer), and layers whose neurons have one input
    (``D = 1``: only two directions; a warning names them).

    The classifier gets ``classifier_coef`` and is evaluated with ``classifier=True`` (no half-space), as in the
    papers' code. With ``classifier="auto"`` it is the head the model declares (timm's ``get_classifier()`` or
    ``pretrained_cfg["classifier"]``, a ``Linear`` or a 1×1 ``Conv``; none for a model built without one,
    ``num_classes=0``), else the model's last ``Linear`` — if it is regularized and not tied to an input
    embedding. A vocabulary-size output layer is left to :func:`~thomson.functional.minibatch_class_energy`
    (the batch's classes) or :func:`~thomson.functional.estimate_energy` (sampled rows).

    Call it each training step and add the result to the loss; ``stats`` then holds that step's per-layer
    values (before coefficients) as plain floats for logging. Its own state (the step counter, the
    objective's auxiliary tensors) is in ``state_dict()``; the model is not.

    Args:
        model: any ``nn.Module``; a DDP/DataParallel wrapper or a ``torch.compile`` result is unwrapped.
        objective: an :class:`~thomson.objectives.Objective`, e.g. ``thomson.MHE(s=2, half_space=True)``.
        coef: hidden-layer coefficient, a number or a function of the step. Default: ``objective.coef``.
        classifier_coef: the classifier's coefficient. Default: ``objective.classifier_coef``.
        include: selectors of the weights to regularize, replacing the default set; any tensor with at
            least 2 dims can be named (a tensor shared by several modules by any of its names). Default None
            (every default layer, see above).
        exclude: selectors of weights to leave out. Default None. Each selector of ``include`` and ``exclude``
            must match some weight with at least 2 dims, else ValueError listing them.
        classifier: ``"auto"`` (above), the name of a selected weight or module, or None for no classifier.
            Default ``"auto"``.
        depthwise: regularize depthwise convolutions (one input channel per group, ``[N, 1, *kernel]``: each
            neuron a single spatial kernel). Default True.
        split_qkv: treat a fused attention projection ``[q; k; v]`` as three layers, ``name[q]``, ``name[k]``,
            ``name[v]``, each a third of its neurons: selectors of such weights, or True for
            :data:`FUSED_QKV` (timm's ``attn.qkv``, GPT-2's ``attn.c_attn``, ``nn.MultiheadAttention``'s
            ``in_proj_weight``). Default False (one layer of ``3·D`` neurons).
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
        depthwise: bool = True,
        split_qkv: bool | Selector | Sequence[Selector] = False,
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
        model = _unwrap(model)
        if not isinstance(depthwise, bool):
            raise TypeError(f"depthwise must be True or False, got {depthwise!r}")
        found = candidates(model)
        targets = _split(_select(found, layer_targets(model), include, exclude, depthwise), split_qkv)
        targets = _mark_classifier(model, found, targets, classifier)
        self.classifier: str | None = next((t.name for t in targets if t.classifier), None)
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
    def targets(self) -> list[Target]:
        """The regularized sets of neurons, in model order: each with its name, module, layout, whether it is the
        classifier, and ``rows()``, the ``[N, D]`` rows the objective sees (:class:`thomson.layers.Target`)."""
        return list(self._targets)

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
        total = torch.dot(values, self._coefficient_vector(hidden, classifier, values))
        self._last = values.detach()
        if self.check_finite:
            self._check_finite(total, self._last, step)
        if self.training and step is None:
            self.step.add_(1)
        return total

    def _coefficients(self, step: int | None) -> tuple[float, float]:
        """The coefficients now; the step is read (on the host) only when one of them is a function of it."""
        hidden, classifier = self.coef, self.classifier_coef
        if not callable(hidden) and not callable(classifier):
            return hidden, classifier
        t = int(self.step) if step is None else step
        return _current("coef", self.coef, t), _current("classifier_coef", self.classifier_coef, t)

    def _values(self) -> Tensor:
        """Each target's value, in order, ``[L]``, from one call of the objective (the sharded classifier's apart)."""
        targets = self._targets
        rows = [t.rows() for t in targets]
        flags = [t.classifier for t in targets]
        sharded = None
        if self.classifier_group is not None and self.classifier is not None:
            sharded = flags.index(True)
        chosen = [i for i in range(len(targets)) if i != sharded]
        try:
            values = (
                self.objective.forward_many(
                    [rows[i] for i in chosen],
                    layers=[targets[i].name for i in chosen],
                    classifiers=[flags[i] for i in chosen],
                )
                if chosen
                else rows[0].new_zeros(0)
            )
            if sharded is not None:
                shard = self._sharded_value(rows[sharded]).reshape(1).to(values)
                values = torch.cat([values[:sharded], shard, values[sharded:]])
        except (ValueError, TypeError, RuntimeError) as error:
            self._raise_on_layer(error, rows, flags)
        return values

    def _raise_on_layer(self, error: Exception, rows: list[Tensor], flags: list[bool]) -> NoReturn:
        """Raise ``error`` naming the layer: the first one on which the objective alone raises."""
        objective = type(self.objective).__name__
        for target, weight, is_classifier in zip(self._targets, rows, flags, strict=True):
            try:
                if is_classifier and self.classifier_group is not None:
                    self._sharded_value(weight)
                else:
                    self.objective(weight, layer=target.name, classifier=is_classifier)
            except (ValueError, TypeError, RuntimeError) as layer_error:
                raise _on_layer(layer_error, objective, target.name, weight) from layer_error
        raise _on_layer(error, objective, ", ".join(self.layers), rows[0]) from error

    def _sharded_value(self, shard: Tensor) -> Tensor:
        """The objective of the classifier whose rows are sharded over ``classifier_group`` (this rank's ``shard``)."""
        from thomson.distributed.objective import sharded_objective

        return sharded_objective(self.objective, shard, group=self.classifier_group)

    def _coefficient_vector(self, hidden: float, classifier: float, like: Tensor) -> Tensor:
        """``[L]``: each layer's coefficient, on ``like``'s device and dtype (kept while the coefficients are)."""
        key = (hidden, classifier, like.dtype, like.device)
        if not torch.compiler.is_compiling() and self._vector is not None and self._vector[0] == key:
            return self._vector[1]
        vector = torch.tensor(
            [classifier if t.classifier else hidden for t in self._targets],
            dtype=like.dtype,
            device=like.device,
        )
        if not torch.compiler.is_compiling():
            self._vector = (key, vector)
        return vector

    def _check_finite(self, total: Tensor, values: Tensor, step: int | None) -> None:
        if total.device.type != "cpu":  # read at the next call or with the stats, by when the device has finished
            self._pending = _Pending(values, self.step.clone() if step is None else step)
        elif torch.compiler.is_compiling():  # an assertion in the graph (on an accelerator it would end the process)
            finite = torch.isfinite(values)
            for i, name in enumerate(self.layers):
                torch._assert_async(finite[i], _non_finite_message([name]))
        elif not math.isfinite(total.item()):  # in host memory: reading it waits for nothing
            self._raise_non_finite(values, self.step if step is None else step)

    def _check_pending(self) -> None:
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        if not torch.compiler.is_compiling() and not pending.finite():
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


class _Pending:
    """Per-layer finiteness of one call's values, on its way to the host without stopping the device."""

    def __init__(self, values: Tensor, step: int | Tensor) -> None:
        self.values, self.step = values, step
        flags = torch.isfinite(values)
        self.event = None
        if flags.device.type == "cuda" and not torch.compiler.is_compiling():
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


def _matches(target: Target, selector: Selector) -> bool:
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
    candidates: list[Target],
    default: list[Target],
    include: Selector | Sequence[Selector] | None,
    exclude: Selector | Sequence[Selector] | None,
    depthwise: bool,
) -> list[Target]:
    includes, excludes = _as_list(include), _as_list(exclude)
    for kind, selectors in (("include", includes), ("exclude", excludes)):
        for selector in selectors:
            if not any(_matches(t, selector) for t in candidates):
                raise ValueError(
                    f"no weight selected by {kind} {_describe(selector)}: it matches none of this model's weights "
                    f"with >= 2 dims, which are {[t.name for t in candidates]}"
                )
    chosen = [t for t in candidates if any(_matches(t, s) for s in includes)] if includes else default
    chosen = [t for t in chosen if not any(_matches(t, s) for s in excludes)]
    chosen = _once(chosen)
    if not depthwise:
        chosen = [t for t in chosen if not _is_depthwise(t.module)]
    if not includes:
        flat = [t.name for t in chosen if t.rows().shape[1] == 1]
        if flat:
            warnings.warn(
                f"layers {flat} are left out: their neurons have one input (D = 1), so their directions are only "
                "±1 and the objective would dominate the loss; name them in include=... to regularize them",
                stacklevel=3,
            )
            chosen = [t for t in chosen if t.name not in flat]
    if not chosen:
        raise ValueError(
            f"no weight selected (include={include!r}, exclude={exclude!r}); weights with >= 2 dims in this "
            f"model: {[t.name for t in candidates]}"
        )
    return chosen


def _once(targets: list[Target]) -> list[Target]:
    """Each stored tensor once (tied weights), under its first name."""
    first: dict[object, Target] = {}
    for target in targets:
        first.setdefault(target.source(), target)
    return list(first.values())


def _describe(selector: Selector) -> str:
    if isinstance(selector, type):
        return selector.__name__
    if isinstance(selector, tuple):
        return "(" + ", ".join(s.__name__ for s in selector) + ")"
    return repr(selector)


def _is_depthwise(module: nn.Module) -> bool:
    """A convolution with one input channel per group (``groups == in_channels > 1``): rows are single kernels."""
    groups = getattr(module, "groups", 1)
    return isinstance(module, LAYER_TYPES[1:]) and groups > 1 and groups == getattr(module, "in_channels", 0)


FUSED_QKV: tuple[str, ...] = ("*.qkv", "*.attn.c_attn", "*in_proj_weight")
"""The weights ``split_qkv=True`` splits: timm's attention ``qkv``, GPT-2's self-attention ``c_attn`` (not its
cross-attention, whose ``c_attn`` holds only k and v), ``nn.MultiheadAttention``'s ``in_proj_weight``; each
stacks the q, k and v projections as three equal blocks of output neurons."""


def _split(targets: list[Target], split_qkv: bool | Selector | Sequence[Selector]) -> list[Target]:
    """Each fused q, k, v weight named by ``split_qkv`` as three targets, its three equal blocks of rows."""
    if split_qkv is False:
        return targets
    selectors = list(FUSED_QKV) if split_qkv is True else _as_list(split_qkv)
    if split_qkv is not True:
        for selector in selectors:
            if not any(_matches(t, selector) for t in targets):
                raise ValueError(
                    f"split_qkv {_describe(selector)} matches none of the regularized weights "
                    f"{[t.name for t in targets]}"
                )
    out = []
    for target in targets:
        if not any(_matches(target, s) for s in selectors):
            out.append(target)
            continue
        n = target.rows().shape[0]
        if n % 3:
            raise ValueError(
                f"split_qkv: {target.name!r} has {n} neurons, not a multiple of 3, so it is not a fused q, k, v "
                "weight; name only fused weights in split_qkv"
            )
        out += [replace(target, name=f"{target.name}[{p}]", part=(i, 3)) for i, p in enumerate("qkv")]
    return out


def _declared_heads(model: nn.Module) -> list[nn.Module] | None:
    """The classifier modules a model declares (timm: ``get_classifier()``, else ``pretrained_cfg["classifier"]``),
    or None when it declares none. A model without a head declares ``nn.Identity``."""
    get_classifier = getattr(model, "get_classifier", None)
    if callable(get_classifier):
        try:
            heads = get_classifier()
        except TypeError:  # a method of another meaning, which takes arguments
            heads = None
        heads = list(heads) if isinstance(heads, (tuple, list)) else [heads]
        if heads and all(isinstance(h, nn.Module) for h in heads):
            return heads
    config = getattr(model, "pretrained_cfg", None)
    names = config.get("classifier") if isinstance(config, Mapping) else None
    if isinstance(names, str):
        names = (names,)
    if isinstance(names, (tuple, list)) and all(isinstance(n, str) for n in names):
        found = []
        for name in names:
            try:
                found.append(model.get_submodule(name))
            except AttributeError:
                continue
        return found
    return None


def _mark_classifier(
    model: nn.Module, candidates: list[Target], targets: list[Target], classifier: str | None
) -> list[Target]:
    if classifier is None:
        return targets
    if classifier == "auto":
        declared = _declared_heads(model)
        heads = declared if declared is not None else [m for m in model.modules() if isinstance(m, nn.Linear)][-1:]
        holders = Counter(t.source() for t in candidates)
        names = {
            t.name
            for t in targets
            if t.attr == "weight" and t.part is None and holders[t.source()] == 1 and any(t.module is h for h in heads)
        }
    else:
        named = {t.source() for t in candidates if classifier in (t.name, t.name.rsplit(".", 1)[0])}
        # the first regularized weight of that name, or the name of a tied tensor's other holder
        names = {t.name for t in targets if classifier in (t.name, t.name.rsplit(".", 1)[0])}
        names |= {t.name for t in targets if t.part is None and t.source() in named}
        names = {next(t.name for t in targets if t.name in names)} if names else names
        if not names:
            raise ValueError(
                f"classifier={classifier!r} is not among the regularized weights {[t.name for t in targets]}; "
                "pass one of them, 'auto' or None"
            )
    return [replace(t, classifier=True) if t.name in names else t for t in targets]
