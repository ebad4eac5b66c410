"""HW1's settings and its semester variants, as data.

The 2021 text ("sp21", the default) is what this grader was built for. Other offerings of
the same homework differ only in data: which activations each theory case uses, and the
convention of the practical part's MSE. A variant never changes a check's code.

| variant | theory 1.2 (f, g) | theory 1.3 (f, g) | practical MSE |
|---|---|---|---|
| sp21 | relu, identity | sigmoid or tanh, sigmoid | torch's mean over all B*K entries |
| fa20 | relu, identity | sigmoid or tanh, sigmoid | 1/2 squared error, summed over outputs, averaged over the batch |
| fa22 | 5relu (5*max(z,0)), identity | tanh, sigmoid | torch's mean |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...engine.assignment import check_choice
from ...errors import RubricError

LossConvention = Literal["mean", "half_batch_mean"]
Layout = Literal["numerator", "mixed"]
LOSS_CONVENTIONS: tuple[LossConvention, ...] = ("mean", "half_batch_mean")
LAYOUTS: tuple[Layout, ...] = ("numerator", "mixed")
Unmentioned = Literal["unchanged", "missing"]
UNMENTIONED: tuple[Unmentioned, ...] = ("unchanged", "missing")
DerivationPolicy = Literal["forfeit", "notice"]
DERIVATION_POLICIES: tuple[DerivationPolicy, ...] = ("forfeit", "notice")
MLP_ACTIVATIONS = ("relu", "sigmoid", "identity")
"""The handout's MLP takes these names for f_function and g_function (every variant)."""
# Each MSE convention as a * prod(dim ** e) times torch's mean (tests/test_reference.py checks
# these against the oracle's functions); used only to explain scale errors, never to grade.
MSE_CONVENTION_SCALE: dict[str, tuple[float, dict[str, int]]] = {
    "mean": (1.0, {}),
    "half_batch_mean": (0.5, {"K": 1}),
}
MSE_CONVENTION_TEXT = {
    "mean": "torch's mean over all B*K entries",
    "half_batch_mean": "1/2 * squared error summed over outputs and averaged over the batch",
}


@dataclass(frozen=True)
class Case:
    """One homework case of the theory part: activations and losses an example may use."""

    f: tuple[str, ...]
    g: tuple[str, ...]
    loss: tuple[str, ...]
    title: str


@dataclass(frozen=True)
class Variant:
    """One offering's text. `theory_cases` holds "regression" (1.2), "classification-mse"
    (1.3a) and "classification-bce" (1.3b,c); `theory_activations` the names theory.py
    must accept (the grid of every pair); `loss_convention` the practical part's MSE."""

    name: str
    description: str
    loss_convention: LossConvention
    theory_cases: Mapping[str, Case]
    theory_activations: tuple[str, ...]


def _cases(relu: str, classification_f: tuple[str, ...]) -> dict[str, Case]:
    mse_f = "|".join(classification_f)
    return {
        "regression": Case((relu,), ("identity",), ("mse",), "1.2: f=%s, g=identity, MSE" % relu),
        "classification-mse": Case(classification_f, ("sigmoid",), ("mse",),
                                   "1.3a: f=%s, g=sigmoid, MSE" % mse_f),
        "classification-bce": Case(classification_f[:1] + ("relu",), ("sigmoid",), ("bce",),
                                   "1.3b,c: f=%s|relu, g=sigmoid, BCE" % classification_f[0]),
    }


VARIANTS: dict[str, Variant] = {
    "sp21": Variant("sp21", "Spring 2021 (the default): 1.2 f=relu; 1.3 f=g=sigmoid; MSE as torch's mean",
                    "mean", _cases("relu", ("sigmoid", "tanh")), ("relu", "sigmoid", "tanh", "identity")),
    "fa20": Variant("fa20", "Fall 2020: the practical MSE is 1/2 squared error averaged over the batch only",
                    "half_batch_mean", _cases("relu", ("sigmoid", "tanh")), ("relu", "sigmoid", "tanh", "identity")),
    "fa22": Variant("fa22", "Fall 2022: 1.2 f=5relu (5*max(z,0), passed as f=\"5relu\"); 1.3 f=tanh, g=sigmoid",
                    "mean", _cases("5relu", ("tanh",)), ("5relu", "relu", "sigmoid", "tanh", "identity")),
}


@dataclass(frozen=True)
class Settings:
    """HW1's typed settings: the variant, the practical MSE convention (the variant's unless
    the rubric sets `loss_convention`), the theory part's layout (theory.py and written sheets
    alike), and for written sheets: `answers_pattern`, a glob tried before theory.md/.tex/.ipynb/
    .txt/.pdf (None: those only), and `unmentioned_13`, what an item that a 1.3 part answered on
    the sheet does not mention means ("unchanged", carried over, or "missing"); and
    `finite_differences`, what a backward found to evaluate the forward pass once per
    parameter costs: "forfeit" (the backward points, like autograd) or "notice" (0 points)."""

    variant: Variant
    loss_convention: LossConvention
    layout: Layout
    answers_pattern: str | None = None
    unmentioned_13: Unmentioned = "unchanged"
    finite_differences: DerivationPolicy = "forfeit"


KNOWN_SETTINGS = ("loss_convention", "layout", "answers_pattern", "unmentioned_13", "finite_differences")


def parse_settings(table: Mapping[str, Any], variant: str) -> Settings:
    """Settings from the rubric's [settings] keys that are HW1's own; RubricError otherwise."""
    unknown = sorted(set(table) - set(KNOWN_SETTINGS))
    if unknown:
        raise RubricError("unknown setting %s (HW1 knows %s; the engine seed, call_timeout_s, import_timeout_s,"
                          " submission_timeout_s, variant)" % (", ".join(unknown), ", ".join(KNOWN_SETTINGS)))
    chosen = VARIANTS[variant]
    convention = check_choice("loss_convention", table.get("loss_convention", chosen.loss_convention),
                              LOSS_CONVENTIONS, "[settings]")
    layout = check_choice("layout", table.get("layout", "numerator"), LAYOUTS, "[settings]")
    pattern = table.get("answers_pattern")
    if pattern is not None and (not isinstance(pattern, str) or not pattern or "/" in pattern):
        raise RubricError("[settings]: answers_pattern must be a file name glob such as \"answers.*\", not %r"
                          % (pattern,))
    unmentioned = check_choice("unmentioned_13", table.get("unmentioned_13", "unchanged"), UNMENTIONED, "[settings]")
    finite_differences = check_choice("finite_differences", table.get("finite_differences", "forfeit"),
                                      DERIVATION_POLICIES, "[settings]")
    return Settings(chosen, convention, layout, pattern, unmentioned, finite_differences)
