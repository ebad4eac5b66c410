"""Course-style test 3: f=relu, g=relu, MSE loss, batch 10, 2 -> 20 -> 5.

Usage: python bench/course_tests/test3.py SUBMISSION_DIR   (prints four booleans)
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import run  # noqa: E402

if __name__ == "__main__":
    run("relu", "relu", "mse")
