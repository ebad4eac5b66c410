"""Standalone reproduction scripts for HW1's failed examples (the part spec's `repro` hook).

`repro_script(request)` writes a Python script that needs only numpy and torch (never the
grader): run in the submission folder, it rebuilds the failed example with the exact values
the grader sent, calls the student's code the way the grader's worker does (float32 tensors for
mlp.py, float64 numpy arrays for theory.py), prints expected against got for every value the
check judged, and exits 1 while the failure reproduces (a value off by more than the
tolerance, or an exception), 0 once it does not. Every number is embedded exactly (repr of a
float64); expected values are the grader's oracle's. Returns None for a call it cannot rebuild
(the hygiene tasks) or a judged value it cannot name.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ...engine.checks import ReproRequest

PARAMS = ("W1", "b1", "W2", "b2")
GRADS = ("dJdW1", "dJdb1", "dJdW2", "dJdb2")
UPDATE = re.compile(r"^the update of (W1|b1|W2|b2)$")
MASKED = "dJdy_hat (where 0 < y_hat < 1)"

MLP_RUNS = {
    "mlp.forward": '''    net = build()
    return {"y_hat": net.forward(t32(INPUTS["x"]))}''',
    "mlp.backward": '''    net = build()
    net.forward(t32(INPUTS["x"]))
    net.backward(t32(INPUTS["dJdy_hat"]))
    return {k: net.grads[k] for k in ("dJdW1", "dJdb1", "dJdW2", "dJdb2")}''',
    "mlp.loss": '''    out = getattr(mlp, ARGS["function"])(t32(INPUTS["y"]), t32(INPUTS["y_hat"]))
    J, dJdy_hat = out
    J = scalar(J)
    inside = (INPUTS["y_hat"] > 0) & (INPUTS["y_hat"] < 1)
    return {"J": J, "dJdy_hat": dJdy_hat, "dJdy_hat (where 0 < y_hat < 1)": as_array(dJdy_hat)[inside]}''',
    "mlp.end_to_end": '''    net = build()
    y_hat = net.forward(t32(INPUTS["x"]))
    J, dJdy_hat = getattr(mlp, ARGS["function"])(t32(INPUTS["y"]), y_hat)
    net.backward(dJdy_hat)
    return {k: net.grads[k] for k in ("dJdW1", "dJdb1", "dJdW2", "dJdb2")}''',
}
BUILD = '''

def build():
    """The network as the grader builds it: the handout's constructor, then its parameters."""
    net = mlp.MLP(linear_1_in_features=ARGS["n"], linear_1_out_features=ARGS["d"], f_function=ARGS["f"],
                  linear_2_in_features=ARGS["d"], linear_2_out_features=ARGS["K"], g_function=ARGS["g"])
    for key in ("W1", "b1", "W2", "b2"):
        net.parameters[key] = t32(INPUTS[key])
    return net
'''
THEORY_RUN = '''    kwargs = dict(ARGS["kwargs"], **{k: v.copy() for k, v in INPUTS.items()})
    out = getattr(theory, ARGS["function"])(**kwargs)
    if not isinstance(out, dict):
        return {"loss": scalar(out)}
    values = dict(out)
    for key in ("W1", "b1", "W2", "b2"):
        if key in values and np.shape(as_array(values[key])) == INPUTS[key].shape:
            values["the update of " + key] = (INPUTS[key] - as_array(values[key])) / ARGS["kwargs"]["lr"]
    return values'''

TEMPLATE = '''#!/usr/bin/env python3
"""Reproduces backprop-grader's failed check %(check)s (grading seed %(grading_seed)s%(example)s).

Run it in your submission folder:  python %(filename)s
It rebuilds the failing example with the grader's exact values, calls your %(module)s.py as the
grader does, prints expected and got, and exits 1 while the failure reproduces (0 once it does
not). It needs only numpy and torch.
"""

import math
import sys
import traceback

import numpy as np
import torch  # noqa: F401 - mlp.py works on torch tensors

sys.path.insert(0, ".")
import %(module)s  # noqa: E402

RTOL, ATOL = %(rtol)r, %(atol)r
ARGS = %(args)s
INPUTS = {
%(inputs)s
}
EXPECTED = {
%(expected)s
}


def t32(array):
    return torch.from_numpy(np.array(array, dtype=np.float32))


def as_array(value):
    """A float64 array of what your code returned, or None if it is not an array of numbers."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def scalar(value):
    """A value of one number as a 0-d array (as the grader reads a loss), else unchanged."""
    array = as_array(value)
    return array.reshape(()) if array is not None and array.size == 1 else value
%(build)s

def run():
%(run)s


def close(got, expected):
    if got is None or got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    bound = RTOL * np.linalg.norm(expected) + ATOL * math.sqrt(max(expected.size, 1))
    return float(np.linalg.norm(got - expected)) <= bound


def main():
    np.set_printoptions(precision=6, suppress=True, linewidth=100)
    for name, value in INPUTS.items():
        print("%%s %%s =\\n%%s" %% (name, value.shape, value))
    try:
        got = run()
    except Exception:  # noqa: BLE001 - your code raised: that is the failure
        traceback.print_exc()
        print("\\nREPRODUCED: your code raised an exception on this example")
        return 1
    wrong = []
    for name, expected in EXPECTED.items():
        try:
            value = as_array(got[name])
        except Exception:  # noqa: BLE001 - a missing or unreadable value
            value = None
        print("\\n%%s: expected %%s =\\n%%s" %% (name, expected.shape, expected))
        print("%%s: got %%s =\\n%%s" %% (name, "nothing usable" if value is None else value.shape, value))
        if value is not None and value.shape == expected.shape:
            print("difference (got - expected) =\\n%%s" %% (value - expected))
        if not close(value, expected):
            wrong.append(name)
    if wrong:
        print("\\nREPRODUCED: %%s differ%%s from the expected value"
              %% (", ".join(wrong), "s" if len(wrong) == 1 else ""))
        return 1
    print("\\nnot reproduced: every value matches the expected one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def _float(value: float) -> str:
    if math.isnan(value):
        return "math.nan"
    if math.isinf(value):
        return "math.inf" if value > 0 else "-math.inf"
    return repr(float(value))


def array_literal(value: Any) -> str | None:
    """Python source for `value` as an exact float64 numpy array, or None if it is not numeric."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        return None
    array = array.astype(np.float64)
    flat = ", ".join(_float(v) for v in array.reshape(-1))
    return "np.array([%s], dtype=np.float64).reshape(%r)" % (flat, tuple(array.shape))


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _knowable(name: str, task: str) -> bool:
    """Whether the script's `run()` for `task` produces the value called `name`."""
    if task == "mlp.forward":
        return name == "y_hat"
    if task in ("mlp.backward", "mlp.end_to_end"):
        return name in GRADS
    if task == "mlp.loss":
        return name in ("J", "dJdy_hat", MASKED)
    return task == "call"


def repro_script(request: ReproRequest) -> str | None:
    """The script reproducing `request`'s failed example (see the module's docstring), or None."""
    task = request.task
    if task not in MLP_RUNS and task != "call":
        return None
    if not request.expected and request.code != "exception":
        return None
    if not all(_knowable(name, task) for name in request.expected):
        return None
    arrays: dict[str, str] = {}
    flat = request.args.get("kwargs", {}) if task == "call" else request.args
    if not isinstance(flat, dict):
        return None
    for name, value in flat.items():
        if isinstance(value, np.ndarray):
            literal = array_literal(value)
            if literal is None:
                return None
            arrays[name] = literal
    plain = {k: v for k, v in flat.items() if not isinstance(v, np.ndarray)}
    if not all(_plain(v) for v in plain.values()):
        return None
    if task == "call":
        args: dict[str, Any] = {"function": request.args.get("function"), "kwargs": plain}
    else:
        args = plain
    expected = {}
    for name, value in request.expected.items():
        literal = array_literal(value)
        if literal is None:
            return None
        expected[name] = literal
    module = "theory" if task == "call" else "mlp"
    example = ", example seed %d" % request.example_seed if request.example_seed is not None else ""
    return TEMPLATE % {
        "check": request.check.id, "grading_seed": request.grading_seed, "example": example,
        "filename": repro_filename(request.check.id), "module": module,
        "rtol": request.tolerance.rtol, "atol": request.tolerance.atol, "args": repr(args),
        "inputs": "\n".join("    %r: %s," % (k, v) for k, v in arrays.items()),
        "expected": "\n".join("    %r: %s," % (k, v) for k, v in expected.items()),
        "build": BUILD if module == "mlp" else "",
        "run": MLP_RUNS[task] if module == "mlp" else THEORY_RUN,
    }


def repro_filename(check_id: str) -> str:
    """A file name for the script of `check_id`: repro_mlp.backward_relu-relu.py."""
    return "repro_%s.py" % re.sub(r"[^A-Za-z0-9_.-]+", "_", check_id).strip("_")
