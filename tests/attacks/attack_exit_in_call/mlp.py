"""ATTACK (exit and kill inside a call).

  mse_loss               calls sys.exit(0)
  bce_loss               calls os._exit(0)
  clear_grad_and_cache   sends SIGKILL to its parent (os.kill(os.getppid(), SIGKILL)), then
                         raises
MLP.__init__, forward and backward are the honest key.

Expected: mlp.mse_loss and mlp.bce_loss score 0, and so do the hygiene checks that call the
losses or clear_grad_and_cache (loss_inputs_unchanged, clear_grad_and_cache, deterministic);
mlp.forward and the network gradients of mlp.backward get full marks; the grader survives and
grades theory.py in full.
"""

import os
import signal
import sys

import _key


class MLP(_key.MLP):
    def clear_grad_and_cache(self):
        os.kill(os.getppid(), signal.SIGKILL)
        raise RuntimeError("still here")


def mse_loss(y, y_hat):
    sys.exit(0)


def bce_loss(y, y_hat):
    os._exit(0)
