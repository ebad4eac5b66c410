"""HW1 practical part: the checks that grade a submission's `mlp.py` (the handout's interface).

Questions: mlp.forward, mlp.mse_loss, mlp.bce_loss, mlp.backward, mlp.hygiene. Every
expected value comes from the oracle (`oracle.py` beside this file); every student value from the worker task named
in the call. Shapes follow PyTorch: x (B,n), W1 (d,n), b1 (d,), W2 (K,d), b2 (K,), y (B,K).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import TYPE_CHECKING

import numpy as np

from ...engine.checks import CallFailed, CheckContext, CheckSpec, Failure, NoEvidence, PartSpec, PartState
from ...engine.compare import diagnose, returned_none_hint, shape_text, tolerance_bound
from ...engine.compare import judge as compare_judge
from ...engine.source import definition_lines
from ...model.results import CheckResult
from ...model.values import Absent, NotArray
from . import derivation_policy
from .autograd_scan import AutogradUse, autograd_uses
from .deferred import Deferred
from .locations import value_line
from .repro import repro_script
from .scale_stories import scale_story
from .strategies import Scenario, float32_values, loss_inputs, network_values, scenarios
from .variants import MLP_ACTIVATIONS as ACTIVATIONS
from .variants import MSE_CONVENTION_SCALE, MSE_CONVENTION_TEXT, Settings

if TYPE_CHECKING:
    from . import float32_spread, oracle
else:  # imported once the workers are started (see deferred.py and build_part's imports)
    float32_spread = Deferred(__package__ + ".float32_spread")
    oracle = Deferred(__package__ + ".oracle")

QUESTIONS = {
    "mlp.forward": "MLP forward pass",
    "mlp.mse_loss": "MSE loss and its gradient",
    "mlp.bce_loss": "BCE loss and its gradient",
    "mlp.backward": "MLP backward pass (parameter gradients)",
    "mlp.hygiene": "Hygiene: no mutation, clearing, determinism, no autograd",
}
SYMBOLIC_SHAPES = {
    "y_hat": "(B,K)", "dJdy_hat": "(B,K)", "dJdW1": "(d,n)", "dJdb1": "(d,)",
    "dJdW2": "(K,d)", "dJdb2": "(K,)", "J": "a scalar",
}
GRAD_NAMES = ("dJdW1", "dJdb1", "dJdW2", "dJdb2")
LOSS_FUNCTIONS = {"mse": "mse_loss", "bce": "bce_loss"}
FORWARD = ("MLP.__init__", "MLP.forward")
BACKWARD = FORWARD + ("MLP.backward",)
CLEAR = BACKWARD + ("MLP.clear_grad_and_cache",)
"""The student functions a worker task runs (a function that timed out is not run again)."""
PARAMS = ("W1", "b1", "W2", "b2")
NETWORK_FIELDS = ("B", "n", "d", "K", "f", "g", "seed")
LOSS_FIELDS = ("B", "K", "seed")
VALUE_CODES = ("not_array", "shape", "transposed", "sign", "scaled", "nonfinite", "wrong_values")


def _params(values: dict) -> dict:
    return {k: values[k] for k in PARAMS}


def _net_args(s: Scenario, values: dict) -> dict:
    return dict(n=s.n, d=s.d, K=s.K, f=s.f, g=s.g, **_params(values))


def _annotate(function: str, all_zero: bool = False, confirm=None):
    """Hints for a diagnosis of `function`'s output. "not implemented yet?" only when
    `all_zero` (every value the function returned is zero) and `confirm()`, when given, says
    it returns zeros on a larger example too (one zero entry proves nothing)."""
    zero_elsewhere: list[bool] = []

    def annotate(found: Failure, got: object, expected: np.ndarray) -> str:
        extra = ""
        if found.code in ("shape", "transposed") and found.name in SYMBOLIC_SHAPES:
            extra += " [%s must be %s = %s]" % (found.name, SYMBOLIC_SHAPES[found.name], shape_text(expected.shape))
        if found.name in ("dJdb1", "dJdb2") and isinstance(got, np.ndarray) and got.ndim == 2 and 1 in got.shape:
            extra += "; broadcasting hides this in an update, but a gradient has its parameter's shape"
        if found.code == "wrong_values" and all_zero:
            if not zero_elsewhere:
                zero_elsewhere.append(confirm is None or confirm())
            if zero_elsewhere[0]:
                extra += " (all zeros: %s not implemented yet?)" % function
        return extra + returned_none_hint(got, function)

    return annotate


def judge(ctx, items: list[tuple[str, object, np.ndarray]], function: str, outputs: list | None = None,
          confirm=None, slack: dict[str, float] | None = None) -> Failure | None:
    """Compare (name, got, expected) in order with PyTorch-shape hints for `function`;
    `outputs` are all the values the function returned (default: those judged); `slack` is
    float32's unavoidable deviation (float32_spread)."""
    returned = [got for _, got, _ in items] if outputs is None else outputs
    all_zero = all(isinstance(got, np.ndarray) and not np.any(got) for got in returned)
    return compare_judge(items, ctx.tolerance, _annotate(function, all_zero, confirm), slack)


def _unresolved(truth: dict, slack: dict[str, float]) -> NoEvidence | None:
    """No evidence where an equivalent float32 formulation misses the truth by more than 1%:
    float32 cannot tell right from wrong there (e.g. a sigmoid saturated to exactly 1.0)."""
    for name, deviation in slack.items():
        if deviation > 0.01 * float(np.linalg.norm(truth[name])) * float32_spread.SAFETY:
            return NoEvidence(Failure("wrong_values", "float32 arithmetic cannot resolve %s on this example" % name))
    return None


def _zero_elsewhere(ctx, s: Scenario, task: str, read) -> bool:
    """Whether the function returns only zeros on a larger example too (`read(reply)` gives
    the values to look at)."""
    larger = dataclasses.replace(s, B=max(s.B, 3), n=max(s.n, 3), d=max(s.d, 3), K=max(s.K, 3), seed=s.seed + 1)
    values = network_values(larger)
    args = dict(_net_args(larger, values), x=values["x"])
    if task == "mlp.backward":
        args["dJdy_hat"] = _upstream(ctx, larger, values)
    try:
        reply = ctx.call(task, args, "a larger example", functions=BACKWARD if task == "mlp.backward" else FORWARD)
    except CallFailed:
        return False
    return all(isinstance(v, np.ndarray) and not np.any(v) for v in read(reply))


def _scalar(value: object) -> object:
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(())
    return value


def _describe(value: object) -> str:
    if isinstance(value, NotArray):
        return value.description
    if isinstance(value, list):
        return "a sequence of %d values" % len(value)
    if isinstance(value, dict):
        return "a dict"
    return "an array of shape %s" % shape_text(getattr(value, "shape", ()))


def _loss_pair(out: object, function: str) -> tuple[object, object] | Failure:
    if isinstance(out, list) and len(out) == 2:
        return out[0], out[1]
    return Failure("not_array", "%s must return the pair (J, dJdy_hat); it returned %s%s"
                   % (function, _describe(out), returned_none_hint(out, function)))


def _grads(run: dict) -> dict:
    grads = run.get("grads") if isinstance(run, dict) else None
    if not isinstance(grads, dict):
        return {k: NotArray("unreadable") for k in GRAD_NAMES}
    return {k: grads.get(k, Absent("MLP.grads has no %r" % k)) for k in GRAD_NAMES}


# -- mlp.forward ---------------------------------------------------------------------------

def _beyond_float32(ctx, truth: dict, approximate: dict) -> NoEvidence | None:
    """No evidence when PyTorch itself, computing in float32 (`approximate`: the oracle's
    values in float32, `Spread.plain`), misses the float64 truth by more than a tenth of the
    tolerance on this example (e.g. a sigmoid saturated to exactly 1.0): no float32 submission
    could be held to the tolerance there."""
    for name, exact in truth.items():
        if float(np.linalg.norm(approximate[name] - exact)) > 0.1 * tolerance_bound(exact, ctx.tolerance):
            return NoEvidence(Failure("wrong_values", "float32 arithmetic cannot resolve %s on this example" % name))
    return None


def _right(ctx, items: list[tuple[str, object, np.ndarray]]) -> bool:
    """Every value right within the tolerance alone. Then it is right with any float32 slack too
    (a slack only widens the bound), so the spread need not be computed."""
    return compare_judge(items, ctx.tolerance) is None


def _call_resolved(ctx, truth: dict, slack, call) -> dict | NoEvidence:
    """`call()`'s reply; when it fails, no evidence where float32 cannot resolve the truth
    (`slack()`: the spread, computed only then), else the failure."""
    try:
        return call()
    except CallFailed:
        unresolvable = _unresolved(truth, slack())
        if unresolvable is not None:
            return unresolvable
        raise


def forward_check(ctx, s: Scenario) -> Failure | NoEvidence | None:
    values = network_values(s)
    params = _params(values)
    truth = {"y_hat": oracle.mlp_forward(params, values["x"], s.f, s.g)}
    unresolvable = _beyond_float32(ctx, truth, float32_spread.forward_plain(params, values["x"], s.f, s.g))
    if unresolvable is not None:
        return unresolvable

    def slack() -> dict[str, float]:
        return float32_spread.forward_slack(params, values["x"], s.f, s.g, truth).slack

    reply = _call_resolved(ctx, truth, slack, lambda: ctx.call(
        "mlp.forward", dict(_net_args(s, values), x=values["x"]), "MLP.forward", functions=FORWARD))
    if isinstance(reply, NoEvidence):
        return reply
    items = [("y_hat", reply["y_hat"], truth["y_hat"])]
    if _right(ctx, items):
        return None
    allowed = slack()
    unresolvable = _unresolved(truth, allowed)
    if unresolvable is not None:
        return unresolvable
    failure = judge(ctx, items, "MLP.forward", slack=allowed,
                    confirm=lambda: _zero_elsewhere(ctx, s, "mlp.forward", lambda r: [r["y_hat"]]))
    if failure is not None and failure.code == "wrong_values":
        failure.message += _transposed_weights_hint(ctx, s, values, reply["y_hat"])
    return failure


def _transposed_weights_hint(ctx, s: Scenario, values: dict, y_hat: object) -> str:
    """Name a forward pass computed with a weight matrix transposed (x @ W1 for x @ W1.T),
    which only shows in values when that matrix is square."""
    for names in (("W1",), ("W2",), ("W1", "W2")):
        if any(values[k].shape[0] != values[k].shape[1] for k in names):
            continue
        params = dict(_params(values), **{k: values[k].T.copy() for k in names})
        if diagnose("y_hat", y_hat, oracle.mlp_forward(params, values["x"], s.f, s.g), ctx.tolerance) is None:
            return ("; y_hat equals the forward pass with %s transposed: W1 is (d,n) and W2 is (K,d), so a"
                    " layer computes x @ W.T + b" % " and ".join(names))
    return ""


# -- losses --------------------------------------------------------------------------------

def _convention(ctx: CheckContext, kind: str) -> str:
    settings: Settings = ctx.settings
    return settings.loss_convention if kind == "mse" else "mean"


def _name_convention(ctx, failure: Failure, kind: str, name: str, got: object, inputs: dict) -> None:
    """When a wrong MSE value matches another semester's convention exactly, say so. With a
    single entry (B = K = 1) the conventions differ only by a constant, so nothing is named
    here; the scale law found across sizes names the convention then."""
    if kind != "mse" or not isinstance(got, np.ndarray) or inputs["y"].size == 1:
        return
    index = 0 if name == "J" else 1
    for convention in oracle.MSE_CONVENTIONS:
        if convention == _convention(ctx, kind):
            continue
        other = oracle.loss_and_grad(kind, inputs["y"], inputs["y_hat"], convention)[index]
        if diagnose(name, got, np.asarray(other), ctx.tolerance) is None:
            failure.message += (
                "; it matches the %r convention (%s), but this course's rubric uses %r (%s)"
                % (convention, MSE_CONVENTION_TEXT[convention], _convention(ctx, kind),
                   MSE_CONVENTION_TEXT[_convention(ctx, kind)]))
            return


def loss_check(kind: str, part: str):
    """part: "value" (J), "gradient" (dJdy_hat) or "saturated" (BCE at y_hat in {0, 1})."""
    function = LOSS_FUNCTIONS[kind]

    def run(ctx, s: Scenario) -> Failure | None:
        inputs = loss_inputs(s, saturated=(part == "saturated"))
        reply = ctx.call("mlp.loss", dict(function=function, **inputs), function, functions=(function,))
        pair = _loss_pair(reply["out"], function)
        if isinstance(pair, Failure):
            return pair
        J, dJdy_hat = pair
        J_exp, dJ_exp = oracle.loss_and_grad(kind, inputs["y"], inputs["y_hat"], _convention(ctx, kind))
        if part == "value":
            items = [("J", _scalar(J), np.asarray(J_exp))]
        elif part == "gradient":
            items = [("dJdy_hat", dJdy_hat, dJ_exp)]
        else:
            return _saturated(ctx, _scalar(J), dJdy_hat, J_exp, dJ_exp, inputs, function)
        if _right(ctx, items):
            return None
        slack = float32_spread.loss_slack(kind, inputs["y"], inputs["y_hat"], _convention(ctx, kind),
                                          {"J": np.asarray(J_exp), "dJdy_hat": dJ_exp}).slack
        failure = judge(ctx, items, function, outputs=[J, dJdy_hat], slack=slack)
        if failure is not None:
            _name_convention(ctx, failure, kind, items[0][0], items[0][1], inputs)
        return failure

    return run


def _saturated(ctx, J, dJdy_hat, J_exp, dJ_exp, inputs: dict, function: str) -> Failure | None:
    """J must equal torch's (log clamped at -100); dJdy_hat must be finite everywhere and
    right where y_hat is not exactly 0 or 1 (there torch's own value is an artefact)."""
    failure = judge(ctx, [("J", J, np.asarray(J_exp))], function)
    if failure is not None:
        failure.message = ("with some predictions exactly 0 or 1 (y_hat = %s, y = %s), where torch clamps each"
                           " log at -100: %s" % (_short(inputs["y_hat"]), _short(inputs["y"]), failure.message))
        return failure
    if not isinstance(dJdy_hat, np.ndarray) or dJdy_hat.shape != dJ_exp.shape:
        return judge(ctx, [("dJdy_hat", dJdy_hat, dJ_exp)], function)
    if not np.all(np.isfinite(dJdy_hat)):
        return Failure("nonfinite", "dJdy_hat contains NaN or inf where a prediction is exactly 0 or 1;"
                       " clamp as torch does so that the gradient stays finite", "dJdy_hat")
    inside = (inputs["y_hat"] > 0) & (inputs["y_hat"] < 1)
    return judge(ctx, [("dJdy_hat (where 0 < y_hat < 1)", dJdy_hat[inside], dJ_exp[inside])], function)


def _short(array: np.ndarray) -> str:
    return np.array2string(array, precision=3, separator=",", threshold=12)


# -- mlp.backward --------------------------------------------------------------------------

def _upstream(ctx, s: Scenario, values: dict) -> np.ndarray:
    y_hat = oracle.mlp_forward(_params(values), values["x"], s.f, s.g)
    _, dJdy_hat = oracle.loss_and_grad(s.loss, values["y"], y_hat, _convention(ctx, s.loss))
    return float32_values(dJdy_hat)


def backward_check(ctx, s: Scenario) -> Failure | NoEvidence | None:
    values = network_values(s)
    dJdy_hat = _upstream(ctx, s, values)
    params = _params(values)
    expected = oracle.mlp_param_grads(params, values["x"], s.f, s.g, dJdy_hat)
    unresolvable = _beyond_float32(ctx, expected, float32_spread.backward_plain(
        params, values["x"], s.f, s.g, dJdy_hat))
    if unresolvable is not None:
        return unresolvable

    def slack() -> dict[str, float]:
        return float32_spread.backward_slack(params, values["x"], s.f, s.g, dJdy_hat, expected).slack

    reply = _call_resolved(ctx, expected, slack, lambda: ctx.call(
        "mlp.backward", dict(_net_args(s, values), x=values["x"], dJdy_hat=dJdy_hat),
        "MLP.forward then MLP.backward", functions=BACKWARD))
    if isinstance(reply, NoEvidence):
        return reply
    grads = _grads(reply["run"])
    items = [(k, grads[k], expected[k]) for k in GRAD_NAMES]
    if _right(ctx, items):
        return None
    allowed = slack()
    return _unresolved(expected, allowed) or judge(
        ctx, items, "MLP.backward", slack=allowed,
        confirm=lambda: _zero_elsewhere(ctx, s, "mlp.backward", lambda r: list(_grads(r["run"]).values())))


def end_to_end_check(ctx, s: Scenario) -> Failure | NoEvidence | None:
    """As the course's own tests: the student's loss feeds the student's backward."""
    values = network_values(s)
    function = LOSS_FUNCTIONS[s.loss]
    params, convention = _params(values), _convention(ctx, s.loss)
    expected = oracle.mlp_end_to_end_grads(params, values["x"], values["y"], s.f, s.g, s.loss, convention)
    unresolvable = _beyond_float32(ctx, expected, float32_spread.end_to_end_plain(
        params, values["x"], values["y"], s.f, s.g, s.loss, convention))
    if unresolvable is not None:
        return unresolvable

    def slack() -> dict[str, float]:
        return float32_spread.end_to_end_slack(params, values["x"], values["y"], s.f, s.g, s.loss, convention,
                                               expected).slack

    reply = _call_resolved(ctx, expected, slack, lambda: ctx.call(
        "mlp.end_to_end", dict(_net_args(s, values), x=values["x"], y=values["y"], function=function),
        "MLP.forward, %s, MLP.backward" % function, functions=FORWARD + (function, "MLP.backward")))
    if isinstance(reply, NoEvidence):
        return reply
    if "grads" not in reply:
        pair = _loss_pair(reply.get("loss_out"), function)
        return _unresolved(expected, slack()) or (
            pair if isinstance(pair, Failure) else Failure("not_array", "%s gave no usable dJdy_hat" % function))
    grads = _grads(reply)
    items = [(k, grads[k], expected[k]) for k in GRAD_NAMES]
    if _right(ctx, items):
        return None
    allowed = slack()
    return _unresolved(expected, allowed) or judge(ctx, items, "MLP.backward", slack=allowed)


# -- mlp.hygiene ---------------------------------------------------------------------------

def _evidence_call(ctx, task: str, args: dict, what: str, key: str, functions: tuple[str, ...]):
    """Call for a hygiene check: a failing call is no evidence about the property."""
    if ctx.is_dead(key):
        return NoEvidence(Failure("timeout", "%s already failed to finish in this check" % what))
    try:
        return ctx.call(task, args, what, key=key, functions=functions)
    except CallFailed as failed:
        return NoEvidence(failed.failure)


def _earned(ctx, function: str, items: list[tuple[str, object, np.ndarray]]) -> NoEvidence | None:
    """Hygiene is earned: an example is evidence only where the function the check watches got
    at least one of its values right (a function that computes nothing earns nothing)."""
    found = []
    for name, got, expected in items:
        if isinstance(got, Absent):
            found.append(Failure("missing", "%s is missing" % name, name))
            continue
        diagnosis = diagnose(name, got, expected, ctx.tolerance)
        if diagnosis is None and (np.any(expected) or len(items) == 1):
            return None
        if diagnosis is not None:
            found.append(diagnosis)
    first = found[0] if found else Failure("wrong_values", "every value is zero on this example, which shows nothing")
    return NoEvidence(Failure(first.code, "not earned: a hygiene check counts only where %s returns correct values,"
                              " and it did not (%s%s)" % (function, first.message, returned_none_hint(
                                  items[0][1], function)), first.name))


def _backward_earned(ctx, s: Scenario, values: dict, dJdy_hat: np.ndarray, run: dict) -> NoEvidence | None:
    """_earned for MLP.backward: some nonzero gradient of `run` is right."""
    expected = oracle.mlp_param_grads(_params(values), values["x"], s.f, s.g, dJdy_hat)
    grads = _grads(run)
    return _earned(ctx, "MLP.backward", [(k, grads[k], expected[k]) for k in GRAD_NAMES])


def _mutated(ctx, function: str, sent: dict, after: dict) -> Failure | NoEvidence | None:
    """input_mutated when an argument changed; no evidence when the worker did not report it."""
    for name, original in sent.items():
        now = after.get(name)
        if not isinstance(now, np.ndarray):
            return NoEvidence(Failure("crash", "the worker did not report %s after %s" % (name, function)))
        if not np.array_equal(np.asarray(now), original, equal_nan=True):
            return Failure(
                "input_mutated",
                "%s changed its argument %s in place (an in-place operation such as %s *= ..., %s[...] = ..."
                " or a method ending in _); compute into a new tensor instead" % (function, name, name, name),
                name)
    return None


def forward_inputs_check(ctx, s: Scenario):
    values = network_values(s)
    reply = _evidence_call(ctx, "mlp.forward", dict(_net_args(s, values), x=values["x"]), "MLP.forward", "forward",
                           FORWARD)
    if isinstance(reply, NoEvidence):
        return reply
    y_hat = oracle.mlp_forward(_params(values), values["x"], s.f, s.g)
    return (_earned(ctx, "MLP.forward", [("y_hat", reply["y_hat"], y_hat)])
            or _mutated(ctx, "MLP.forward", {"x": values["x"]}, {"x": reply["x_after"]}))


def loss_inputs_check(ctx, s: Scenario):
    function = LOSS_FUNCTIONS[s.loss]
    if ctx.state.attrs.get(function, "missing") == "missing":
        return NoEvidence(Failure("missing", "mlp.py has no %s" % function))
    inputs = loss_inputs(s)
    reply = _evidence_call(ctx, "mlp.loss", dict(function=function, **inputs), function, function, (function,))
    if isinstance(reply, NoEvidence):
        return reply
    J_exp, dJ_exp = oracle.loss_and_grad(s.loss, inputs["y"], inputs["y_hat"], _convention(ctx, s.loss))
    pair = _loss_pair(reply["out"], function)
    if isinstance(pair, Failure):
        return NoEvidence(Failure(pair.code, "not earned: a hygiene check counts only where %s returns correct"
                                  " values, and it did not (%s)" % (function, pair.message)))
    return (_earned(ctx, function, [("J", _scalar(pair[0]), np.asarray(J_exp)), ("dJdy_hat", pair[1], dJ_exp)])
            or _mutated(ctx, function, inputs, {"y": reply["y_after"], "y_hat": reply["y_hat_after"]}))


def backward_inputs_check(ctx, s: Scenario):
    values = network_values(s)
    dJdy_hat = _upstream(ctx, s, values)
    args = dict(_net_args(s, values), x=values["x"], dJdy_hat=dJdy_hat)
    reply = _evidence_call(ctx, "mlp.backward", args, "MLP.backward", "backward", BACKWARD)
    if isinstance(reply, NoEvidence):
        return reply
    return (_backward_earned(ctx, s, values, dJdy_hat, reply["run"])
            or _mutated(ctx, "MLP.backward", {"dJdy_hat": dJdy_hat, "x": values["x"]},
                        {"dJdy_hat": reply["dJdy_hat_after"], "x": reply["x_after"]}))


def clear_check(ctx, s: Scenario):
    values = network_values(s)
    args = dict(_net_args(s, values), x=values["x"], dJdy_hat=_upstream(ctx, s, values))
    reply = _evidence_call(ctx, "mlp.clear", args, "MLP.clear_grad_and_cache", "clear", CLEAR)
    if isinstance(reply, NoEvidence):
        return reply
    earned = _backward_earned(ctx, s, values, args["dJdy_hat"], reply["before"])
    if earned is not None:  # clearing is only seen on gradients that backward really computed
        return earned
    for name, value in _grads(reply).items():
        if isinstance(value, np.ndarray) and np.any(value != 0):
            return Failure("wrong_values", "after clear_grad_and_cache, %s is not zero" % name, name)
    if reply.get("cache_len", 0) != 0:
        return Failure("wrong_values", "after clear_grad_and_cache, MLP.cache still holds %s entries"
                       % reply.get("cache_len"), "cache")
    return None


def _same(a: object, b: object) -> bool:
    """Bitwise equal (NaNs equal): the same code on the same input in one process must give
    the same bits."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return True


def deterministic_check(ctx, s: Scenario):
    """forward/backward twice on one network (cleared in between) and once on a fresh one,
    and each loss twice, on identical inputs: every output must be identical."""
    values = network_values(s)
    args = dict(_net_args(s, values), x=values["x"], dJdy_hat=_upstream(ctx, s, values))
    reply = _evidence_call(ctx, "mlp.repeat", args, "MLP.forward/backward twice", "repeat", CLEAR)
    if isinstance(reply, NoEvidence):
        return reply
    if _backward_earned(ctx, s, values, args["dJdy_hat"], reply["first"]) is not None:
        earned = _earned(ctx, "MLP.forward", [("y_hat", reply["first"].get("y_hat"), oracle.mlp_forward(
            _params(values), values["x"], s.f, s.g))])
        if earned is not None:
            return earned
    outputs = {k: dict(_grads(reply[k]), y_hat=reply[k].get("y_hat")) for k in ("first", "second", "fresh")}
    for other, situation in (("fresh", "a second network with the same parameters and input"),
                             ("second", "the same network after clear_grad_and_cache")):
        for name in ("y_hat",) + GRAD_NAMES:
            if not _same(outputs["first"][name], outputs[other][name]):
                return Failure("nondeterministic", "%s differs between two identical runs: %s gave another"
                               " value (randomness, or state kept between calls?)" % (name, situation), name)
    for kind, function in LOSS_FUNCTIONS.items():
        inputs = loss_inputs(Scenario(B=s.B, K=s.K, loss=kind, seed=s.seed))
        runs = [_evidence_call(ctx, "mlp.loss", dict(function=function, **inputs), function, function, (function,))
                for _ in range(2)]
        if any(isinstance(run, NoEvidence) for run in runs):
            continue
        pairs = [pair for run in runs if not isinstance(pair := _loss_pair(run["out"], function), Failure)]
        if len(pairs) < 2:
            continue
        for index, name in enumerate(("J", "dJdy_hat")):
            if not _same(pairs[0][index], pairs[1][index]):
                return Failure("nondeterministic", "%s of %s differs between two calls on identical inputs"
                               " (random numbers in the loss?)" % (name, function), name)
    return None


def no_autograd_check(ctx, s: Scenario):
    """A backward and both losses run in the worker, which counts calls into torch.autograd;
    the count decides (the static scan only adds detail). Needs one completed backward."""
    values = network_values(s)
    args = dict(_net_args(s, values), x=values["x"], dJdy_hat=_upstream(ctx, s, values))
    reply = _evidence_call(ctx, "mlp.backward", args, "MLP.backward", "backward", BACKWARD)
    if isinstance(reply, NoEvidence):
        return reply
    earned = _backward_earned(ctx, s, values, args["dJdy_hat"], reply["run"])
    if earned is not None:
        return earned
    for kind, function in LOSS_FUNCTIONS.items():
        inputs = loss_inputs(Scenario(B=s.B, K=s.K, loss=kind, seed=s.seed))
        _evidence_call(ctx, "mlp.loss", dict(function=function, **inputs), function, function, (function,))
    return derivation_policy.autograd_failure(ctx.state) or _finite_differences(ctx, s)


def _finite_differences(ctx, s: Scenario) -> Failure | None:
    """MLP.backward's matrix-product work, in forward passes, on a small and a larger network
    (derivation_policy decides); nothing is concluded where backward is not right."""
    passes = []
    for n, d, K in derivation_policy.FD_PROBES:
        probe = Scenario(n=n, d=d, K=K, B=derivation_policy.FD_BATCH, f="sigmoid", g="sigmoid", seed=s.seed)
        values = network_values(probe)
        dJdy_hat = _upstream(ctx, probe, values)
        reply = _evidence_call(ctx, "mlp.backward_work", dict(_net_args(probe, values), x=values["x"],
                                                               dJdy_hat=dJdy_hat), "MLP.backward", "backward",
                               BACKWARD)
        if isinstance(reply, NoEvidence) or _backward_earned(ctx, probe, values, dJdy_hat, reply["run"]):
            return None
        passes.append(derivation_policy.forward_passes(reply["work"], n, d, K))
    return derivation_policy.finite_difference_failure(passes)


# -- the part ------------------------------------------------------------------------------

def build_checks(settings: Settings) -> list[CheckSpec]:
    checks: list[CheckSpec] = []
    baseline = {"mse": MSE_CONVENTION_SCALE[settings.loss_convention], "bce": (1.0, {})}
    net = ("MLP", "MLP.forward")
    for f, g in itertools.product(ACTIVATIONS, ACTIVATIONS):
        checks.append(CheckSpec(
            "mlp.forward[%s-%s]" % (f, g), "mlp.forward", "forward, f=%s, g=%s" % (f, g),
            scenarios(f=(f,), g=(g,)), forward_check, requires=net, max_examples=8,
            shown_fields=NETWORK_FIELDS))
    for kind, function in LOSS_FUNCTIONS.items():
        question = "mlp.%s" % function
        parts = ("value", "gradient") + (("saturated",) if kind == "bce" else ())
        for part in parts:
            checks.append(CheckSpec(
                "%s[%s]" % (question, part), question,
                {"value": "J", "gradient": "dJdy_hat", "saturated": "J and dJdy_hat at y_hat exactly 0 or 1"}[part],
                scenarios(loss=(kind,)), loss_check(kind, part), requires=(function,), max_examples=15,
                shown_fields=LOSS_FIELDS, probe_dims=("B", "K"),
                scale_story=scale_story("loss_value" if part == "value" else "loss_gradient", baseline[kind], kind)))
    for f, g in itertools.product(ACTIVATIONS, ACTIVATIONS):
        losses = ("mse", "bce") if g == "sigmoid" else ("mse",)
        checks.append(CheckSpec(
            "mlp.backward[%s-%s]" % (f, g), "mlp.backward", "gradients, f=%s, g=%s, loss %s" % (f, g, "/".join(losses)),
            scenarios(f=(f,), g=(g,), loss=losses), backward_check,
            requires=net + ("MLP.backward",), max_examples=10,
            shown_fields=NETWORK_FIELDS + ("loss",), probe_dims=("B", "K", "n", "d"),
            scale_story=scale_story("backward"), components=GRAD_NAMES))
    for kind, function in LOSS_FUNCTIONS.items():
        checks.append(CheckSpec(
            "mlp.backward[end_to_end-%s]" % kind, "mlp.backward",
            "end to end with your %s, as the course's tests do" % function,
            scenarios(g=("sigmoid",) if kind == "bce" else ACTIVATIONS, loss=(kind,)), end_to_end_check,
            requires=net + ("MLP.backward", function), max_examples=8,
            shown_fields=NETWORK_FIELDS + ("loss",), probe_dims=("B", "K"),
            scale_story=scale_story("loss_gradient", baseline[kind], kind), components=GRAD_NAMES))
    hygiene = [
        ("forward_inputs_unchanged", "MLP.forward leaves x unchanged", scenarios(), forward_inputs_check,
         net),
        ("loss_inputs_unchanged", "the losses leave y and y_hat unchanged", scenarios(loss=("mse", "bce")),
         loss_inputs_check, ()),
        ("backward_inputs_unchanged", "MLP.backward leaves dJdy_hat unchanged", scenarios(), backward_inputs_check,
         net + ("MLP.backward",)),
        ("clear_grad_and_cache", "clear_grad_and_cache zeroes grads and empties cache", scenarios(), clear_check,
         net + ("MLP.backward", "MLP.clear_grad_and_cache")),
        ("deterministic", "same input, same output", scenarios(), deterministic_check,
         net + ("MLP.backward", "MLP.clear_grad_and_cache")),
        ("no_autograd", "gradients derived by hand: no autograd, no finite differences", scenarios(),
         no_autograd_check, ()),
    ]
    for local, title, strategy, run, requires in hygiene:
        checks.append(CheckSpec(
            "mlp.hygiene[%s]" % local, "mlp.hygiene", title, strategy, run, requires=requires,
            max_examples=1 if local == "no_autograd" else 5, shown_fields=NETWORK_FIELDS))
    return checks


def static_checks(source: bytes) -> list[AutogradUse]:
    return autograd_uses(source)


def _note_compensation(results: list, by_id: dict) -> None:
    """Name a scaled loss gradient and a scaled backward that cancel end to end."""
    scaled_backward = [r for r in results if r.question == "mlp.backward" and r.code == "scaled"]
    if not scaled_backward:
        return
    backward_law = next((r.details["scale"] for r in scaled_backward if "scale" in r.details), None)
    cancelling = []
    for kind, function in LOSS_FUNCTIONS.items():
        e2e = by_id.get("mlp.backward[end_to_end-%s]" % kind)
        loss = by_id.get("mlp.%s[gradient]" % function)
        if e2e is not None and loss is not None and e2e.status == "pass" and loss.code == "scaled":
            cancelling.append((kind, function, loss, e2e))
    if not cancelling:
        return
    note = "Compensating errors: %s off by %s, and MLP.backward by %s; they cancel end to end (%s pass), but" \
           " backward must use dJdy_hat exactly as any loss gives it." % (
               " and ".join("%s's dJdy_hat" % function for _, function, _, _ in cancelling),
               " and ".join(loss.details.get("scale", "a factor") for _, _, loss, _ in cancelling),
               backward_law or "the inverse factor",
               " and ".join("end_to_end-%s" % kind for kind, _, _, _ in cancelling))
    touched = scaled_backward + [r for _, function, _, e2e in cancelling for r in (e2e,) + tuple(
        x for x in results if x.question == "mlp.%s" % function and x.code == "scaled")]
    for r in touched:
        r.notes.append(note)


def finalize(results: list[CheckResult], state: PartState, settings: Settings | None = None) -> None:
    """Cross-check conclusions: autograd forfeits, compensating scale errors, forward first."""
    by_id = {r.id: r for r in results}
    derivation_policy.apply(results, state, settings.finite_differences if settings else "forfeit")
    _note_compensation(results, by_id)
    _point_end_to_end(results, state)
    for r in results:
        if r.question == "mlp.backward" and r.code in VALUE_CODES and "[end_to_end" not in r.id:
            forward = by_id.get(r.id.replace("mlp.backward", "mlp.forward"))
            if forward is not None and forward.status == "fail":
                r.notes.append("MLP.forward is also wrong for this f and g; backward uses what forward"
                               " caches, so fix forward first.")


CHECKED_FUNCTION = {"mlp.forward": "MLP.forward", "mlp.mse_loss": "mse_loss", "mlp.bce_loss": "bce_loss",
                    "mlp.backward": "MLP.backward"}


def failure_line(check: CheckSpec, failure: Failure, state: PartState) -> int | None:
    """The statement that produced the wrong value: the assignment to self.grads[name] in
    backward, else the return of the function the check exercises (the loss's, when an end to
    end check failed as a whole, e.g. on what the loss returned)."""
    function = CHECKED_FUNCTION.get(check.question)
    if function is None:
        return None
    name = failure.name if failure.name in GRAD_NAMES else None
    if check.question == "mlp.backward" and name is None and check.local_id.startswith("end_to_end"):
        function = check.requires[-1]
    return value_line(state.source, function, name)


def _point_end_to_end(results: list[CheckResult], state: PartState) -> None:
    """A failed end to end check points at the loss when the loss's own gradient check failed
    too (there the mistake is), and at backward's statement otherwise."""
    by_id = {r.id: r for r in results}
    for kind, function in LOSS_FUNCTIONS.items():
        e2e = by_id.get("mlp.backward[end_to_end-%s]" % kind)
        loss = by_id.get("mlp.%s[gradient]" % function)
        if e2e is None or e2e.status == "pass" or loss is None or loss.status == "pass":
            continue
        line = value_line(state.source, function, None)
        if line is not None and (e2e.location or {}).get("file") == "mlp.py":
            e2e.location = {"file": "mlp.py", "line": line}


def static_line(check: CheckSpec, state: PartState) -> int | None:
    """The no_autograd check points at the first autograd use the scan found, else at
    MLP.backward (where finite differences, or autograd the scan cannot see, run)."""
    if check.local_id != "no_autograd":
        return None
    uses: list[AutogradUse] = state.static or []
    return uses[0].line if uses else definition_lines(state.source).get("MLP.backward")


def exception_hint(stage: str, kind: str) -> str:
    if stage == "MLP.__init__" and kind == "TypeError":
        return (" -- the constructor must accept linear_1_in_features, linear_1_out_features, f_function,"
                " linear_2_in_features, linear_2_out_features, g_function as in the handout")
    return ""


def build_part(settings: Settings) -> PartSpec:
    """The practical part under `settings`."""
    return PartSpec(
        name="mlp",
        module="mlp",
        questions=QUESTIONS,
        checks=build_checks(settings),
        inspect=("MLP", "MLP.forward", "MLP.backward", "MLP.clear_grad_and_cache", "mse_loss", "bce_loss"),
        static_checks=static_checks,
        finalize=functools.partial(finalize, settings=settings),
        static_line=static_line,
        failure_line=failure_line,
        repro=repro_script,
        exception_hint=exception_hint,
        imports=(__package__ + ".oracle", __package__ + ".float32_spread"),
    )
