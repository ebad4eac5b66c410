"""MISTAKE: BCE "protected" against log(0) with a tiny random epsilon.

What the student was thinking: "log(0) is -inf, so nudge every prediction by a tiny random
amount first". The values barely move (1e-6), so J and dJdy_hat look right, but the same
input no longer gives the same output (nondeterministic), and a prediction of exactly 0 gives
log(1e-6 r) instead of torch's clamp at -100 (wrong J on saturated predictions).
"""

import torch


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

    def activation(self, name, z):
        if name == "relu":
            return torch.relu(z)
        elif name == "sigmoid":
            return torch.sigmoid(z)
        elif name == "identity":
            return z
        raise ValueError("unknown function " + name)

    def activation_grad(self, name, z):
        # derivative of the activation with respect to its input z
        if name == "relu":
            return (z > 0).float()
        elif name == "sigmoid":
            s = torch.sigmoid(z)
            return s * (1 - s)
        elif name == "identity":
            return torch.ones_like(z)
        raise ValueError("unknown function " + name)

    def forward(self, x):
        """
        Args:
            x: tensor shape (batch_size, linear_1_in_features)
        """
        W1, b1 = self.parameters["W1"], self.parameters["b1"]
        W2, b2 = self.parameters["W2"], self.parameters["b2"]

        z1 = torch.matmul(x, W1.t()) + b1
        z2 = self.activation(self.f_function, z1)
        z3 = torch.matmul(z2, W2.t()) + b2
        y_hat = self.activation(self.g_function, z3)

        self.cache["x"] = x
        self.cache["z1"] = z1
        self.cache["z2"] = z2
        self.cache["z3"] = z3
        return y_hat

    def backward(self, dJdy_hat):
        """
        Args:
            dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
        """
        x, z1, z2, z3 = self.cache["x"], self.cache["z1"], self.cache["z2"], self.cache["z3"]
        W2 = self.parameters["W2"]

        dJdz3 = dJdy_hat * self.activation_grad(self.g_function, z3)
        self.grads["dJdW2"] = torch.matmul(dJdz3.t(), z2)
        self.grads["dJdb2"] = torch.sum(dJdz3, dim=0)

        dJdz2 = torch.matmul(dJdz3, W2)
        dJdz1 = dJdz2 * self.activation_grad(self.f_function, z1)
        self.grads["dJdW1"] = torch.matmul(dJdz1.t(), x)
        self.grads["dJdb1"] = torch.sum(dJdz1, dim=0)

    def clear_grad_and_cache(self):
        for grad in self.grads:
            self.grads[grad].zero_()
        self.cache = dict()


def mse_loss(y, y_hat):
    """
    Args:
        y: the label tensor (batch_size, linear_2_out_features)
        y_hat: the prediction tensor (batch_size, linear_2_out_features)

    Return:
        J: scalar of loss
        dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
    """
    loss = torch.mean((y_hat - y) ** 2)
    dJdy_hat = 2 * (y_hat - y) / y.numel()
    return loss, dJdy_hat


def bce_loss(y, y_hat):
    """
    Args:
        y: the label tensor (batch_size, linear_2_out_features)
        y_hat: the prediction tensor (batch_size, linear_2_out_features)

    Return:
        J: scalar of loss
        dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
    """
    noise = 1e-6 * torch.rand_like(y_hat)
    p = (y_hat + noise).clamp(max=1.0 - 1e-6)
    N = y_hat.numel()
    J = -torch.sum(y * torch.log(p) + (1.0 - y) * torch.log(1.0 - p)) / N
    dJdy_hat = ((1.0 - y) / (1.0 - p) - y / p) / N
    return J, dJdy_hat
