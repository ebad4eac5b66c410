"""The oracle and the comparison functions, as the answers package uses them (one import point)."""

from __future__ import annotations

from ....engine.compare import (
    Diagnosis,
    Tolerance,
    diagnose,
    fit_scale_law,
    format_factor,
    is_close,
    law_text,
    shape_text,
)
from ..oracle import (
    ACTIVATIONS,
    THEORY_LOSSES,
    backpropagate,
    theory_forward,
    theory_jacobians,
    theory_loss,
    theory_param_grads,
    to_layout,
)
from ..scale_stories import explain as explain_scale

__all__ = [
    "ACTIVATIONS",
    "THEORY_LOSSES",
    "backpropagate",
    "Diagnosis",
    "Tolerance",
    "diagnose",
    "explain_scale",
    "fit_scale_law",
    "format_factor",
    "is_close",
    "law_text",
    "shape_text",
    "theory_forward",
    "theory_jacobians",
    "theory_loss",
    "theory_param_grads",
    "to_layout",
]
