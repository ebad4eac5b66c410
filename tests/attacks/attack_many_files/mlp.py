"""ATTACK (open thousands of files): at import it opens files until the system refuses (trying
5000, keeping every one open), then in each bce_loss call tries 5000 more; it carries on
honestly when refused. Everything is the honest key.

Expected: full marks (the open-files limit stops it; the honest code still runs); the grader's
own file descriptors are not exhausted or leaked.
"""

import os

import _key
from _key import MLP, mse_loss  # noqa: F401 - honest parts

_held = []


def grab(count: int = 5000) -> int:
    opened = 0
    for _ in range(count):
        try:
            _held.append(os.open("mlp.py", os.O_RDONLY))
            opened += 1
        except OSError:
            break
    return opened


OPENED = grab()


def bce_loss(y, y_hat):
    more = grab()
    print("held %d descriptors (%d more this call)" % (len(_held), more))
    return _key.bce_loss(y, y_hat)
