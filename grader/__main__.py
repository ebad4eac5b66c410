"""`python -m grader ...` is the same as the `grader` command."""

from .cli import run

run()
