"""The grading engine's oracle and comparison functions, as the answers package uses them.

The only place this package imports `grader.oracle` and `grader.compare`: when those modules
move, only these re-exports change.
"""

from __future__ import annotations

from grader.compare import (
    Diagnosis,
    Tolerance,
    diagnose,
    explain_scale,
    fit_scale_law,
    format_factor,
    is_close,
    law_text,
    shape_text,
)
from grader.oracle import (
    ACTIVATIONS,
    THEORY_LOSSES,
    theory_forward,
    theory_jacobians,
    theory_loss,
    theory_param_grads,
    to_layout,
)

__all__ = [
    "ACTIVATIONS",
    "THEORY_LOSSES",
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
