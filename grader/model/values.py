"""Student values that are not arrays of numbers, as decoded from a worker's reply."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NotArray:
    """A student value that is not an array of numbers; `description` says what it was."""

    description: str


@dataclass(frozen=True)
class Absent(NotArray):
    """A value the student never provided (e.g. a missing key in a result dict)."""
