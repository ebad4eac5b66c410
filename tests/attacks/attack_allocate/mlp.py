"""ATTACK (allocate until stopped): bce_loss maps 256 MiB blocks of memory until the system
refuses, then asks for 2 GiB more in one piece.

The worker's address-space limit stops it with MemoryError long before the machine runs out;
the memory is given back when the call ends. Everything else is the honest key.

Expected: mlp.bce_loss scores 0 (MemoryError); every other question full marks, in the same
worker afterwards.
"""

import mmap

from _key import MLP, mse_loss  # noqa: F401 - honest parts


def bce_loss(y, y_hat):
    hold = []
    try:
        while True:
            hold.append(mmap.mmap(-1, 256 << 20))
    except (OSError, MemoryError, ValueError):
        pass
    print("mapped %d blocks of 256 MiB before the limit" % len(hold))
    hold.append(bytearray(2 << 30))
    raise AssertionError("unreachable: the allocation above must fail")
