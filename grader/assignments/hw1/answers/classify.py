"""Which quantity an equation's left-hand side names, in any notation the parser reads.

    classify(lhs, renames) -> Quantity | None
    classify_text(text, syntax, macros, labels) -> Quantity | None

`\\frac{\\partial l}{\\partial W^{(1)}}`, `dL/dW_1` and `∂ℓ/∂W1` all name ("grad", "W1");
`(\\frac{\\partial z_2}{\\partial z_1})_{ij}` and `\\frac{\\partial z_{2,i}}{\\partial z_{1,j}}`
name ("jac", "dz2_dz1") with element indices (i, j); `W^{(i)}` on the left of an update names
("update", "W_i"), which stands for both weights. `renames` maps the sheet's own symbols to the
handout's (e.g. {"s1": "z1", "z1": "z2"} for a sheet whose z^{(1)} is the handout's z2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .mathexpr import Apply, Deriv, Expr, Idx, Sym, Transpose, strip_parens
from .mathlex import MacroDef, MathInputError

HIDDEN = ("z1", "z2", "z3")
PARAMETERS = ("W1", "b1", "W2", "b2")
FORWARD_CHECKS = {"z1": "forward_z1", "z2": "forward_z2", "z3": "forward_z3", "y_hat": "forward_yhat",
                  "loss": "forward_loss"}
JACOBIAN_CHECKS = {"dz2_dz1": "jac_dz2_dz1", "dyhat_dz3": "jac_dyhat_dz3", "dl_dyhat": "dl_dyhat"}
UPDATE_CHECKS = {"W1": ("sgd_update_W1",), "W2": ("sgd_update_W2",), "b1": ("sgd_update_b",),
                 "b2": ("sgd_update_b",), "W": ("sgd_update_W1", "sgd_update_W2"), "b": ("sgd_update_b",),
                 "theta": ("sgd_update_W1", "sgd_update_W2", "sgd_update_b"),
                 "w": ("sgd_update_W1", "sgd_update_W2", "sgd_update_b")}


@dataclass(frozen=True)
class Quantity:
    """What a left-hand side names.

    kind: "forward" (z1, z2, z3, y_hat, loss), "grad" (dl/dW1 ...; name the parameter or a
    generic "W_i"), "jac" (dz2_dz1, dyhat_dz3, dl_dyhat), "update" (a parameter on the left of
    an update; generic "W_i", "b_i", "theta"), "deriv" (another derivative, e.g. "dloss_dz3"),
    "symbol" (any other single symbol: the sheet's own, e.g. delta2 or s1).
    `indices`: element indices on the left, in (row, column) order of the quantity as the
    sheet indexes it. `transposed`: the left side is the quantity transposed. `nabla`: ∇_W l."""

    kind: str
    name: str
    indices: tuple[Expr, ...] = ()
    transposed: bool = False
    nabla: bool = False

    @property
    def checks(self) -> tuple[str, ...]:
        """The check ids this quantity answers (a generic update answers several)."""
        if self.kind == "forward":
            return (FORWARD_CHECKS[self.name],) if self.name in FORWARD_CHECKS else ()
        if self.kind == "grad":
            if self.name in PARAMETERS:
                return ("grad_" + self.name,)
            base = self.name.split("_")[0]
            return tuple(f"grad_{base}{k}" for k in "12") if base in ("W", "b") else ()
        if self.kind == "jac":
            return (JACOBIAN_CHECKS[self.name],)
        if self.kind == "update":
            key = self.name if self.name in UPDATE_CHECKS else self.name.split("_")[0]
            return UPDATE_CHECKS.get(key, ())
        return ()

    @property
    def check(self) -> str | None:
        """The single check id, or None (generic or unrelated quantities)."""
        checks = self.checks
        return checks[0] if len(checks) == 1 else None


def identity_of(expr: Expr, renames: Mapping[str, str] | None = None) -> str | None:
    """The handout name of a symbol (W1, z2, y_hat, loss, x, ...; a sheet symbol keeps its own
    name unless renamed), or None when `expr` is not a single symbol."""
    node = strip_parens(expr)
    if isinstance(node, Apply) and node.func.name == "loss":
        return "loss"
    if not isinstance(node, Sym):
        return None
    if node.base == "loss":
        return "loss"
    name = node.name
    return (renames or {}).get(name, name)


def _split_indices(expr: Expr) -> tuple[Expr, tuple[Expr, ...]]:
    node = strip_parens(expr)
    if isinstance(node, Idx):
        return strip_parens(node.base), node.indices
    return node, ()


def _derivative_quantity(node: Deriv, renames: Mapping[str, str] | None) -> Quantity | None:
    num, num_indices = _split_indices(node.num)
    den, den_indices = _split_indices(node.den)
    top, bottom = identity_of(num, renames), identity_of(den, renames)
    if top is None or bottom is None:
        return None
    indices = num_indices + den_indices
    if top == "loss":
        if bottom == "y_hat":
            return Quantity("jac", "dl_dyhat", indices, nabla=node.nabla)
        if bottom in PARAMETERS or _generic_parameter(den):
            return Quantity("grad", bottom, indices, nabla=node.nabla)
    pair = "d{}_d{}".format(top.replace("_", ""), bottom.replace("_", ""))
    if pair in JACOBIAN_CHECKS:
        return Quantity("jac", pair, indices)
    return Quantity("deriv", pair, indices, nabla=node.nabla)


def _generic_parameter(expr: Expr) -> bool:
    return isinstance(expr, Sym) and expr.role == "generic_parameter"


def classify(lhs: Expr, renames: Mapping[str, str] | None = None) -> Quantity | None:
    """The quantity `lhs` names, or None when it names nothing the homework asks for."""
    node = strip_parens(lhs)
    transposed = isinstance(node, Transpose)
    if isinstance(node, Transpose):
        node = strip_parens(node.inner)
    outer: tuple[Expr, ...] = ()
    if isinstance(node, Idx):
        outer, node = node.indices, strip_parens(node.base)
    found = _classify_node(node, renames)
    if found is None:
        return None
    return Quantity(found.kind, found.name, found.indices + outer, transposed, found.nabla)


def _classify_node(node: Expr, renames: Mapping[str, str] | None) -> Quantity | None:
    if isinstance(node, Deriv):
        return _derivative_quantity(node, renames)
    name = identity_of(node, renames)
    if name is None:
        return None
    if name in FORWARD_CHECKS:
        return Quantity("forward", name)
    if isinstance(node, Sym) and node.role in ("parameter", "generic_parameter"):
        return Quantity("update", name)
    return Quantity("symbol", name)


def classify_text(text: str, syntax: str = "latex", macros: Mapping[str, MacroDef] | None = None,
                  labels: Mapping[str, str] | None = None) -> Quantity | None:
    """The quantity named by the left-hand side of the first statement in `text` (or by the
    text itself when it has no relation); None when unreadable or unrelated."""
    from .mathparse import parse_statements

    try:
        statements = parse_statements(text, syntax, macros, labels)
    except MathInputError:
        return None
    first = statements[0]
    return classify(first.lhs if first.lhs is not None else first.answer)
