"""Attach a :class:`~thomson.Regularizer` to a training framework in two or three lines, with its state in the
framework's checkpoints, its gradient added once per optimizer step, and its values in the framework's logs.

One module per stack, each importable only when its package is installed (``pip install "thomson[integrations]"``):

=====================================  ==========================================================================
module                                 gives
=====================================  ==========================================================================
``thomson.integrations.lightning``     ``RegularizerCallback(regularizer)``, a Lightning ``Callback``
``thomson.integrations.hf``            ``RegularizerCallback(regularizer)``, a transformers ``TrainerCallback``
                                       (and ``RegularizerTrainerMixin`` for ``report_to`` loggers)
``thomson.integrations.pml``           ``WeightRegularizer(objective)``, a pytorch-metric-learning weight
                                       regularizer (rows: class centres)
=====================================  ==========================================================================

timm needs no module: ``Regularizer`` finds a timm model's classifier from ``get_classifier()``. ``import thomson``
imports none of these. Recipes: ``docs/integrations.md``.
"""
