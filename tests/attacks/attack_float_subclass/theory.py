"""ATTACK (lying objects): loss returns a float subclass that lies.

`Slippery` is a float holding garbage (the honest loss plus 3) whose __eq__ says "equal", whose
arithmetic says the difference from anything is 0, and whose __float__/__index__/__repr__ give
a different random number on every call. Everything else is the honest key (_tkey.py).

Expected: theory.loss scores 0; every other question full marks.
"""

import random

import _tkey
from _tkey import backward, forward, jacobians, sgd_step  # noqa: F401 - honest parts


class Slippery(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __sub__(self, other):
        return 0.0

    __rsub__ = __sub__

    def __abs__(self):
        return 0.0

    def __lt__(self, other):
        return True

    def __float__(self):
        return random.random()

    def __repr__(self):
        return repr(random.random())

    __hash__ = float.__hash__


def loss(y, y_hat, kind):
    return Slippery(_tkey.loss(y, y_hat, kind) + 3.0)
