"""How far float32 arithmetic can land from the float64 truth on one example.

A float32 submission is held to the tolerance plus what float32 itself cannot avoid: the
largest deviation from the truth among algebraically equivalent float32 computations of the
same value, each computed by autograd (never a hand-derived formula). The formulations:

- the sigmoid as torch.sigmoid, whose derivative autograd takes from the output
  (y_hat (1 - y_hat)), and as 1 / (1 + exp(-z)), whose derivative it takes from z;
- BCE as torch's binary_cross_entropy, whose gradient is (y_hat - y) / (y_hat (1 - y_hat)),
  and as the clamped logs written out, whose gradient is -y / y_hat + (1 - y) / (1 - y_hat);
- end to end, y_hat, the loss's gradient and the backward pass each in any of these, as a
  submission that computes y_hat in one way and the sigmoid's derivative in another does.

`SAFETY` times the largest deviation is added to the bound a check allows. Each function
returns a `Spread`: that slack, and the values of PyTorch's own float32 computation (the first
formulation: torch.sigmoid, torch's loss), which are exactly what the oracle computes with
dtype float32 (`*_plain`: those alone, which a check needs on every example to see whether
float32 can reach the truth at all). A check computes the whole spread only where it can
matter: a value right within the tolerance alone is right with any slack. Where neither f nor
g is the sigmoid, the sigmoid formulations are one and the same computation, made once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import oracle
from .memo import remembered

SAFETY = 4.0
"""A submission may combine roundings less luckily than any one formulation here does."""

SIGMOIDS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "torch": torch.sigmoid,
    "from_z": lambda z: 1.0 / (1.0 + torch.exp(-z)),
}


def _bce_written_out(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    log_p = torch.clamp(torch.log(y_hat), min=-100.0)
    log_1mp = torch.clamp(torch.log(1.0 - y_hat), min=-100.0)
    return -(y * log_p + (1.0 - y) * log_1mp).mean()


def _losses(kind: str, convention: str) -> list[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    if kind == "mse":
        return [oracle.MSE_CONVENTIONS[convention]]
    return [oracle.BCE_CONVENTIONS["mean"], _bce_written_out]


def _t(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float32, requires_grad=grad)


def _activation(name: str, sigmoid: str) -> Callable[[torch.Tensor], torch.Tensor]:
    return SIGMOIDS[sigmoid] if name == "sigmoid" else oracle.ACTIVATIONS[name]


def _forward(params: dict, x: torch.Tensor, f: str, g: str, sigmoid: str) -> torch.Tensor:
    z1 = F.linear(x, params["W1"], params["b1"])
    z3 = F.linear(_activation(f, sigmoid)(z1), params["W2"], params["b2"])
    return _activation(g, sigmoid)(z3)


@dataclass
class Spread:
    """`slack`: SAFETY times the largest deviation of each value (by name); `plain`: the values
    of PyTorch's own float32 computation (what the oracle gives with dtype float32)."""

    slack: dict[str, float]
    plain: dict[str, np.ndarray]


def _sigmoids(f: str, g: str) -> tuple[str, ...]:
    """The sigmoid formulations that differ for this network: one when it has no sigmoid."""
    return tuple(SIGMOIDS) if "sigmoid" in (f, g) else tuple(SIGMOIDS)[:1]


def _deviation(found: dict[str, np.ndarray], truth: dict[str, np.ndarray], into: dict[str, float]) -> None:
    for name, exact in truth.items():
        value = found[name]
        deviation = float(np.linalg.norm(value - exact)) if np.all(np.isfinite(value)) else 0.0
        into[name] = max(into.get(name, 0.0), deviation)


def _slack(deviations: dict[str, float]) -> dict[str, float]:
    return {name: SAFETY * deviation for name, deviation in deviations.items()}


def _param_grads(params: dict, x: np.ndarray, f: str, g: str, dJdy_hat: torch.Tensor, sigmoid: str) -> dict:
    leaves = {k: _t(v, grad=True) for k, v in params.items()}
    oracle.backpropagate(_forward(leaves, _t(x), f, g, sigmoid), dJdy_hat)
    return {"dJd" + k: oracle._np(v.grad) for k, v in leaves.items()}


@remembered
def forward_slack(params: dict, x: np.ndarray, f: str, g: str, truth: dict[str, np.ndarray]) -> Spread:
    """Extra allowance for y_hat: the spread of the float32 forward formulations."""
    deviations: dict[str, float] = {}
    plain: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for sigmoid in _sigmoids(f, g):
            found = {"y_hat": oracle._np(_forward({k: _t(v) for k, v in params.items()}, _t(x), f, g, sigmoid))}
            plain = plain or found
            _deviation(found, truth, deviations)
    return Spread(_slack(deviations), plain)


@remembered
def backward_slack(params: dict, x: np.ndarray, f: str, g: str, dJdy_hat: np.ndarray,
                   truth: dict[str, np.ndarray]) -> Spread:
    """Extra allowance for each parameter gradient given the upstream dJdy_hat."""
    deviations: dict[str, float] = {}
    plain: dict[str, np.ndarray] = {}
    for sigmoid in _sigmoids(f, g):
        found = _param_grads(params, x, f, g, _t(dJdy_hat), sigmoid)
        plain = plain or found
        _deviation(found, truth, deviations)
    return Spread(_slack(deviations), plain)


@remembered
def loss_slack(kind: str, y: np.ndarray, y_hat: np.ndarray, convention: str,
               truth: dict[str, np.ndarray]) -> Spread:
    """Extra allowance for J and dJdy_hat: the spread of the float32 loss formulations."""
    deviations: dict[str, float] = {}
    plain: dict[str, np.ndarray] = {}
    for loss in _losses(kind, convention):
        leaf = _t(y_hat, grad=True)
        J = loss(leaf, _t(y))
        J.backward()
        found = {"J": oracle._np(J), "dJdy_hat": oracle._np(leaf.grad)}
        plain = plain or found
        _deviation(found, truth, deviations)
    return Spread(_slack(deviations), plain)


@remembered
def end_to_end_slack(params: dict, x: np.ndarray, y: np.ndarray, f: str, g: str, kind: str, convention: str,
                     truth: dict[str, np.ndarray]) -> Spread:
    """Extra allowance for the parameter gradients of the loss of the network's own
    prediction: y_hat, the loss's gradient and the backward pass each in every formulation
    (each y_hat and each loss gradient computed once)."""
    deviations: dict[str, float] = {}
    plain: dict[str, np.ndarray] = {}
    target = _t(y)
    for forward in _sigmoids(f, g):
        with torch.no_grad():
            y_hat = _forward({k: _t(v) for k, v in params.items()}, _t(x), f, g, forward)
        for loss in _losses(kind, convention):
            leaf = y_hat.clone().requires_grad_(True)
            loss(leaf, target).backward()
            assert leaf.grad is not None
            for backward in _sigmoids(f, g):
                found = _param_grads(params, x, f, g, leaf.grad, backward)
                plain = plain or found
                _deviation(found, truth, deviations)
    return Spread(_slack(deviations), plain)


def forward_plain(params: dict, x: np.ndarray, f: str, g: str) -> dict[str, np.ndarray]:
    """PyTorch's own float32 y_hat (the first formulation, `Spread.plain`), without the others."""
    return {"y_hat": oracle.mlp_forward(params, x, f, g, torch.float32)}


def backward_plain(params: dict, x: np.ndarray, f: str, g: str, dJdy_hat: np.ndarray) -> dict[str, np.ndarray]:
    """PyTorch's own float32 parameter gradients (`Spread.plain` of backward_slack)."""
    return oracle.mlp_param_grads(params, x, f, g, dJdy_hat, torch.float32)


def end_to_end_plain(params: dict, x: np.ndarray, y: np.ndarray, f: str, g: str, kind: str,
                     convention: str) -> dict[str, np.ndarray]:
    """PyTorch's own float32 end-to-end gradients (`Spread.plain` of end_to_end_slack)."""
    return oracle.mlp_end_to_end_grads(params, x, y, f, g, kind, convention, torch.float32)
