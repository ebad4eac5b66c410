"""HW1 practical part: a two-layer MLP with backpropagation written by hand.

A correct student solution, derived independently of the instructor's key: every activation
is a small (value, derivative) helper pair, the forward pass caches the pre-activations
z1 and z3 (derivatives are recomputed in backward), and the matrix products are written
with torch.einsum so the index bookkeeping is explicit.

Index names used below: b = example in the batch, i = input feature (n), j = hidden unit
(d), k = output (K).
"""

import torch


# -- activations: value and derivative ---------------------------------------------------

def relu(z):
    return torch.where(z > 0, z, torch.zeros_like(z))


def relu_prime(z):
    # PyTorch's convention: the derivative at exactly 0 is 0.
    return torch.where(z > 0, torch.ones_like(z), torch.zeros_like(z))


def sigmoid(z):
    return torch.sigmoid(z)


def sigmoid_prime(z):
    s = torch.sigmoid(z)
    return s - s * s


def identity(z):
    return z.clone()


def identity_prime(z):
    return torch.ones_like(z)


ACTIVATIONS = {
    "relu": (relu, relu_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "identity": (identity, identity_prime),
}


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
        """
        Args:
            linear_1_in_features: the in features of first linear layer
            linear_1_out_features: the out features of first linear layer
            linear_2_in_features: the in features of second linear layer
            linear_2_out_features: the out features of second linear layer
            f_function: string for the f function: relu | sigmoid | identity
            g_function: string for the g function: relu | sigmoid | identity
        """
        if f_function not in ACTIVATIONS or g_function not in ACTIVATIONS:
            raise ValueError("activations must be one of %s" % sorted(ACTIVATIONS))
        self.f_function = f_function
        self.g_function = g_function

        n, d = linear_1_in_features, linear_1_out_features
        d2, K = linear_2_in_features, linear_2_out_features
        self.parameters = dict(
            W1=torch.randn(d, n),
            b1=torch.randn(d),
            W2=torch.randn(K, d2),
            b2=torch.randn(K),
        )
        self.grads = dict(
            dJdW1=torch.zeros(d, n),
            dJdb1=torch.zeros(d),
            dJdW2=torch.zeros(K, d2),
            dJdb2=torch.zeros(K),
        )

        # put all the cache value you need in self.cache
        self.cache = dict()

    def forward(self, x):
        """
        Args:
            x: tensor shape (batch_size, linear_1_in_features)
        Returns:
            y_hat: tensor shape (batch_size, linear_2_out_features)
        """
        f, _ = ACTIVATIONS[self.f_function]
        g, _ = ACTIVATIONS[self.g_function]
        W1, b1 = self.parameters["W1"], self.parameters["b1"]
        W2, b2 = self.parameters["W2"], self.parameters["b2"]

        z1 = torch.einsum("bi,ji->bj", x, W1) + b1
        z2 = f(z1)
        z3 = torch.einsum("bj,kj->bk", z2, W2) + b2
        y_hat = g(z3)

        self.cache["x"] = x
        self.cache["z1"] = z1
        self.cache["z2"] = z2
        self.cache["z3"] = z3
        return y_hat

    def backward(self, dJdy_hat):
        """
        Args:
            dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
        Fills self.grads: each gradient has the shape of its parameter.
        """
        _, f_prime = ACTIVATIONS[self.f_function]
        _, g_prime = ACTIVATIONS[self.g_function]
        x, z1, z2, z3 = (self.cache[k] for k in ("x", "z1", "z2", "z3"))
        W2 = self.parameters["W2"]

        # Through g (elementwise): dJ/dz3[b,k] = dJ/dy_hat[b,k] * g'(z3[b,k]).
        delta3 = dJdy_hat * g_prime(z3)
        # z3[b,k] = sum_j W2[k,j] z2[b,j] + b2[k]; the batch contributes a sum.
        dJdW2 = torch.einsum("bk,bj->kj", delta3, z2)
        dJdb2 = torch.einsum("bk->k", delta3)
        # Back into the hidden layer, then through f.
        dJdz2 = torch.einsum("bk,kj->bj", delta3, W2)
        delta1 = dJdz2 * f_prime(z1)
        dJdW1 = torch.einsum("bj,bi->ji", delta1, x)
        dJdb1 = torch.einsum("bj->j", delta1)

        self.grads["dJdW1"] = dJdW1
        self.grads["dJdb1"] = dJdb1
        self.grads["dJdW2"] = dJdW2
        self.grads["dJdb2"] = dJdb2

    def clear_grad_and_cache(self):
        for name, grad in self.grads.items():
            self.grads[name] = torch.zeros_like(grad)
        self.cache = dict()


def mse_loss(y, y_hat):
    """
    Args:
        y: the label tensor (batch_size, linear_2_out_features)
        y_hat: the prediction tensor (batch_size, linear_2_out_features)

    Return:
        J: scalar of loss (mean over every entry, like torch.nn.MSELoss)
        dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
    """
    B, K = y_hat.shape
    residual = y_hat - y
    J = torch.sum(residual ** 2) / (B * K)
    dJdy_hat = (2.0 / (B * K)) * residual
    return J, dJdy_hat


def bce_loss(y, y_hat):
    """
    Args:
        y_hat: the prediction tensor (batch_size, linear_2_out_features), values in [0, 1]
        y: the label tensor (batch_size, linear_2_out_features)

    Return:
        J: scalar of loss (mean over every entry, like torch.nn.BCELoss; each log is
           clamped at -100 so that a prediction of exactly 0 or 1 gives a finite loss)
        dJdy_hat: The gradient tensor of shape (batch_size, linear_2_out_features)
    """
    B, K = y_hat.shape
    N = B * K
    log_p = torch.log(y_hat).clamp(min=-100.0)
    log_q = torch.log(1.0 - y_hat).clamp(min=-100.0)
    J = -torch.sum(y * log_p + (1.0 - y) * log_q) / N
    # d/dp of -[y log p + (1 - y) log(1 - p)] = -y/p + (1 - y)/(1 - p); keep it finite at 0 and 1.
    eps = 1e-12
    p = y_hat.clamp(min=eps)
    q = (1.0 - y_hat).clamp(min=eps)
    dJdy_hat = ((1.0 - y) / q - y / p) / N
    return J, dJdy_hat
