"""`python -m grader ...` is the same as the `grader` command."""

from .faces.cli import run

run()
