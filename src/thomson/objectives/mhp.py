"""MHP: maximum hyperspherical polarization (Liu et al., AISTATS 2021)."""

from __future__ import annotations

from torch import Tensor

from thomson._validate import real
from thomson.functional.polarization import potential
from thomson.objectives.base import LearningRate
from thomson.objectives.poles import PoleGame
from thomson.objectives.registry import register_objective


@register_objective("mhp")
class MHP(PoleGame):
    """Maximum hyperspherical polarization: raise the potential of a layer's neurons at its weakest point.

        max_W min_v P(v; W),   P(v; W) = (1/N) Σ_i f_s(|v̂ - ŵ_i|),   f_2(z) = z⁻² = 1/(2 - 2 v̂ᵀŵ_i)

    A learnable pole ``v`` per layer minimizes ``P`` (it seeks the point of the sphere where the neurons'
    potential is lowest, the polarization's weak spot) while the network minimizes ``-P(v; W)``, raising
    the potential there, which spreads the neurons. See :func:`thomson.functional.polarization` for ``P``
    and :class:`~thomson.objectives.poles.PoleGame` for the poles: ``inner_steps`` = 10 momentum-0.9 SGD
    steps per training call with weight decay 5e-4 and learning rate ``inner_lr``, kept in the
    objective's ``state_dict``. Half-space (``[W; -W]``) on hidden layers, never on the classifier. (With
    half-space and ``N < D`` a direction orthogonal to every neuron has the potential ``f(0)`` of either
    sign, so such layers get almost no gradient.)

    ``reference=True`` reproduces the Sphere-Uniformity code's per-layer value and pole updates: neurons
    ε-normalized twice and the pole once (ε = 1e-4), no cosine contraction, poles drawn from N(0, 1), their
    objective weighted by the layer's coefficient. The reference's poles learn at the network's current
    learning rate: pass ``inner_lr=lambda: opt.param_groups[0]["lr"]`` to follow a schedule (0.1, the
    reference's initial rate, is the default). The default normalizes exactly, contracts cosines by
    ``1 - 1e-6`` (a pole on a neuron gives a finite value) and plays the poles as described in
    :class:`~thomson.objectives.poles.PoleGame` (unit-sphere start, 100 warm-up steps, unweighted).

    The paper's coefficients: 1 for hidden layers, 10 for the classifier. The pull on each neuron scales as
    ``coef/N``: for a classifier with few classes (the paper's has 100) use a smaller one.

    Args:
        s: Riesz exponent of the potential, any real number. Default 2 (the reference).
        half_space: use ``[W; -W]`` on hidden layers. Default True (the reference).
        poles: poles per layer. Default 1 (the reference).
        inner_steps: pole steps per training call. Default 10.
        inner_lr: the poles' learning rate, a number or a function returning it. Default 0.1.
        momentum: the poles' momentum. Default 0.9.
        weight_decay: the poles' weight decay. Default 5e-4.
        reference: the reference code's constants. Default False.

    Example:
        >>> import torch, thomson
        >>> mhp = thomson.MHP(reference=True)
        >>> value = mhp(torch.randn(64, 3, 3, 3), layer="conv1")  # 10 pole steps, then -P at the pole
        >>> sorted(mhp.state_dict())
        ['conv1:pole_momentum', 'conv1:poles']
    """

    coef = 1.0
    classifier_coef = 10.0

    def __init__(
        self,
        s: float = 2.0,
        half_space: bool = True,
        *,
        poles: int = 1,
        inner_steps: int = 10,
        inner_lr: LearningRate = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        reference: bool = False,
    ) -> None:
        super().__init__(
            half_space=half_space,
            poles=poles,
            inner_steps=inner_steps,
            inner_lr=inner_lr,
            momentum=momentum,
            weight_decay=weight_decay,
            reference=reference,
        )
        self.s = real("s", s)

    def payoff(self, cosines: Tensor) -> Tensor:
        return -potential(cosines, s=self.s, reference=self.reference)

    def extra_repr(self) -> str:
        return f"s={self.s:g}, {super().extra_repr()}"
