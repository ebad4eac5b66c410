"""A student's HW1 mlp.py, written for the similarity tests (an original; the copy beside it
was made from it by renaming, re-commenting and reformatting)."""

import torch

ACT = {
    "relu": (lambda s: s.clamp(min=0.0), lambda s: (s > 0).to(s.dtype)),
    "sigmoid": (torch.sigmoid, lambda s: torch.sigmoid(s) * (1.0 - torch.sigmoid(s))),
    "identity": (lambda s: s, lambda s: torch.ones_like(s)),
}


class MLP:
    def __init__(self, linear_1_in_features, linear_1_out_features, f_function,
                 linear_2_in_features, linear_2_out_features, g_function):
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
        # hidden layer first, keep what backward needs
        pre_hidden = x @ self.parameters["W1"].T + self.parameters["b1"]
        hidden = ACT[self.f_function][0](pre_hidden)
        pre_out = hidden @ self.parameters["W2"].T + self.parameters["b2"]
        self.cache["inputs"] = x
        self.cache["pre_hidden"] = pre_hidden
        self.cache["hidden"] = hidden
        self.cache["pre_out"] = pre_out
        return ACT[self.g_function][0](pre_out)

    def backward(self, dJdy_hat):
        # walk the chain rule back through g, Linear2, f, Linear1
        delta_out = dJdy_hat * ACT[self.g_function][1](self.cache["pre_out"])
        self.grads["dJdW2"] += delta_out.T @ self.cache["hidden"]
        self.grads["dJdb2"] += delta_out.sum(dim=0)
        delta_hidden = (delta_out @ self.parameters["W2"]) * ACT[self.f_function][1](self.cache["pre_hidden"])
        self.grads["dJdW1"] += delta_hidden.T @ self.cache["inputs"]
        self.grads["dJdb1"] += delta_hidden.sum(dim=0)

    def clear_grad_and_cache(self):
        for grad in self.grads:
            self.grads[grad].zero_()
        self.cache = dict()


def mse_loss(y, y_hat):
    residual = y_hat - y
    count = residual.numel()
    loss = (residual ** 2).sum() / count
    return loss, 2.0 * residual / count


def bce_loss(y, y_hat):
    count = y.numel()
    safe = y_hat.clamp(1e-12, 1.0 - 1e-12)
    loss = -(y * torch.log(safe) + (1.0 - y) * torch.log(1.0 - safe)).sum() / count
    grad = (safe - y) / (safe * (1.0 - safe)) / count
    return loss, grad
