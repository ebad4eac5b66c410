"""ATTACK (infinite loop at import): importing theory.py never returns.

Expected: every theory.py question scores 0 with `timeout` after the import deadline (one
deadline for the whole part, not one per check); mlp.py is graded in full.
"""

while True:
    pass

from _tkey import backward, forward, jacobians, loss, sgd_step  # noqa: E402,F401 - never reached
