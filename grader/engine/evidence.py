"""A failed example's evidence as plain JSON data, and the request for its reproduction script.

`evidence_json(failure)` gives {"inputs", "expected", "got"}, each {name: nested list}: the
array arguments of the failure's last call into the worker, and the values it judged. A value
that is not an array is a string describing it; a non-finite number is "nan", "inf" or "-inf"
(JSON has no such numbers). Nothing here runs student code: every value is already decoded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..model.values import NotArray
from .checks import CheckSpec, Failure, ReproRequest
from .compare import Tolerance


def plain(value: Any) -> Any:
    """`value` as JSON data: nested lists of floats, strings for non-finite numbers and for
    values that are not arrays."""
    if isinstance(value, np.ndarray):
        return plain(value.astype(float).tolist()) if value.dtype.kind in "biuf" else str(value.tolist())[:200]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        number = float(value)
        return number if math.isfinite(number) else ("nan" if math.isnan(number) else "inf" if number > 0 else "-inf")
    if isinstance(value, NotArray):
        return value.description
    return type(value).__name__


def call_arrays(args: dict[str, Any]) -> dict[str, np.ndarray]:
    """The array arguments of a worker call, nested argument dicts flattened (theory's kwargs)."""
    found: dict[str, np.ndarray] = {}
    for name, value in args.items():
        if isinstance(value, np.ndarray):
            found[name] = value
        elif isinstance(value, dict):
            found.update(call_arrays(value))
    return found


def evidence_json(failure: Failure) -> dict[str, Any] | None:
    """The failed example's inputs, expected and got values, or None when the failure carries
    neither a call nor judged values (or is not about an example)."""
    if not failure.about_example:
        return None
    inputs = call_arrays(failure.call[1]) if failure.call else {}
    values = failure.values or {}
    if not inputs and not values:
        return None
    return {"inputs": {k: plain(v) for k, v in inputs.items()},
            "expected": {k: plain(v) for k, v in (values.get("expected") or {}).items()},
            "got": {k: plain(v) for k, v in (values.get("got") or {}).items()}}


def repro_request(check: CheckSpec, failure: Failure, tolerance: Tolerance, grading_seed: int,
                  scenario: Any) -> ReproRequest | None:
    """What a part's `repro` hook needs, or None when the failure has no call to rebuild."""
    if failure.call is None or not failure.about_example:
        return None
    task, args = failure.call
    values = failure.values or {}
    example_seed = getattr(scenario, "seed", None)
    return ReproRequest(check=check, task=task, args=args, expected=dict(values.get("expected") or {}),
                        got=dict(values.get("got") or {}), tolerance=tolerance, code=str(failure.code),
                        grading_seed=grading_seed, example_seed=example_seed if isinstance(example_seed, int) else None)
