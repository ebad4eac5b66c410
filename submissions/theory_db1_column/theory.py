"""HW1 theory part (numpy).

MISTAKE: backward returns dl_db1 as a (d,1) column (dl_dz1 transposed) instead of the (1,d)
row of numerator layout. The student thought "b1 is a column, so its gradient must be a
column too" for the first-layer bias, while getting dl_db2 right as the row dl/dz3. Only
theory.backward should lose points, and only when d > 1.
"""

import numpy as np


def _value(name, z):
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "identity":
        return z.copy()
    raise ValueError("unknown activation: " + str(name))


def _slope(name, z):
    """Elementwise derivative of the activation at z (relu'(0) taken as 0)."""
    if name == "relu":
        return np.where(z > 0, 1.0, 0.0)
    if name == "sigmoid":
        s = _value("sigmoid", z)
        return s - s ** 2
    if name == "tanh":
        return 1.0 / np.cosh(z) ** 2
    if name == "identity":
        return np.ones(z.shape)
    raise ValueError("unknown activation: " + str(name))


def forward(x, W1, b1, W2, b2, f, g):
    z1 = np.dot(W1, x) + b1
    z2 = _value(f, z1)
    z3 = np.dot(W2, z2) + b2
    y_hat = _value(g, z3)
    return {"z1": z1, "z2": z2, "z3": z3, "y_hat": y_hat}


def loss(y, y_hat, kind):
    y = np.ravel(y)
    y_hat = np.ravel(y_hat)
    if kind == "mse":
        r = y_hat - y
        return float(np.dot(r, r))
    if kind == "bce":
        K = y.size
        total = 0.0
        for yi, pi in zip(y, y_hat):
            total -= yi * np.log(pi) + (1.0 - yi) * np.log(1.0 - pi)
        return float(total / K)
    raise ValueError("unknown loss: " + str(kind))


def jacobians(x, y, W1, b1, W2, b2, f, g, loss):
    cache = forward(x, W1, b1, W2, b2, f, g)
    z1, z3, y_hat = cache["z1"], cache["z3"], cache["y_hat"]
    K = y_hat.shape[0]
    # the activations act entry by entry, so their Jacobians are diagonal
    dz2_dz1 = np.diagflat(_slope(f, z1))
    dyhat_dz3 = np.diagflat(_slope(g, z3))
    # dl/dyhat is a row in numerator layout
    if loss == "mse":
        dl_dyhat = 2.0 * (y_hat - y).reshape(1, K)
    elif loss == "bce":
        p = y_hat.reshape(1, K)
        t = y.reshape(1, K)
        dl_dyhat = (-t / p + (1.0 - t) / (1.0 - p)) / K
    else:
        raise ValueError("unknown loss: " + str(loss))
    return {"dz2_dz1": dz2_dz1, "dyhat_dz3": dyhat_dz3, "dl_dyhat": dl_dyhat}


def backward(x, y, W1, b1, W2, b2, dl_dyhat, dz2_dz1, dyhat_dz3, f):
    z2 = _value(f, np.dot(W1, x) + b1)
    dl_dz3 = np.dot(dl_dyhat, dyhat_dz3)                  # (1,K)
    dl_dz2 = np.dot(dl_dz3, W2)                           # (1,d)
    dl_dz1 = np.dot(dl_dz2, dz2_dz1)                      # (1,d)
    dl_dW2 = np.outer(z2, dl_dz3)                         # (d,K)
    dl_dW1 = np.outer(x, dl_dz1)                          # (n,d)
    return {"dl_dW1": dl_dW1, "dl_db1": dl_dz1.T, "dl_dW2": dl_dW2, "dl_db2": dl_dz3.copy()}


def sgd_step(W1, b1, W2, b2, dl_dW1, dl_db1, dl_dW2, dl_db2, lr):
    # numerator-layout gradients are transposed relative to their parameters
    return {
        "W1": W1 - lr * np.transpose(dl_dW1),
        "b1": b1 - lr * np.transpose(dl_db1),
        "W2": W2 - lr * np.transpose(dl_dW2),
        "b2": b2 - lr * np.transpose(dl_db2),
    }
