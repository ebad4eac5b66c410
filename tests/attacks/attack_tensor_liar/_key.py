"""Instructor's key for the practical part of HW1: a two-layer MLP with hand-derived gradients.

Shapes (PyTorch convention): x (B, n), W1 (d, n), b1 (d,), W2 (K, d), b2 (K,), y_hat (B, K).
Gradients have their parameter's shape. No autograd anywhere in this file.
"""

import torch


def _activation(name, z):
    """Return (f(z), f'(z)) for the activation `name`; relu'(0) = 0 as in PyTorch."""
    if name == "relu":
        return torch.clamp(z, min=0), (z > 0).to(z.dtype)
    if name == "sigmoid":
        s = 1.0 / (1.0 + torch.exp(-z))
        return s, s * (1.0 - s)
    if name == "identity":
        return z, torch.ones_like(z)
    raise ValueError("unknown activation %r" % name)


class MLP:
    def __init__(
        self,
        linear_1_in_features,
        linear_1_out_features,
        f_function,
        linear_2_in_features,
        linear_2_out_features,
        g_function,
    ):
        self.f_function = f_function
        self.g_function = g_function
        self.parameters = dict(
            W1=torch.randn(linear_1_out_features, linear_1_in_features),
            b1=torch.randn(linear_1_out_features),
            W2=torch.randn(linear_2_out_features, linear_2_in_features),
            b2=torch.randn(linear_2_out_features),
        )
        self.grads = dict(
            dJdW1=torch.zeros(linear_1_out_features, linear_1_in_features),
            dJdb1=torch.zeros(linear_1_out_features),
            dJdW2=torch.zeros(linear_2_out_features, linear_2_in_features),
            dJdb2=torch.zeros(linear_2_out_features),
        )
        self.cache = dict()

    def forward(self, x):
        """x: (B, n) -> y_hat: (B, K)."""
        p = self.parameters
        z1 = x @ p["W1"].T + p["b1"]
        z2, dz2_dz1 = _activation(self.f_function, z1)
        z3 = z2 @ p["W2"].T + p["b2"]
        y_hat, dyhat_dz3 = _activation(self.g_function, z3)
        self.cache = dict(x=x, z2=z2, dz2_dz1=dz2_dz1, dyhat_dz3=dyhat_dz3)
        return y_hat

    def backward(self, dJdy_hat):
        """dJdy_hat: (B, K); fills self.grads (each the shape of its parameter)."""
        c = self.cache
        dJdz3 = dJdy_hat * c["dyhat_dz3"]
        dJdz2 = dJdz3 @ self.parameters["W2"]
        dJdz1 = dJdz2 * c["dz2_dz1"]
        self.grads["dJdW2"] = dJdz3.T @ c["z2"]
        self.grads["dJdb2"] = dJdz3.sum(dim=0)
        self.grads["dJdW1"] = dJdz1.T @ c["x"]
        self.grads["dJdb1"] = dJdz1.sum(dim=0)

    def clear_grad_and_cache(self):
        for grad in self.grads:
            self.grads[grad].zero_()
        self.cache = dict()


def mse_loss(y, y_hat):
    """Mean over all B*K entries of (y_hat - y)^2. Returns (J, dJdy_hat (B, K))."""
    diff = y_hat - y
    count = diff.numel()
    return (diff * diff).sum() / count, 2.0 * diff / count


def bce_loss(y, y_hat):
    """Mean binary cross-entropy over all B*K entries, each log clamped at -100 as torch does.

    At y_hat exactly 0 or 1 the derivative follows torch's BCELoss:
    (y_hat - y) / max(y_hat (1 - y_hat), 1e-12) / (B*K).
    """
    count = y_hat.numel()
    log_p = torch.clamp(torch.log(y_hat), min=-100.0)
    log_1mp = torch.clamp(torch.log(1.0 - y_hat), min=-100.0)
    J = -(y * log_p + (1.0 - y) * log_1mp).sum() / count
    dJdy_hat = (y_hat - y) / torch.clamp(y_hat * (1.0 - y_hat), min=1e-12) / count
    return J, dJdy_hat
