"""Diagnosis codes and check statuses: stable names that are part of the JSON schema."""

from __future__ import annotations

from typing import Literal, get_args

Code = Literal[
    "missing", "import_error", "exception", "timeout", "crash", "not_array", "shape",
    "transposed", "sign", "scaled", "nonfinite", "wrong_values", "input_mutated",
    "nondeterministic", "autograd_used",
]
"""Every failing check carries exactly one of these (README, "Diagnosis codes")."""

CODES: tuple[Code, ...] = get_args(Code)

WORKER_CODES: tuple[Code, ...] = ("timeout", "crash")
"""Codes that mean the worker could not answer at all (nothing is shrunk through them)."""

Status = Literal["pass", "fail", "error"]
"""pass: earned its points; fail: the submission is wrong; error: it could not be checked."""

STATUSES: tuple[Status, ...] = get_args(Status)

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)
