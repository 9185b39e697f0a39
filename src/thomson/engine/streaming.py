"""Exact pairwise reduction over tiles of the Gram matrix, with the gradient accumulated in the same pass.

Rows are split into blocks of ``tile`` rows. For every pair of blocks ``I <= J`` (the Gram matrix is symmetric,
so the lower tiles are never formed) the tile of cosines ``C = X_I X_Jᵀ`` is computed once, the kernel gives the
pair terms ``h(C)`` and their derivatives ``h'(C)`` (``h = f``, or ``h(c) = f(c) + f(-c)`` in half space), and

    value += a Σ h(C)               G_I += a h'(C) X_J        G_J += a h'(C)ᵀ X_I

with ``a = 1`` (``a = 2`` in half space: every pair of ``[x; -x]`` appears twice); a diagonal tile ``I = J``
counts its off-diagonal entries once and adds the half-space self pairs ``f(-c_ii)`` (each row against its own
negation). ``G = ∂value/∂X`` is accumulated during the forward pass and saved for the backward pass.

Why in the forward: recomputing in the backward would form every Gram tile and evaluate the kernel a second time
(4 instead of 3 tile-sized matrix products per block pair); the saved gradient has the shape of the input, so
memory stays ``O(N·D + tile²)``. Under ``torch.no_grad()`` (or an input that needs no gradient) only the value is
computed. Second derivatives (``create_graph=True``) recompute the gradient densely, with autograd. With
``tile >= N`` there is one tile: the dense evaluation (one ``N×N`` Gram, one ``N×N`` matrix of
derivatives, ``G = h'(C) X``), the fastest for small ``N``; a batch of such sets whose cosines together exceed a
tile's (CoMHE's projections) is evaluated by slices of the batch, so that no temporary outgrows a tile (larger
ones are taken fresh from the system, page by page, at every call).

A diagonal tile evaluates the kernel on all its entries and then overwrites the diagonal's terms with 0 (a row
with itself is no pair; ``f(1)`` may be infinite: overwritten, not subtracted). In half space the diagonal holds
each row against its own negation, ``f(-c_ii)``, counted once: a large tile evaluates ``h`` on ``C`` and writes
``f(-c_ii)`` (evaluated apart) on the diagonal; a small one (up to :data:`FEW_COSINES`, where the number of
operations decides the time) evaluates ``f`` on ``[C | -C]`` (``n × 2n``), whose sum counts every pair ``i ≠ j``
twice and each ``f(-c_ii)`` once, and whose derivative matrix is ``f'(C) - f'(-C)``.

Several row sets (several layers) are one autograd node (:func:`streaming_pairwise_sums`): each pass
(:class:`~thomson.engine.batches.Group`: one set, or sets of one ``N`` stacked) is evaluated as above and the
values are returned as one tensor ``[L]``.

The walk is built from two entry points on blocks of rows, also used by schedules that hold the rows in several
places (:mod:`thomson.distributed`): :func:`diagonal_block` (the pairs within one block, by symmetric tiles) and
:func:`off_diagonal_block` (every pair between two blocks, with the gradients of either side).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any, cast

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

from thomson._validate import integer
from thomson.engine.batches import Group, stack_rows
from thomson.engine.normalization import Normalization
from thomson.kernels import Kernel

CPU_TILE = 512
"""Rows per tile on the CPU: the ``512×D`` blocks keep the matrix products near peak speed."""

CPU_TILE_SMALL_D = 256
"""Rows per tile on the CPU when ``D < 64``: the kernel's elementwise work dominates and a ``256×256`` tile
(256 KiB in float32) stays in a core's L2 cache."""

GPU_TILE = 4096
"""Rows per tile on an accelerator: large enough that each matrix product fills the device."""


FEW_COSINES = 1 << 13
"""In half space, tiles of up to this many cosines evaluate ``f`` on ``[C | -C]`` (fewest operations: small tiles
cost what their operations cost); larger ones ``f(c) + f(-c)`` fused on ``C`` (least arithmetic)."""


GRAM_BLOCK = 1 << 22
"""Cosines held at once by the scans that form whole rows of the Gram matrix (the closest pair of
:func:`~thomson.functional.min_separation` and of the solver's ``min_angle``, ``thomson inspect``'s mean |cos|)."""


def block_rows(n: int) -> int:
    """Rows of the Gram matrix of ``n`` rows that such a scan forms at once: ``GRAM_BLOCK // n``, at least 1."""
    return max(1, GRAM_BLOCK // n)


def tile_rows(device: torch.device, d: int = 64) -> int:
    """Rows per tile of the streaming backend on ``device`` for rows of dimension ``d``."""
    if device.type != "cpu":
        return GPU_TILE
    return CPU_TILE if d >= 64 else CPU_TILE_SMALL_D


def accumulator(shape: int, device: torch.device) -> Tensor:
    """Zeros to sum tile totals into: float64 (float32 where the device has no float64, as MPS)."""
    return torch.zeros(shape, dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)


def pair_terms(kernel: Kernel, c: Tensor, half_space: bool, grad: bool) -> tuple[Tensor, Tensor | None]:
    """The pair term ``h(c)`` and, when ``grad``, its derivative: ``f`` in full space, ``f(c) + f(-c)`` in half."""
    if half_space:
        return kernel.half_value_and_derivative(c) if grad else (kernel.half_value(c), None)
    return kernel.value_and_derivative(c) if grad else (kernel.value(c), None)


def _pair_tile(
    xi: Tensor, xj: Tensor, gi: Tensor | None, gj: Tensor | None, kernel: Kernel, half_space: bool, total: Tensor
) -> None:
    """Every pair of a row of ``xi`` and a row of ``xj`` (disjoint rows): ``total += a Σ h(C)``, and the gradients
    ``gi += a h'(C) xj``, ``gj += a h'(C)ᵀ xi`` of those given."""
    a = 2.0 if half_space else 1.0
    c = torch.bmm(xi, xj.mT)
    v, dv = pair_terms(kernel, c, half_space, gi is not None or gj is not None)
    total += v.sum((1, 2)) * a
    if dv is not None:
        if gi is not None:
            gi.baddbmm_(dv, xj, alpha=a)
        if gj is not None:
            gj.baddbmm_(dv.mT, xi, alpha=a)


def _zero_diagonal(m: Tensor) -> Tensor:
    """``m`` with the diagonal of its last two dims set to 0, in place."""
    if m.dim() == 2:
        return m.fill_diagonal_(0.0)
    m.diagonal(dim1=-2, dim2=-1).zero_()
    return m


def _diagonal_terms(
    c: Tensor, kernel: Kernel, half_space: bool, grad: bool, weight: float = 1.0
) -> tuple[Tensor, Tensor | None]:
    """The pairs within one block of rows from its cosines ``c: [..., n, n]``: ``weight`` times their sum, ``[...]``,
    and the matrix ``dv`` whose product ``a dv X`` is the sum's gradient (``a = 2`` in half space, else 1)."""
    # A row with itself is no pair: its entry is evaluated with the rest (f(1) may be infinite: no matter) and then
    # overwritten with 0, rather than subtracted (no cancellation). Kernels may return views of their input.
    if half_space and c.numel() <= FEW_COSINES:
        # f of the cosines with the other rows and with their negations, [c | -c]: each pair i ≠ j is counted twice
        # (which is a = 2), and each row against its own negation, f(-c_ii), once, as it should.
        n = c.shape[-1]
        v, dv = pair_terms(kernel, torch.cat([c, c.neg()], -1), False, grad)
        _zero_diagonal(v)  # of an n × 2n matrix: the first block's
        if dv is not None:
            dv = _zero_diagonal(dv)
            dv = dv[..., :n] - dv[..., n:]  # ∂f(-c)/∂c = -f'(-c)
    elif half_space:
        # h(c) = f(c) + f(-c) on every entry (each pair i ≠ j twice: a = 2), the diagonal overwritten with the row
        # against its own negation, f(-c_ii), evaluated first (kernels may return views of c).
        mirror = pair_terms(kernel, c.diagonal(dim1=-2, dim2=-1).neg(), False, grad)
        v, dv = pair_terms(kernel, c, True, grad)
        v.diagonal(dim1=-2, dim2=-1).copy_(mirror[0])
        if dv is not None and mirror[1] is not None:  # ∂f(-c_ii)/∂c_ii = -f'(-c_ii)
            dv.diagonal(dim1=-2, dim2=-1).copy_(mirror[1]).neg_()
    else:
        v, dv = pair_terms(kernel, c, False, grad)
        _zero_diagonal(v)
        if dv is not None:
            _zero_diagonal(dv)
        weight *= 0.5  # the symmetric tile counts each pair i < j twice
    value = v.sum((-2, -1))
    return (value if weight == 1.0 else value.mul_(weight)), dv


def _diagonal_tile(xi: Tensor, gi: Tensor | None, kernel: Kernel, half_space: bool, total: Tensor) -> None:
    """The pairs among the rows of ``xi`` (and, in half space, each row against its own negation)."""
    value, dv = _diagonal_terms(torch.bmm(xi, xi.mT), kernel, half_space, gi is not None)
    total += value
    if gi is not None and dv is not None:
        gi.baddbmm_(dv, xi, alpha=2.0 if half_space else 1.0)


def diagonal_block(x: Tensor, kernel: Kernel, half_space: bool, tile: int, g: Tensor | None) -> Tensor:
    """``Σ_{i<j} h(x_iᵀx_j)`` within the rows of ``x: [B, N, D]`` by symmetric tiles: the value ``[B]`` (in the
    accumulator's precision); its gradient is added to ``g: [B, N, D]`` when given."""
    n = x.shape[1]
    total = accumulator(x.shape[0], x.device)
    for i0 in range(0, n, tile):
        xi = x[:, i0 : i0 + tile]
        gi = None if g is None else g[:, i0 : i0 + tile]
        _diagonal_tile(xi, gi, kernel, half_space, total)
        for j0 in range(i0 + tile, n, tile):
            gj = None if g is None else g[:, j0 : j0 + tile]
            _pair_tile(xi, x[:, j0 : j0 + tile], gi, gj, kernel, half_space, total)
    return total


def off_diagonal_block(
    x: Tensor, y: Tensor, kernel: Kernel, half_space: bool, tile: int, gx: Tensor | None, gy: Tensor | None
) -> Tensor:
    """``Σ_{i,j} h(x_iᵀy_j)`` over every pair of a row of ``x: [B, N, D]`` and a row of ``y: [B, M, D]``.

    The block ``X Yᵀ`` of the Gram matrix of ``[x; y]`` (whose pair sum is ``diagonal_block(x)``,
    ``diagonal_block(y)`` and this), by tiles of ``tile × tile`` cosines: the value ``[B]`` (in the accumulator's
    precision); the gradients with respect to ``x`` and ``y`` are added to ``gx`` and ``gy``, those given.
    """
    n, m = x.shape[1], y.shape[1]
    total = accumulator(x.shape[0], x.device)
    for i0 in range(0, n, tile):
        gi = None if gx is None else gx[:, i0 : i0 + tile]
        for j0 in range(0, m, tile):
            gj = None if gy is None else gy[:, j0 : j0 + tile]
            _pair_tile(x[:, i0 : i0 + tile], y[:, j0 : j0 + tile], gi, gj, kernel, half_space, total)
    return total


def _graph_gradient(x: Tensor, kernel: Kernel, half_space: bool) -> Tensor:
    """``∂value/∂x`` as differentiable operations on the dense ``N×N`` cosines, for second derivatives."""
    c = x @ x.mT
    eye = torch.eye(x.shape[-2], dtype=torch.bool, device=x.device)
    off = torch.where(eye, 0.0, c)  # no kernel at c_ii (f'(1) may be infinite, and 0·∞ in the double backward)
    slope = kernel.derivative(off)
    if not half_space:
        return torch.where(eye, 0.0, slope) @ x
    self_slope = -kernel.derivative(-c.diagonal(dim1=-2, dim2=-1))
    slope = torch.where(eye, torch.diag_embed(self_slope), slope - kernel.derivative(-off))
    return 2.0 * slope @ x


def _product(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for ``[..., N, K] @ [..., K, M]``, by the product with the least fixed cost for its rank."""
    if a.dim() == 2:
        return torch.mm(a, b)
    return torch.bmm(a, b) if a.dim() == 3 else torch.matmul(a, b)


def _value_and_gradient(
    x: Tensor, kernel: Kernel, half_space: bool, tile: int, normalize: Normalization | None, weight: float, grad: bool
) -> tuple[Tensor, Tensor | None]:
    """``weight · Σ_{i<j} h(c_ij)`` over ``x: [..., N, D]`` (``[...]``, ``x``'s dtype) and, when ``grad``, its
    gradient with respect to ``x`` (through the normalization when one is given)."""
    n, d = x.shape[-2:]
    sets = x.numel() // max(n * d, 1)
    if n <= tile and sets > 1 and sets * n * n > tile * tile:
        # Dense sets whose cosines together exceed a tile's, by slices of the batch: no temporary outgrows a tile
        # (larger ones come fresh from the system, page by page, at every call).
        rows, step = x.reshape(-1, n, d), max(1, tile * tile // (n * n))
        parts = [
            _value_and_gradient(rows[i : i + step], kernel, half_space, tile, normalize, weight, grad)
            for i in range(0, sets, step)
        ]
        value = torch.cat([v for v, _ in parts]).reshape(x.shape[:-2])
        return value, torch.cat([cast(Tensor, g) for _, g in parts]).view(x.shape) if grad else None
    unit, scale = (x, None) if normalize is None else normalize.apply(x)
    factor = weight  # what the gradient still has to be multiplied by
    g: Tensor | None = None
    if n <= tile:  # one tile: the dense evaluation, in as few operations as possible
        value, dv = _diagonal_terms(_product(unit, unit.mT), kernel, half_space, grad, weight)
        if dv is not None:
            g = _product(dv, unit)
            factor *= 2.0 if half_space else 1.0
    else:
        rows = unit.reshape(-1, n, d)
        g = torch.zeros_like(rows) if grad else None
        value = (diagonal_block(rows, kernel, half_space, tile, g) * weight).to(x.dtype).reshape(x.shape[:-2])
        g = None if g is None else g.view(x.shape)
    if g is not None:
        if normalize is not None:
            assert scale is not None
            g = normalize.backward(g, unit, scale if factor == 1.0 else scale * factor, inplace=True)
        elif factor != 1.0:
            g = g.mul_(factor)
    return value, g


def _group_rows(sets: tuple[Tensor, ...], group: Group) -> Tensor:
    """The rows a group's pass reduces: its one set, or its sets stacked ``[B, N, max D]``."""
    if len(group.members) == 1:
        return sets[group.members[0]]
    return stack_rows([sets[i] for i in group.members])


def _differentiable_gradient(x: Tensor, kernel: Kernel, normalize: Normalization | None, group: Group) -> Tensor:
    """``∂value/∂x`` for a group's rows as differentiable dense operations (second derivatives, ``O(N²)`` memory)."""
    unit = x if normalize is None else normalize.normalize(x)
    g = _graph_gradient(unit, kernel, group.half_space) * group.weight
    return g if normalize is None else normalize.backward(g, unit, normalize.scale(x))


class _PairwiseSums(torch.autograd.Function):
    """The pairwise sums of several row sets, by groups (:class:`Group`), as one autograd node: one value per set
    (``[L]``; the value's shape ``[...]`` for one set ``[..., N, D]``), each gradient computed in the forward pass.

    The first backward scales those gradients in place and hands them over (no copy of the rows); a further
    backward through the same graph (``retain_graph=True``) walks the tiles again. A second derivative
    (``create_graph=True``, e.g. a look-ahead step through the energy) recomputes the gradients with
    differentiable dense operations: exact, but ``O(N²)`` memory.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, kernel: Kernel, normalize: Normalization | None, groups: tuple[Group, ...], *sets: Tensor
    ) -> Tensor:
        grad = any(ctx.needs_input_grad[3:])  # type: ignore[attr-defined]
        device = sets[0].device.type
        with torch.autocast(device, enabled=False) if torch.is_autocast_enabled(device) else nullcontext():
            results = [
                _value_and_gradient(_group_rows(sets, g), kernel, g.half_space, g.tile, normalize, g.weight, grad)
                for g in groups
            ]
        ctx.save_for_backward(*sets)
        ctx.g, ctx.settings = [g for _, g in results], (kernel, normalize, groups)  # type: ignore[attr-defined]
        if len(sets) == 1:
            return results[0][0]
        parts = [v if v.dim() == 1 else v.reshape(-1) for v, _ in results]
        values = parts[0] if len(parts) == 1 else torch.cat(parts)
        order = [i for g in groups for i in g.members]
        return values if order == sorted(order) else values[torch.tensor(order, device=values.device).argsort()]

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        sets: tuple[Tensor, ...] = ctx.saved_tensors
        kernel, normalize, groups = ctx.settings
        gs, ctx.g = ctx.g, None
        grads: list[Tensor | None] = [None, None, None, *([None] * len(sets))]
        device = sets[0].device.type
        for k, group in enumerate(groups):
            members = group.members
            if len(sets) == 1:
                scale = grad_out.reshape((*grad_out.shape, 1, 1))
            elif len(members) == 1:
                scale = grad_out[members[0]]
            elif members[-1] - members[0] == len(members) - 1:  # consecutive sets
                scale = grad_out[members[0] : members[-1] + 1].reshape(-1, 1, 1)
            else:
                scale = grad_out[list(members)].reshape(-1, 1, 1)
            if torch.is_grad_enabled():  # create_graph=True: the gradient must itself be differentiable
                with torch.autocast(device, enabled=False):
                    g = _differentiable_gradient(_group_rows(sets, group), kernel, normalize, group) * scale
            else:
                saved = None if gs is None else gs[k]
                if saved is None:  # a repeated backward: the gradient was handed over the first time
                    with torch.autocast(device, enabled=False):
                        x = _group_rows(sets, group).detach()
                        _, saved = _value_and_gradient(
                            x, kernel, group.half_space, group.tile, normalize, group.weight, True
                        )
                    assert saved is not None
                g = saved.mul_(scale)
            if len(members) == 1:
                grads[3 + members[0]] = g
            else:
                for i, gi in zip(members, g.unbind(0), strict=True):
                    d = sets[i].shape[-1]
                    grads[3 + i] = gi if d == gi.shape[-1] else gi[:, :d]
        return tuple(grads)


def streaming_pairwise_sums(
    sets: Sequence[Tensor], kernel: Kernel, groups: Sequence[Group], *, normalize: Normalization | None = None
) -> Tensor:
    """The pairwise sums of several row sets in one autograd node, ``[L]``, by the passes ``groups`` describe (each
    set in exactly one); :func:`thomson.engine.pairwise_sums` chooses the groups."""
    values: Tensor = _PairwiseSums.apply(kernel, normalize, tuple(groups), *sets)  # type: ignore[no-untyped-call]
    return values


def streaming_pairwise_sum(
    x: Tensor,
    kernel: Kernel,
    *,
    half_space: bool = False,
    tile: int | None = None,
    normalize: Normalization | None = None,
    weight: float = 1.0,
) -> Tensor:
    """``weight · Σ_{i<j} f(x̂_iᵀx̂_j)`` over the rows of ``x: [..., N, D]`` by tiles of ``tile`` rows; shape ``[...]``.

    Exact (equal to the one-tile evaluation to round-off), ``O(N·D + tile²)`` memory (second derivatives are
    supported too, in ``O(N²)`` memory).
    Leading dimensions are independent sets of rows (one reduction each, e.g. several projections of a layer).

    Args:
        x: rows ``[..., N, D]``.
        kernel: the pair term, a :class:`~thomson.kernels.Kernel`.
        half_space: reduce over ``[x; -x]`` (from the ``N×N`` cosines). Default False.
        tile: rows per tile; ``tile >= N`` is the dense evaluation. Default ``tile_rows(x.device, D)``.
        normalize: ``x̂ = x`` when None (rows already normalized); else the rows are scaled so (a
            :class:`~thomson.engine.normalization.Normalization`) in the same pass, and the gradient is with
            respect to the raw rows. Default None.
        weight: multiplies the value and its gradient (e.g. ``1/#pairs`` for a mean) at no cost. Default 1.

    Example:
        >>> from thomson.kernels import Riesz
        >>> x = torch.eye(5, dtype=torch.float64)
        >>> round(float(streaming_pairwise_sum(x, Riesz(s=2), tile=2)), 9)   # 10 pairs at chord √2: 10 × 1/2
        5.0
    """
    if tile is None:
        tile = tile_rows(x.device, x.shape[-1])
    integer("tile", tile, low=1)
    return streaming_pairwise_sums([x], kernel, [Group((0,), half_space, weight, tile)], normalize=normalize)
