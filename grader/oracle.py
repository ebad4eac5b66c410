"""The oracle: expected values computed by PyTorch in float64 (DESIGN 3).

Forward values come from `torch.nn.functional`, derivatives from autograd. Nothing here is
hand-derived: a grade is decided by comparing against these functions. Inputs and outputs
are float64 numpy arrays in PyTorch's shapes: x (B,n), W1 (d,n), b1 (d,), W2 (K,d), b2 (K,).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "identity": lambda z: z,
}

# Conventions for the MSE loss in the practical part, as offered in different semesters.
# Each maps (y_hat, y) to J. "mean" is torch's default (mean over all B*K entries).
MSE_CONVENTIONS = {
    "mean": lambda y_hat, y: F.mse_loss(y_hat, y, reduction="mean"),
    "half_batch_mean": lambda y_hat, y: 0.5 * F.mse_loss(y_hat, y, reduction="sum") / y.shape[0],
}
MSE_CONVENTION_TEXT = {
    "mean": "torch's mean over all B*K entries",
    "half_batch_mean": "1/2 * squared error summed over outputs and averaged over the batch",
}
BCE_CONVENTIONS = {
    "mean": lambda y_hat, y: F.binary_cross_entropy(y_hat, y, reduction="mean"),
}


def _t(array: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def _np(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy().copy()


def mlp_forward_torch(params: dict, x: torch.Tensor, f: str, g: str) -> torch.Tensor:
    z1 = F.linear(x, params["W1"], params["b1"])
    z3 = F.linear(ACTIVATIONS[f](z1), params["W2"], params["b2"])
    return ACTIVATIONS[g](z3)


def mlp_forward(params: dict, x: np.ndarray, f: str, g: str) -> np.ndarray:
    """y_hat (B,K) for the two-layer net."""
    with torch.no_grad():
        return _np(mlp_forward_torch({k: _t(v) for k, v in params.items()}, _t(x), f, g))


def loss_and_grad(kind: str, y: np.ndarray, y_hat: np.ndarray, convention: str = "mean") -> tuple[float, np.ndarray]:
    """(J, dJ/dy_hat (B,K)) for `kind` in mse|bce under the named convention."""
    table = MSE_CONVENTIONS if kind == "mse" else BCE_CONVENTIONS
    y_hat_t = _t(y_hat, grad=True)
    J = table[convention](y_hat_t, _t(y))
    J.backward()
    return float(J.detach()), _np(y_hat_t.grad)


def mlp_param_grads(params: dict, x: np.ndarray, f: str, g: str, dJdy_hat: np.ndarray) -> dict:
    """Parameter gradients (each its parameter's shape) given the upstream dJ/dy_hat (B,K)."""
    leaves = {k: _t(v, grad=True) for k, v in params.items()}
    y_hat = mlp_forward_torch(leaves, _t(x), f, g)
    y_hat.backward(_t(dJdy_hat))
    return {"dJd" + k: _np(v.grad) for k, v in leaves.items()}
