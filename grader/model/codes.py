"""Diagnosis codes and check statuses: stable names that are part of the JSON schema."""

from __future__ import annotations

from typing import Literal, get_args

Code = Literal[
    "missing", "import_error", "exception", "timeout", "crash", "not_array", "shape",
    "transposed", "sign", "scaled", "nonfinite", "wrong_values", "input_mutated",
    "nondeterministic", "autograd_used", "finite_differences",
    # written answer sheets (a document part): a fail, three reasons for review, two errors
    "not_a_gradient", "unreadable", "concept", "human_only", "limit", "grader_error",
]
"""Every check that did not pass carries exactly one of these (README, "Diagnosis codes")."""

CODES: tuple[Code, ...] = get_args(Code)

WORKER_CODES: tuple[Code, ...] = ("timeout", "crash")
"""Codes that mean the worker could not answer at all (nothing is shrunk through them)."""

REVIEW_CODES: tuple[Code, ...] = ("unreadable", "concept", "human_only")
"""Codes of a `review` check: why a person must decide."""

Status = Literal["pass", "fail", "error", "review"]
"""pass: earned its points; fail: the submission is wrong; error: it could not be checked;
review: the grader cannot decide with confidence and a person must (its points are pending:
counted neither as earned nor as lost)."""

STATUSES: tuple[Status, ...] = get_args(Status)

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)
