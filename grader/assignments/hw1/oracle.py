"""The oracle: expected values computed by PyTorch in float64.

Forward values come from `torch.nn.functional`, derivatives from autograd. Nothing here is
hand-derived: a grade is decided by comparing against these functions. Inputs and outputs
are float64 numpy arrays in PyTorch's shapes: x (B,n), W1 (d,n), b1 (d,), W2 (K,d), b2 (K,).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .memo import remembered
from .variants import MSE_CONVENTION_SCALE, MSE_CONVENTION_TEXT  # noqa: F401 - the oracle's conventions, described

ACTIVATIONS = {
    "relu": torch.relu,
    "5relu": lambda z: 5 * torch.relu(z),
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
BCE_CONVENTIONS = {
    "mean": lambda y_hat, y: F.binary_cross_entropy(y_hat, y, reduction="mean"),
}


def _t(array: np.ndarray, grad: bool = False, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=dtype, requires_grad=grad)


def _np(tensor: torch.Tensor | None) -> np.ndarray:
    """A tensor as a float64 numpy array (autograd's .grad is typed optional; it is set here)."""
    assert tensor is not None
    return tensor.detach().to(torch.float64).numpy().copy()


def backpropagate(output: torch.Tensor, upstream: torch.Tensor) -> None:
    """Accumulate into the leaves' .grad the gradients of a loss whose gradient with respect to
    `output` is `upstream` (same shape): autograd of the scalar sum(output * upstream), whose
    gradients are exactly those of output.backward(upstream), bit for bit (the product's own
    backward multiplies `upstream` by ones). Written so because backward with an explicit
    gradient imports torch.fx's symbolic shapes, and sympy with them, on its first call: a
    third of a second of every cold grade."""
    if output.shape != upstream.shape:
        raise ValueError("upstream gradient of shape %s for an output of shape %s"
                         % (tuple(upstream.shape), tuple(output.shape)))
    torch.sum(output * upstream).backward()


def mlp_forward_torch(params: dict, x: torch.Tensor, f: str, g: str) -> torch.Tensor:
    z1 = F.linear(x, params["W1"], params["b1"])
    z3 = F.linear(ACTIVATIONS[f](z1), params["W2"], params["b2"])
    return ACTIVATIONS[g](z3)


@remembered
def mlp_forward(params: dict, x: np.ndarray, f: str, g: str, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """y_hat (B,K) for the two-layer net. `dtype` float32 shows what float32 arithmetic can
    reach on an example; the truth is always float64."""
    with torch.no_grad():
        return _np(mlp_forward_torch({k: _t(v, dtype=dtype) for k, v in params.items()}, _t(x, dtype=dtype), f, g))


@remembered
def loss_and_grad(kind: str, y: np.ndarray, y_hat: np.ndarray, convention: str = "mean",
                  dtype: torch.dtype = torch.float64) -> tuple[float, np.ndarray]:
    """(J, dJ/dy_hat (B,K)) for `kind` in mse|bce under the named convention."""
    table = MSE_CONVENTIONS if kind == "mse" else BCE_CONVENTIONS
    y_hat_t = _t(y_hat, grad=True, dtype=dtype)
    J = table[convention](y_hat_t, _t(y, dtype=dtype))
    J.backward()
    return float(J.detach()), _np(y_hat_t.grad)


@remembered
def mlp_param_grads(params: dict, x: np.ndarray, f: str, g: str, dJdy_hat: np.ndarray,
                    dtype: torch.dtype = torch.float64) -> dict:
    """Parameter gradients (each its parameter's shape) given the upstream dJ/dy_hat (B,K)."""
    leaves = {k: _t(v, grad=True, dtype=dtype) for k, v in params.items()}
    y_hat = mlp_forward_torch(leaves, _t(x, dtype=dtype), f, g)
    backpropagate(y_hat, _t(dJdy_hat, dtype=dtype))
    return {"dJd" + k: _np(v.grad) for k, v in leaves.items()}


@remembered
def mlp_end_to_end_grads(params: dict, x: np.ndarray, y: np.ndarray, f: str, g: str, kind: str,
                         convention: str = "mean", dtype: torch.dtype = torch.float64) -> dict:
    """Parameter gradients of the loss of the network's own prediction, as the course's tests
    compute them."""
    y_hat = mlp_forward(params, x, f, g, dtype)
    _, dJdy_hat = loss_and_grad(kind, y, y_hat, convention, dtype)
    return mlp_param_grads(params, x, f, g, dJdy_hat, dtype)


# -- theory part: one data point, column vectors, float64, numerator or mixed layout -------

THEORY_LOSSES = {
    "mse": lambda y_hat, y: ((y - y_hat) ** 2).sum(),
    "bce": lambda y_hat, y: F.binary_cross_entropy(y_hat, y, reduction="mean"),
}


@remembered
def theory_forward(x, W1, b1, W2, b2, f: str, g: str) -> dict:
    """z1 (d,1), z2 (d,1), z3 (K,1), y_hat (K,1) for column-vector inputs."""
    with torch.no_grad():
        z1 = _t(W1) @ _t(x) + _t(b1)
        z2 = ACTIVATIONS[f](z1)
        z3 = _t(W2) @ z2 + _t(b2)
        return {"z1": _np(z1), "z2": _np(z2), "z3": _np(z3), "y_hat": _np(ACTIVATIONS[g](z3))}


@remembered
def theory_loss(y, y_hat, kind: str) -> float:
    """mse = ||y - y_hat||^2; bce = mean over the K outputs of the binary cross-entropy."""
    with torch.no_grad():
        return float(THEORY_LOSSES[kind](_t(y_hat), _t(y)))


def _activation_jacobian(name: str, z: np.ndarray) -> np.ndarray:
    size = z.shape[0]
    jac = torch.autograd.functional.jacobian(ACTIVATIONS[name], _t(z))
    return _np(jac).reshape(size, size)


@remembered
def theory_jacobians(x, y, W1, b1, W2, b2, f: str, g: str, loss: str, layout: str = "numerator") -> dict:
    """dz2_dz1 (d,d), dyhat_dz3 (K,K) Jacobians; dl_dyhat (1,K) in numerator layout, (K,1) in mixed."""
    values = theory_forward(x, W1, b1, W2, b2, f, g)
    K = values["y_hat"].shape[0]
    dl_dyhat = torch.autograd.functional.jacobian(lambda v: THEORY_LOSSES[loss](v, _t(y)), _t(values["y_hat"]))
    dl_dyhat = _np(dl_dyhat).reshape(K, 1)
    return {
        "dz2_dz1": _activation_jacobian(f, values["z1"]),
        "dyhat_dz3": _activation_jacobian(g, values["z3"]),
        "dl_dyhat": dl_dyhat.T.copy() if layout == "numerator" else dl_dyhat,
    }


@remembered
def theory_param_grads(x, W1, b1, W2, b2, f: str, g: str, dl_dyhat_column: np.ndarray) -> dict:
    """Gradients of the loss shaped like the parameters (the mixed layout), given the upstream
    gradient as a (K,1) column: dl_dW1 (d,n), dl_db1 (d,1), dl_dW2 (K,d), dl_db2 (K,1)."""
    leaves = {k: _t(v, grad=True) for k, v in dict(W1=W1, b1=b1, W2=W2, b2=b2).items()}
    z2 = ACTIVATIONS[f](leaves["W1"] @ _t(x) + leaves["b1"])
    y_hat = ACTIVATIONS[g](leaves["W2"] @ z2 + leaves["b2"])
    backpropagate(y_hat, _t(dl_dyhat_column))
    return {"dl_d" + k: _np(v.grad) for k, v in leaves.items()}


def to_layout(param_shaped: dict, layout: str) -> dict:
    """Gradients shaped like parameters -> the rubric's layout (numerator: each transposed)."""
    if layout == "mixed":
        return {k: v.copy() for k, v in param_shaped.items()}
    return {k: v.T.copy() for k, v in param_shaped.items()}
