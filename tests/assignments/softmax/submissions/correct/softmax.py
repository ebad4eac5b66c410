"""Softmax regression, written as a student would: a stable log-sum-exp, then the gradient."""

import numpy as np


def cross_entropy(W, x, y):
    logits = W @ x
    shifted = logits - logits.max()
    log_probs = shifted - np.log(np.exp(shifted).sum())
    loss = -float((y * log_probs).sum())
    probs = np.exp(log_probs)
    return loss, (probs - y) @ x.T
