"""CORRECT (full marks): gradients derived by hand. PATTERN: autograd turned *off* everywhere,
as careful students do: `torch.set_grad_enabled(False)` at import,
`torch.autograd.set_grad_enabled(False)` around the forward pass,
`torch.set_grad_enabled(mode=False)` (keyword) around backward, `@torch.no_grad()` on
mse_loss and `torch.inference_mode()` in bce_loss. Turning autograd off uses nothing.
"""

import torch

torch.set_grad_enabled(False)  # no autograd in this homework


class MLP:
    def __init__(
        self,
        linear_1_in_features,
        linear_1_out_features,
        f_function,
        linear_2_in_features,
        linear_2_out_features,
        g_function
    ):
        """
        Args:
            linear_1_in_features: the in features of first linear layer
            linear_1_out_features: the out features of first linear layer
            linear_2_in_features: the in features of second linear layer
            linear_2_out_features: the out features of second linear layer
            f_function: string for the f function: relu | sigmoid | identity
            g_function: string for the g function: relu | sigmoid | identity
        """
        self.f_function = f_function
        self.g_function = g_function

        self.parameters = dict(
            W1 = torch.randn(linear_1_out_features, linear_1_in_features),
            b1 = torch.randn(linear_1_out_features),
            W2 = torch.randn(linear_2_out_features, linear_2_in_features),
            b2 = torch.randn(linear_2_out_features),
        )
        self.grads = dict(
            dJdW1 = torch.zeros(linear_1_out_features, linear_1_in_features),
            dJdb1 = torch.zeros(linear_1_out_features),
            dJdW2 = torch.zeros(linear_2_out_features, linear_2_in_features),
            dJdb2 = torch.zeros(linear_2_out_features),
        )

        # put all the cache value you need in self.cache
        self.cache = dict()

    def activate(self, name, z):
        if name == "relu":
            return torch.relu(z)
        if name == "sigmoid":
            return torch.sigmoid(z)
        if name == "identity":
            return z
        raise ValueError("unknown activation " + name)

    def derivative(self, name, z, out):
        # out = activate(name, z), already computed in forward
        if name == "relu":
            return (z > 0).float()
        if name == "sigmoid":
            return out * (1 - out)
        if name == "identity":
            return torch.ones_like(z)
        raise ValueError("unknown activation " + name)

    def forward(self, x):
        """
        Args:
            x: tensor shape (batch_size, linear_1_in_features)
        """
        with torch.autograd.set_grad_enabled(False):
            z1 = x @ self.parameters["W1"].T + self.parameters["b1"]
            z2 = self.activate(self.f_function, z1)
            z3 = z2 @ self.parameters["W2"].T + self.parameters["b2"]
            y_hat = self.activate(self.g_function, z3)
        self.cache["x"] = x
        self.cache["z1"] = z1
        self.cache["z2"] = z2
        self.cache["z3"] = z3
        self.cache["y_hat"] = y_hat
        return y_hat

    def backward(self, dJdy_hat):
        """
        Args:
            dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
        """
        x, z1, z2, z3 = self.cache["x"], self.cache["z1"], self.cache["z2"], self.cache["z3"]
        with torch.set_grad_enabled(mode=False):
            dJdz3 = dJdy_hat * self.derivative(self.g_function, z3, self.cache["y_hat"])
            self.grads["dJdW2"] = dJdz3.T @ z2
            self.grads["dJdb2"] = dJdz3.sum(dim=0)
            dJdz2 = dJdz3 @ self.parameters["W2"]
            dJdz1 = dJdz2 * self.derivative(self.f_function, z1, z2)
            self.grads["dJdW1"] = dJdz1.T @ x
            self.grads["dJdb1"] = dJdz1.sum(dim=0)

    def clear_grad_and_cache(self):
        for grad in self.grads:
            self.grads[grad].zero_()
        self.cache = dict()


@torch.no_grad()
def mse_loss(y, y_hat):
    """
    Args:
        y: the label tensor (batch_size, linear_2_out_features)
        y_hat: the prediction tensor (batch_size, linear_2_out_features)

    Return:
        J: scalar of loss
        dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
    """
    loss = ((y_hat - y) ** 2).mean()
    dJdy_hat = 2 * (y_hat - y) / y.numel()
    return loss, dJdy_hat


def bce_loss(y, y_hat):
    """
    Args:
        y_hat: the prediction tensor
        y: the label tensor

    Return:
        loss: scalar of loss
        dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
    """
    # clamp the logs at -100 as torch.nn.BCELoss does
    with torch.inference_mode():
        log_p = torch.clamp(torch.log(y_hat), min=-100)
        log_1mp = torch.clamp(torch.log(1 - y_hat), min=-100)
        loss = -(y * log_p + (1 - y) * log_1mp).mean()
        dJdy_hat = (y_hat - y) / torch.clamp(y_hat * (1 - y_hat), min=1e-12) / y.numel()
    return loss, dJdy_hat
