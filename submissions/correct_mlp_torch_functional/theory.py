"""Instructor's key for the theory part of HW1, derived by hand (numpy, no autograd).

One data point; every vector is a column: x (n,1), W1 (d,n), b1 (d,1), W2 (K,d), b2 (K,1),
y (K,1). Derivatives follow `layout`: "numerator" (the homework's; a scalar's derivative by a
(m,1) vector is a (1,m) row, by a (p,q) matrix a (q,p) matrix) or "mixed" (shaped like the
parameter). The grader never uses this file: tests check it against the oracle.
"""

import numpy as np


def _act(name, z):
    """(f(z), f'(z)) elementwise."""
    if name == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(float)
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s, s * (1.0 - s)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1.0 - t * t
    if name == "identity":
        return z, np.ones_like(z)
    raise ValueError("unknown activation %r" % name)


def forward(x, W1, b1, W2, b2, f, g):
    z1 = W1 @ x + b1
    z2 = _act(f, z1)[0]
    z3 = W2 @ z2 + b2
    return {"z1": z1, "z2": z2, "z3": z3, "y_hat": _act(g, z3)[0]}


def loss(y, y_hat, kind):
    if kind == "mse":
        return float(np.sum((y - y_hat) ** 2))
    if kind == "bce":
        return float(-np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)))
    raise ValueError("unknown loss %r" % kind)


def jacobians(x, y, W1, b1, W2, b2, f, g, loss, layout="numerator"):
    values = forward(x, W1, b1, W2, b2, f, g)
    y_hat = values["y_hat"]
    K = y_hat.shape[0]
    if loss == "mse":
        column = 2.0 * (y_hat - y)
    else:
        column = (y_hat - y) / (y_hat * (1.0 - y_hat)) / K
    return {
        "dz2_dz1": np.diag(_act(f, values["z1"])[1][:, 0]),
        "dyhat_dz3": np.diag(_act(g, values["z3"])[1][:, 0]),
        "dl_dyhat": column.T if layout == "numerator" else column,
    }


def backward(x, y, W1, b1, W2, b2, dl_dyhat, dz2_dz1, dyhat_dz3, f, layout="numerator"):
    row = dl_dyhat if layout == "numerator" else dl_dyhat.T      # (1,K)
    z2 = _act(f, W1 @ x + b1)[0]
    dl_dz3 = row @ dyhat_dz3                                     # (1,K)
    dl_dz1 = dl_dz3 @ W2 @ dz2_dz1                               # (1,d)
    numerator = {
        "dl_dW1": x @ dl_dz1,                                    # (n,d)
        "dl_db1": dl_dz1,                                        # (1,d)
        "dl_dW2": z2 @ dl_dz3,                                   # (d,K)
        "dl_db2": dl_dz3,                                        # (1,K)
    }
    if layout == "numerator":
        return numerator
    return {k: v.T for k, v in numerator.items()}


def sgd_step(W1, b1, W2, b2, dl_dW1, dl_db1, dl_dW2, dl_db2, lr, layout="numerator"):
    grads = {"W1": dl_dW1, "b1": dl_db1, "W2": dl_dW2, "b2": dl_db2}
    if layout == "numerator":
        grads = {k: v.T for k, v in grads.items()}
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    return {k: params[k] - lr * grads[k] for k in params}
