"""HW1 theory part: the checks that grade a submission's `theory.py`.

One data point, every vector a column: x (n,1), W1 (d,n), b1 (d,1), W2 (K,d), b2 (K,1),
y (K,1), float64 numpy. Derivatives in the rubric's layout: "numerator" (default; dl_dyhat
(1,K), dl_dW1 (n,d), dl_db1 (1,d), dl_dW2 (d,K), dl_db2 (1,K)) or "mixed" (gradients shaped
like their parameters). Expected values come from `grader.oracle`, never from the reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as st

from ...engine.checks import CallFailed, CheckContext, CheckSpec, Failure, NoEvidence, Outcome, PartSpec, PartState
from ...engine.compare import diagnose, is_close, judge, returned_none_hint, shape_text
from ...model.values import Absent, NotArray
from .deferred import Deferred
from .locations import value_line
from .repro import repro_script
from .scale_stories import scale_story
from .strategies import Scenario, scenarios, theory_loss_inputs, theory_values
from .variants import Settings, Variant

if TYPE_CHECKING:
    from . import oracle
else:  # imported once the workers are started (see deferred.py and build_part's imports)
    oracle = Deferred(__package__ + ".oracle")

QUESTIONS = {
    "theory.forward": "Theory 1.2(b): forward pass",
    "theory.loss": "Theory 1.2(b), 1.3(b): loss values",
    "theory.jacobians": "Theory 1.2(d), 1.3: Jacobians",
    "theory.backward": "Theory 1.2(c): gradients in the rubric's layout",
    "theory.sgd_step": "Theory 1.2(a): SGD update",
}
PARAMS = ("W1", "b1", "W2", "b2")
GRADS = ("dl_dW1", "dl_db1", "dl_dW2", "dl_db2")
FIELDS = ("n", "d", "K", "f", "g", "loss", "seed")
SHAPES = {
    "z1": "(d,1)", "z2": "(d,1)", "z3": "(K,1)", "y_hat": "(K,1)", "dz2_dz1": "(d,d)", "dyhat_dz3": "(K,K)",
    "W1": "(d,n)", "b1": "(d,1)", "W2": "(K,d)", "b2": "(K,1)",
}
LAYOUT_SHAPES = {
    "numerator": {"dl_dyhat": "(1,K)", "dl_dW1": "(n,d)", "dl_db1": "(1,d)", "dl_dW2": "(d,K)", "dl_db2": "(1,K)"},
    "mixed": {"dl_dyhat": "(K,1)", "dl_dW1": "(d,n)", "dl_db1": "(d,1)", "dl_dW2": "(K,d)", "dl_db2": "(K,1)"},
}
NUMERATOR_RULE = {
    "dl_dyhat": "the derivative of a scalar by a (K,1) vector is a (1,K) row",
    "dl_db1": "the derivative of a scalar by a (d,1) vector is a (1,d) row",
    "dl_db2": "the derivative of a scalar by a (K,1) vector is a (1,K) row",
    "dl_dW1": "the derivative of a scalar by a (d,n) matrix is an (n,d) matrix",
    "dl_dW2": "the derivative of a scalar by a (K,d) matrix is a (d,K) matrix",
}
LAYOUT_TEXT = {
    "numerator": "numerator layout (gradients of a scalar are rows, by a matrix its transpose)",
    "mixed": "mixed layout (gradients shaped like their parameters)",
}

GRID = "grid"


def _case_titles(variant: Variant) -> dict[str, str]:
    titles = {name: case.title for name, case in variant.theory_cases.items()}
    titles[GRID] = "all %d activation pairs, MSE/BCE" % len(variant.theory_activations) ** 2
    return titles


def _case_strategy(variant: Variant, case: str) -> st.SearchStrategy[Scenario]:
    """The examples of a homework case (see `Variant.theory_cases`), or of the whole grid (BCE
    only where g = sigmoid, whose outputs lie in (0, 1))."""
    if case in variant.theory_cases:
        chosen = variant.theory_cases[case]
        return scenarios(f=chosen.f, g=chosen.g, loss=chosen.loss, batch=False)
    names = variant.theory_activations
    grid = scenarios(f=names, g=names, loss=("mse", "bce"), batch=False)
    return grid.map(lambda s: s if s.g == "sigmoid" or s.loss == "mse" else Scenario(**{**s.as_dict(), "loss": "mse"}))


def _layout(ctx: CheckContext) -> str:
    settings: Settings = ctx.settings
    return settings.layout


def _annotate(ctx, function: str):
    layout = _layout(ctx)

    def annotate(found: Failure, got: object, expected: np.ndarray) -> str:
        name = found.name
        extra = ""
        if found.code in ("shape", "transposed"):
            if name in LAYOUT_SHAPES[layout]:
                extra += " [%s must be %s = %s in %s]" % (name, LAYOUT_SHAPES[layout][name],
                                                          shape_text(expected.shape), LAYOUT_TEXT[layout])
            elif name in SHAPES:
                extra += " [%s must be %s = %s]" % (name, SHAPES[name], shape_text(expected.shape))
        if found.code == "transposed" and name in NUMERATOR_RULE:
            if layout == "numerator":
                extra += "; numerator layout: %s" % NUMERATOR_RULE[name]
            else:
                extra += ("; mixed layout (this rubric's setting): a gradient has its parameter's shape, and %s"
                          " returned in the numerator layout's %s" % (name, LAYOUT_SHAPES["numerator"][name]))
        if found.code == "shape" and isinstance(got, np.ndarray) and got.ndim == 1 and expected.ndim == 2:
            symbolic = LAYOUT_SHAPES[layout].get(name or "") or SHAPES.get(name or "", "")
            rows, _, cols = symbolic.strip("()").partition(",")
            if rows and rows == cols:  # a Jacobian (d,d): the diagonal alone is not the answer
                wanted = "the whole %s matrix, not its diagonal" % symbolic
            elif expected.shape[0] == 1:
                wanted = "a 2-D row array"
            elif expected.shape[1] == 1:
                wanted = "a 2-D column array"
            else:
                wanted = "a 2-D %s array" % shape_text(expected.shape)
            extra += "; a 1-D array has no orientation: return %s" % wanted
        return extra + returned_none_hint(got, function)

    return annotate


def _outputs(out: object, function: str, keys: tuple[str, ...]) -> dict | Failure:
    if not isinstance(out, dict):
        what = out.description if isinstance(out, NotArray) else "an array" if isinstance(out, np.ndarray) else "a list"
        return Failure("not_array", "%s must return a dict with keys %s; it returned %s" % (
            function, ", ".join(keys), what))
    return {k: out.get(k, Absent("%s's result has no key %r" % (function, k))) for k in keys}


def _call(ctx, function: str, kwargs: dict) -> tuple[object, Failure | None]:
    """Call theory.`function`; returns its result and an input_mutated failure if it changed
    an argument in place."""
    reply = ctx.call("call", {"function": function, "kwargs": kwargs}, function, functions=(function,))
    after = reply.get("args_after", {})
    mutated = None
    for name, value in kwargs.items():
        now = after.get(name) if isinstance(after, dict) else None
        if isinstance(value, np.ndarray) and isinstance(now, np.ndarray) and not np.array_equal(now, value):
            mutated = Failure("input_mutated", "%s changed its argument %s in place; compute into a new array"
                              " instead (e.g. W1 - lr * g, not W1 -= lr * g)" % (function, name), name)
            break
    return reply.get("out"), mutated


def _judged(ctx, function: str, items: list, mutated: Failure | None) -> Failure | None:
    return judge(items, ctx.tolerance, _annotate(ctx, function)) or mutated


def _network(v: dict) -> dict:
    return {k: v[k] for k in ("x",) + PARAMS}


# -- checks --------------------------------------------------------------------------------

def forward_check(ctx, s: Scenario) -> Failure | None:
    v = theory_values(s)
    out, mutated = _call(ctx, "forward", dict(_network(v), f=s.f, g=s.g))
    keys = ("z1", "z2", "z3", "y_hat")
    got = _outputs(out, "forward", keys)
    if isinstance(got, Failure):
        return got
    expected = oracle.theory_forward(v["x"], v["W1"], v["b1"], v["W2"], v["b2"], s.f, s.g)
    return _judged(ctx, "forward", [(k, got[k], expected[k]) for k in keys], mutated)


def loss_check(ctx, s: Scenario) -> Failure | None:
    inputs = theory_loss_inputs(s)
    out, mutated = _call(ctx, "loss", dict(inputs, kind=s.loss))
    if isinstance(out, np.ndarray) and out.size == 1:
        out = out.reshape(())
    expected = np.asarray(oracle.theory_loss(inputs["y"], inputs["y_hat"], s.loss))
    return _judged(ctx, "loss", [("loss", out, expected)], mutated)


def _saturated_bce(s: Scenario, v: dict) -> NoEvidence | None:
    """No evidence where BCE meets a prediction of exactly 0 or 1 (float64 saturates for
    |z3| > ~37): the loss is infinite there and torch's clamped derivative is an artefact."""
    if s.loss != "bce":
        return None
    y_hat = oracle.theory_forward(v["x"], v["W1"], v["b1"], v["W2"], v["b2"], s.f, s.g)["y_hat"]
    if np.all((y_hat > 0) & (y_hat < 1)):
        return None
    return NoEvidence(Failure("nonfinite", "the prediction saturates to exactly 0 or 1 on this example"))


def jacobians_check(ctx, s: Scenario) -> Failure | NoEvidence | None:
    v = theory_values(s)
    if (saturated := _saturated_bce(s, v)) is not None:
        return saturated
    out, mutated = _call(ctx, "jacobians", dict(_network(v), y=v["y"], f=s.f, g=s.g, loss=s.loss))
    keys = ("dz2_dz1", "dyhat_dz3", "dl_dyhat")
    got = _outputs(out, "jacobians", keys)
    if isinstance(got, Failure):
        return got
    expected = oracle.theory_jacobians(v["x"], v["y"], v["W1"], v["b1"], v["W2"], v["b2"], s.f, s.g, s.loss,
                                       _layout(ctx))
    return _judged(ctx, "jacobians", [(k, got[k], expected[k]) for k in keys], mutated)


def _other(layout: str) -> str:
    return "mixed" if layout == "numerator" else "numerator"


def _expected_grads(s: Scenario, v: dict) -> tuple[dict, dict]:
    """The oracle's Jacobians (dl_dyhat as a (K,1) column) and parameter-shaped gradients."""
    jac = oracle.theory_jacobians(v["x"], v["y"], v["W1"], v["b1"], v["W2"], v["b2"], s.f, s.g, s.loss, "mixed")
    param_shaped = oracle.theory_param_grads(v["x"], v["W1"], v["b1"], v["W2"], v["b2"], s.f, s.g, jac["dl_dyhat"])
    return jac, param_shaped


def _backward_kwargs(s: Scenario, v: dict, jac: dict, layout: str, scale: float = 1.0) -> dict:
    column = scale * jac["dl_dyhat"]
    return dict(_network(v), y=v["y"], dl_dyhat=column.T.copy() if layout == "numerator" else column,
                dz2_dz1=jac["dz2_dz1"], dyhat_dz3=jac["dyhat_dz3"], f=s.f)


def _matches_all(ctx, got: object, expected: dict) -> bool:
    return isinstance(got, dict) and all(
        isinstance(got.get(k), np.ndarray) and diagnose(k, got[k], expected[k], ctx.tolerance) is None
        for k in expected)


def _written_for_other_layout(ctx, function: str, kwargs: dict, expected: dict) -> str | None:
    """After `function` failed on the rubric's layout: rerun it with the other layout's inputs;
    if it is then exactly right in that layout, say so in the student's terms."""
    layout = _layout(ctx)
    try:
        out, _ = _call(ctx, function, kwargs)
    except CallFailed:
        return None
    if not _matches_all(ctx, out, expected):
        return None
    return ("%s is written for %s, but this rubric uses %s: given its inputs in %s it is exactly right, given"
            " them in %s it is not" % (function, LAYOUT_TEXT[_other(layout)], LAYOUT_TEXT[layout],
                                       _other(layout), layout))


def _backward(ctx, s: Scenario, v: dict, scale: float = 1.0):
    """backward's outputs for dl_dyhat scaled by `scale`, or a Failure naming a backward
    written for the other layout (which typically raises on this rubric's shapes)."""
    jac, param_shaped = _expected_grads(s, v)
    layout = _layout(ctx)
    try:
        out, mutated = _call(ctx, "backward", _backward_kwargs(s, v, jac, layout, scale))
    except CallFailed as failed:
        first_call = getattr(ctx, "last_call", None)
        other = _other(layout)
        expected = oracle.to_layout({k: scale * g for k, g in param_shaped.items()}, other)
        text = _written_for_other_layout(ctx, "backward", _backward_kwargs(s, v, jac, other, scale), expected)
        if failed.failure.code != "exception" or text is None:
            raise
        return Failure("transposed", "%s (on this rubric's inputs it raised: %s)" % (text, failed.failure.message),
                       None, call=first_call), None, param_shaped
    got = _outputs(out, "backward", GRADS)
    return got, mutated, param_shaped


def backward_check(ctx, s: Scenario) -> Failure | NoEvidence | None:
    v = theory_values(s)
    if (saturated := _saturated_bce(s, v)) is not None:
        return saturated
    got, mutated, param_shaped = _backward(ctx, s, v)
    if isinstance(got, Failure):
        return got
    layout = _layout(ctx)
    expected = oracle.to_layout(param_shaped, layout)
    failure = _judged(ctx, "backward", [(k, got[k], expected[k]) for k in GRADS], mutated)
    if (failure is not None and failure.code in ("transposed", "shape")
            and _matches_all(ctx, got, oracle.to_layout(param_shaped, _other(layout)))):
        failure = Failure("transposed", "the whole answer is in %s, but this rubric asks for %s: dl_dW1 must be"
                          " %s, dl_db1 %s, dl_dW2 %s, dl_db2 %s" % (
                              LAYOUT_TEXT[_other(layout)], LAYOUT_TEXT[layout],
                              *[LAYOUT_SHAPES[layout][k] for k in GRADS]), None, values=failure.values,
                          call=failure.call)
    return failure


def backward_linear_check(ctx: CheckContext, s: Scenario) -> Outcome:
    """No oracle needed: backward is linear in the upstream gradient dl_dyhat."""
    v = theory_values(s)
    if (saturated := _saturated_bce(s, v)) is not None:
        return saturated
    results = []
    for scale in (1.0, -2.5):
        got, _, _ = _backward(ctx, s, v, scale)
        if isinstance(got, Failure):
            return got
        results.append(got)
    for k in GRADS:
        one, scaled = results[0][k], results[1][k]
        if not (isinstance(one, np.ndarray) and isinstance(scaled, np.ndarray)):
            what = one.description if isinstance(one, NotArray) else "not an array"
            return Failure("not_array", "backward's %s is %s" % (k, what), k)
        if one.shape != scaled.shape or not is_close(scaled, -2.5 * one, ctx.tolerance):
            return Failure("wrong_values", "%s is not linear in dl_dyhat: scaling dl_dyhat by -2.5 did not scale %s"
                           " by -2.5 (does backward ignore dl_dyhat, or recompute the loss itself?)" % (k, k), k)
    return None


STEP_RULE = {
    "numerator": "in numerator layout a gradient has the transpose of its parameter's shape, so the step is"
                 " W - lr * dl_dW^T (and b - lr * dl_db^T)",
    "mixed": "in mixed layout (this rubric's setting) a gradient already has its parameter's shape, so the step"
             " is W - lr * dl_dW, with no transpose",
}


def _sgd_kwargs(v: dict, param_shaped: dict, layout: str) -> dict:
    return dict({k: v[k] for k in PARAMS}, lr=v["lr"], **oracle.to_layout(param_shaped, layout))


def sgd_check(ctx: CheckContext, s: Scenario) -> Outcome:
    """Judged on the update applied, (old - new) / lr, against the parameter-shaped gradient."""
    v = theory_values(s)
    if (saturated := _saturated_bce(s, v)) is not None:
        return saturated
    _, param_shaped = _expected_grads(s, v)
    layout = _layout(ctx)
    kwargs = _sgd_kwargs(v, param_shaped, layout)
    try:
        out, mutated = _call(ctx, "sgd_step", kwargs)
    except CallFailed as failed:
        expected = {k: v[k] - v["lr"] * param_shaped["dl_d" + k] for k in PARAMS}
        text = _written_for_other_layout(ctx, "sgd_step", _sgd_kwargs(v, param_shaped, _other(layout)), expected)
        if failed.failure.code != "exception" or text is None:
            raise
        return Failure("transposed", "%s; %s (on this rubric's inputs it raised: %s)" % (
            text, STEP_RULE[layout], failed.failure.message), "W1")
    got = _outputs(out, "sgd_step", PARAMS)
    if isinstance(got, Failure):
        return got
    items = []
    for k in PARAMS:
        new, old = got[k], v[k]
        if isinstance(new, np.ndarray) and new.shape == old.shape and np.all(np.isfinite(new)):
            items.append(("the update of %s" % k, (old - new) / v["lr"], param_shaped["dl_d" + k]))
        else:
            items.append((k, new, old - v["lr"] * param_shaped["dl_d" + k]))
    failure = _judged(ctx, "sgd_step", items, mutated)
    if failure is None:
        return None
    for found in [failure] + failure.others:
        k = found.name.split()[-1]
        if found.code == "transposed" or (found.code == "shape" and _broadcast_step(v[k], got.get(k))):
            if found.code == "shape":
                failure.message += "; %s %s was broadcast against a transposed gradient into %s" % (
                    k, shape_text(v[k].shape), shape_text(got[k].shape))
            failure.message += "; the update is (old - new)/lr; %s" % STEP_RULE[layout]
            break
    return failure


def _broadcast_step(old: np.ndarray, new: object) -> bool:
    """True when `new` has the shape of `old` broadcast against its transpose (a (d,1) bias
    minus a (1,d) row gives (d,d)): the sign of a missing or an extra transpose."""
    return (isinstance(new, np.ndarray) and old.ndim == 2 and old.shape[0] != old.shape[1]
            and new.shape == (max(old.shape), max(old.shape)))


def build_checks(settings: Settings) -> list[CheckSpec]:
    checks: list[CheckSpec] = []
    variant = settings.variant
    cases = variant.theory_cases
    titles = _case_titles(variant)

    def add(question: str, local: str, title: str, strategy: st.SearchStrategy[Scenario], run: Any, function: str,
            **extra: Any) -> None:
        checks.append(CheckSpec("%s[%s]" % (question, local), question, title, strategy, run,
                                requires=(function,), shown_fields=FIELDS, scale_story=scale_story("theory"), **extra))

    classification_f = tuple(dict.fromkeys(cases["classification-mse"].f + cases["classification-bce"].f))
    forward_cases = {
        "regression": scenarios(f=cases["regression"].f, g=cases["regression"].g, batch=False),
        "classification": scenarios(f=classification_f, g=("sigmoid",), batch=False),
        GRID: scenarios(f=variant.theory_activations, g=variant.theory_activations, batch=False),
    }
    for case, strategy in forward_cases.items():
        add("theory.forward", case, "z1, z2, z3, y_hat (%s)" % case, strategy, forward_check, "forward",
            max_examples=8)
    for kind in ("mse", "bce"):
        add("theory.loss", kind, {"mse": "||y - y_hat||^2", "bce": "mean binary cross-entropy over K"}[kind],
            scenarios(loss=(kind,), batch=False), loss_check, "loss", max_examples=10,
            probe_dims=("K",))
    for case in [*cases, GRID]:
        add("theory.jacobians", case, titles[case], _case_strategy(variant, case), jacobians_check, "jacobians",
            max_examples=8, probe_dims=("K", "d"))
        add("theory.backward", case, titles[case], _case_strategy(variant, case), backward_check, "backward",
            max_examples=8, probe_dims=("K", "d", "n"), components=GRADS)
    add("theory.backward", "linear_in_upstream", "linear in dl_dyhat (no oracle needed)",
        _case_strategy(variant, GRID), backward_linear_check, "backward", max_examples=5, components=GRADS)
    add("theory.sgd_step", "update", "W <- W - lr * gradient", _case_strategy(variant, GRID), sgd_check,
        "sgd_step", max_examples=8)
    add("theory.sgd_step", "square", "square weights, where shapes hide a transpose",
        scenarios(f=("sigmoid", "tanh", "identity"), g=("sigmoid", "tanh", "identity"), batch=False).map(
            lambda s: Scenario(**{**s.as_dict(), "d": max(s.n, 2), "K": max(s.n, 2), "n": max(s.n, 2)})),
        sgd_check, "sgd_step", max_examples=8)
    return checks


def failure_line(check: CheckSpec, failure: Failure, state: PartState) -> int | None:
    """The statement that produced the wrong value: its dict entry or assignment (e.g.
    "dl_dW1": ...), else the return of the function the check calls."""
    return value_line(state.source, check.requires[0], failure.name) if check.requires else None


def build_part(settings: Settings) -> PartSpec:
    """The theory part under `settings` (its variant's cases, its layout)."""
    return PartSpec(
        name="theory",
        module="theory",
        questions=QUESTIONS,
        checks=build_checks(settings),
        inspect=("forward", "loss", "jacobians", "backward", "sgd_step"),
        failure_line=failure_line,
        repro=repro_script,
        imports=(__package__ + ".oracle",),
    )
