"""backprop-grader: an autograder for the backpropagation homework (NYU DS-GA 1008 HW1)."""

__version__ = "0.1.0"
