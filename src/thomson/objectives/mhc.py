"""MHC: minimum hyperspherical covering (Liu et al., AISTATS 2021)."""

from __future__ import annotations

from torch import Tensor

from thomson._validate import real
from thomson.functional.covering import MHC_GAMMA, soft_distance
from thomson.objectives.base import LearningRate
from thomson.objectives.poles import PoleGame
from thomson.objectives.registry import register_objective


@register_objective("mhc")
class MHC(PoleGame):
    """Minimum hyperspherical covering: shrink the largest hole among a layer's neurons.

        min_W max_v S(v; W),   S(v; W) = -(1/γ) log( (1/N) Σ_i exp(-γ |v̂ - ŵ_i|²) ),   γ = 10

    ``S`` is a soft distance from ``v`` to the nearest neuron; its maximum over the sphere is a soft covering
    radius. A learnable pole per layer maximizes ``S`` (it moves to the centre of the largest hole it can
    reach) while the network minimizes ``S`` at the pole, covering that hole. See
    :func:`thomson.functional.covering` and :class:`~thomson.objectives.poles.PoleGame` for the poles
    (10 momentum-0.9 SGD steps per training call, weight decay 5e-4, learning rate ``inner_lr``, kept in
    the ``state_dict``). Half-space on hidden layers, never on the classifier.

    ``reference=True`` reproduces the Sphere-Uniformity code: neurons ε-normalized twice and the pole once
    (ε = 1e-4), poles drawn from N(0, 1) with their objective weighted by the layer's coefficient; its
    poles learn at the network's learning rate (pass ``inner_lr=lambda: lr_now``). The default normalizes
    exactly and plays the poles as :class:`~thomson.objectives.poles.PoleGame` describes. The paper's
    coefficients: 0.01 hidden, 0.1 classifier.

    Args:
        gamma: sharpness γ > 0 of the soft minimum. Default 10 (the reference).
        half_space: use ``[W; -W]`` on hidden layers. Default True (the reference).
        poles, inner_steps, inner_lr, momentum, weight_decay: the poles, as :class:`~thomson.MHP`.
        reference: the reference code's constants. Default False.

    Example:
        >>> import torch, thomson
        >>> mhc = thomson.MHC(poles=4)
        >>> value = mhc(torch.randn(16, 8), layer="fc")
        >>> tuple(mhc.state_dict()["fc:poles"].shape)
        (4, 8)
    """

    coef = 0.01
    classifier_coef = 0.1

    def __init__(
        self,
        gamma: float = MHC_GAMMA,
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
        self.gamma = real("gamma", gamma, low=0.0, strict=True)

    def payoff(self, cosines: Tensor) -> Tensor:
        return soft_distance(cosines, gamma=self.gamma)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma:g}, {super().extra_repr()}"
