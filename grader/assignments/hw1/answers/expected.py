"""Expected values from the float64 PyTorch oracle, and the environments formulas are evaluated in.

    draw(seed, dims, case) -> Draw                     random network values, one data point
    oracle_values(case, draw, layout) -> dict          every item's expected value
    environment(case, draw, orientation, ...) -> Environment

Values: x (n,1), W1 (d,n), b1 (d,1), W2 (K,d), b2 (K,1), y (K,1) ({0,1} labels for BCE), a
learning rate. Activations and losses the oracle names (relu, sigmoid, tanh, identity; mse,
bce) go through it unchanged; the variants' 5relu and mse_half are the same computation with
one more torch function (EXTRA_ACTIVATIONS, EXTRA_LOSSES: PyTorch float64 and autograd too).
Derivatives of an activation that a formula names (f', σ') are autograd derivatives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import _engine
from .evaluate import ElementFunction, Environment, scalar
from .variants import Case

EXTRA_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "5relu": lambda z: 5.0 * torch.relu(z),
}
EXTRA_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse_half": lambda y_hat, y: 0.5 * ((y - y_hat) ** 2).sum(),
}
RATE_SYMBOLS = ("eta", "gamma", "alpha", "lambda", "epsilon", "mu", "rho", "tau", "lr")
PARAMETERS = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class Draw:
    """One random example: dims {n, d, K}, the seed, and the values (column vectors)."""

    seed: int
    dims: dict[str, int]
    values: dict[str, np.ndarray]
    lr: float


def draw(seed: int, dims: tuple[int, int, int], case: Case) -> Draw:
    """Standard-normal network values for (n, d, K) = dims; {0,1} labels for BCE."""
    n, d, k = dims
    rng = np.random.default_rng(seed)
    values = {
        "x": rng.standard_normal((n, 1)), "W1": rng.standard_normal((d, n)), "b1": rng.standard_normal((d, 1)),
        "W2": rng.standard_normal((k, d)), "b2": rng.standard_normal((k, 1)),
    }
    values["y"] = rng.integers(0, 2, (k, 1)).astype(np.float64) if case.loss == "bce" else rng.standard_normal((k, 1))
    return Draw(seed, {"n": n, "d": d, "K": k}, values, float(rng.choice([0.5, 0.1, 0.05])))


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The oracle's activation when it has one, else this module's extension."""
    if name in _engine.ACTIVATIONS:
        function: Callable[[torch.Tensor], torch.Tensor] = _engine.ACTIVATIONS[name]
        return function
    return EXTRA_ACTIVATIONS[name]


def _t(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def _np(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to(torch.float64).numpy().copy()


def elementwise(name: str) -> ElementFunction:
    """An activation as a numpy function (through its torch definition)."""
    function = activation(name)

    def apply(value: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return _np(function(_t(value)))

    return apply


def derivative(name: str) -> ElementFunction:
    """The element-wise derivative of an activation, by autograd."""
    function = activation(name)

    def apply(value: np.ndarray) -> np.ndarray:
        leaf = _t(value, grad=True)
        function(leaf).sum().backward()
        assert leaf.grad is not None
        return _np(leaf.grad)

    return apply


def _uses_oracle(case: Case) -> bool:
    return case.f in _engine.ACTIVATIONS and case.g in _engine.ACTIVATIONS and case.loss in _engine.THEORY_LOSSES


def loss_value(case: Case, y: np.ndarray, y_hat: np.ndarray) -> float:
    if case.loss in _engine.THEORY_LOSSES:
        return float(_engine.theory_loss(y, y_hat, case.loss))
    with torch.no_grad():
        return float(EXTRA_LOSSES[case.loss](_t(y_hat), _t(y)))


def _extended(case: Case, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Forward values, Jacobians (dl_dyhat as a column) and parameter-shaped gradients for a
    case with a variant-only activation or loss, the oracle's way (float64 autograd)."""
    f, g = activation(case.f), activation(case.g)
    loss = _engine.THEORY_LOSSES[case.loss] if case.loss in _engine.THEORY_LOSSES else EXTRA_LOSSES[case.loss]
    leaves = {k: _t(v[k], grad=True) for k in PARAMETERS}
    z1 = leaves["W1"] @ _t(v["x"]) + leaves["b1"]
    z2 = f(z1)
    z3 = leaves["W2"] @ z2 + leaves["b2"]
    y_hat = g(z3)
    out = {"z1": _np(z1), "z2": _np(z2), "z3": _np(z3), "y_hat": _np(y_hat)}
    k = out["y_hat"].shape[0]
    dl = torch.autograd.functional.jacobian(lambda p: loss(p, _t(v["y"])), _t(out["y_hat"]))
    out["dl_dyhat"] = _np(dl).reshape(k, 1)
    out["dz2_dz1"] = _np(torch.autograd.functional.jacobian(f, _t(out["z1"]))).reshape(z1.shape[0], -1)
    out["dyhat_dz3"] = _np(torch.autograd.functional.jacobian(g, _t(out["z3"]))).reshape(k, k)
    _engine.backpropagate(y_hat, _t(out["dl_dyhat"]))
    for name, leaf in leaves.items():
        assert leaf.grad is not None
        out["dl_d" + name] = _np(leaf.grad)
    return out


def _oracle(case: Case, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    args = (v["x"], v["W1"], v["b1"], v["W2"], v["b2"])
    out = dict(_engine.theory_forward(*args, case.f, case.g))
    jac = _engine.theory_jacobians(v["x"], v["y"], v["W1"], v["b1"], v["W2"], v["b2"], case.f, case.g, case.loss,
                                   "mixed")
    out.update(jac)
    out.update(_engine.theory_param_grads(*args, case.f, case.g, jac["dl_dyhat"]))
    return out


def raw_values(case: Case, sample: Draw) -> dict[str, np.ndarray]:
    """Forward values, dz2_dz1, dyhat_dz3, dl_dyhat (a (K,1) column) and parameter-shaped
    gradients dl_dW1 ... for one draw."""
    out = _oracle(case, sample.values) if _uses_oracle(case) else _extended(case, sample.values)
    out["loss"] = scalar(loss_value(case, sample.values["y"], out["y_hat"]))
    return out


GRAD_NAMES = {"grad_W1": "dl_dW1", "grad_b1": "dl_db1", "grad_W2": "dl_dW2", "grad_b2": "dl_db2"}


def oracle_values(case: Case, sample: Draw, layout: str) -> dict[str, np.ndarray]:
    """Every item's expected value in `layout` (numerator|mixed), keyed by check id; updates
    are keyed by parameter (update_W1, update_b1, ...) and give the new parameter value."""
    raw = raw_values(case, sample)
    expected = {"forward_z1": raw["z1"], "forward_z2": raw["z2"], "forward_z3": raw["z3"],
                "forward_yhat": raw["y_hat"], "forward_loss": raw["loss"], "jac_dz2_dz1": raw["dz2_dz1"],
                "jac_dyhat_dz3": raw["dyhat_dz3"]}
    expected["dl_dyhat"] = raw["dl_dyhat"].T.copy() if layout == "numerator" else raw["dl_dyhat"]
    in_layout = _engine.to_layout({k: raw["dl_d" + k] for k in PARAMETERS}, layout)
    for check, name in GRAD_NAMES.items():
        expected[check] = in_layout[name[4:]]
    for name in PARAMETERS:
        expected["update_" + name] = sample.values[name] - sample.lr * raw["dl_d" + name]
    return expected


def base_functions(case: Case) -> dict[str, ElementFunction]:
    """Every function a formula may name, with derivatives (f, f', σ, σ', ReLU', tanh', ...)."""
    table: dict[str, ElementFunction] = {}
    for name in ("relu", "sigmoid", "tanh", "identity"):
        table[name] = elementwise(name)
        table[name + "'"] = derivative(name)
    table["sigma"], table["sigma'"] = table["sigmoid"], table["sigmoid'"]
    table["f"], table["f'"] = elementwise(case.f), derivative(case.f)
    table["g"], table["g'"] = elementwise(case.g), derivative(case.g)
    table.update({
        "exp": np.exp, "log": np.log, "sech": lambda v: 1.0 / np.cosh(v), "sign": np.sign, "abs": np.abs,
        "sqrt": np.sqrt, "exp'": np.exp, "log'": lambda v: 1.0 / v,
    })
    return table


def environment(case: Case, sample: Draw, raw: dict[str, np.ndarray], dl_dyhat: str = "row",
                parameter_gradients: str | None = None) -> Environment:
    """The environment for formulas of a question with `case` on one draw.

    dl/dy_hat is bound as a (1,K) "row" or a (K,1) "column". With `parameter_gradients`
    ("numerator"|"mixed"), dl/dW1 ... are bound too in that layout (for update rules only:
    a gradient item must not be able to name its own answer); ∇_W l is always
    parameter-shaped there."""
    values = {k: sample.values[k] for k in ("x", "y", *PARAMETERS)}
    values.update({k: raw[k] for k in ("z1", "z2", "z3", "y_hat", "loss")})
    values.update({rate: scalar(sample.lr) for rate in RATE_SYMBOLS})
    column = raw["dl_dyhat"]
    derivatives = {
        ("loss", "y_hat"): column.T.copy() if dl_dyhat == "row" else column,
        ("z2", "z1"): raw["dz2_dz1"],
        ("y_hat", "z3"): raw["dyhat_dz3"],
    }
    if parameter_gradients is not None:
        shaped = {k: raw["dl_d" + k] for k in PARAMETERS}
        in_layout = _engine.to_layout(shaped, parameter_gradients)
        for name in PARAMETERS:
            derivatives[("loss", name)] = in_layout[name]
            derivatives[("nabla:loss", name)] = shaped[name]
    return Environment(values=values, functions=base_functions(case), derivatives=derivatives,
                       dims=dict(sample.dims), loss=lambda y_hat, y: loss_value(case, y, y_hat))
