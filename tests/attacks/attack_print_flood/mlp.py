"""ATTACK (print 100 MB): the first forward call in each worker prints 50 MB through print()
(100 000 lines, then one 40 MB string) and writes 50 MB straight to file descriptors 1 and 2;
then it returns the honest result. Everything is the honest key.

Expected: full marks; what the report keeps of the output is bounded; the grader finishes
promptly.
"""

import os
import sys

import _key
from _key import bce_loss, mse_loss  # noqa: F401 - honest parts

_flooded = []


class MLP(_key.MLP):
    def forward(self, x):
        if not _flooded:
            _flooded.append(True)
            for i in range(100_000):
                print("line %06d of a flood that never ends " % i + "." * 60)
            sys.stdout.write("A" * (40 << 20))
            block = b"B" * (1 << 20)
            for _ in range(25):
                os.write(1, block)
                os.write(2, block)
        return super().forward(x)
