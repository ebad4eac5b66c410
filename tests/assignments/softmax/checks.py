"""Checks of the softmax assignment: loss and gradient against PyTorch's autograd in float64."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from grader.engine.checks import CheckContext, CheckSpec, Failure, PartSpec
from grader.engine.compare import judge
from grader.model.values import NotArray

from . import Settings


@dataclass(frozen=True)
class Example:
    """n inputs, K classes; with `large`, one logit is about 800 (a naive exp overflows)."""

    n: int
    K: int
    large: bool
    seed: int

    def describe(self, fields: tuple[str, ...]) -> str:
        return ", ".join("%s=%s" % (name, getattr(self, name)) for name in fields)


def examples(large: tuple[bool, ...]) -> st.SearchStrategy[Example]:
    return st.builds(Example, st.integers(1, 6), st.integers(2, 6), st.sampled_from(large), st.integers(0, 2**31 - 1))


def _values(e: Example) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(e.seed)
    y = np.zeros((e.K, 1))
    y[rng.integers(0, e.K), 0] = 1.0
    W, x = rng.standard_normal((e.K, e.n)), rng.standard_normal((e.n, 1))
    if e.large:
        W[rng.integers(0, e.K)] += 800.0 * x[:, 0] / float(x[:, 0] @ x[:, 0])
    return {"W": W, "x": x, "y": y}


def _oracle(v: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    W = torch.tensor(v["W"], dtype=torch.float64, requires_grad=True)
    logits = (W @ torch.tensor(v["x"])).T
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(v["y"]).T.argmax(dim=1))
    loss.backward()
    assert W.grad is not None
    return np.asarray(loss.item()), W.grad.numpy().copy()


def _check(part: int):
    def run(ctx: CheckContext, e: Example) -> Failure | None:
        v = _values(e)
        reply = ctx.call("call", {"function": "cross_entropy", "kwargs": v}, "cross_entropy")
        out = reply["out"]
        if not (isinstance(out, list) and len(out) == 2):
            return Failure("not_array", "cross_entropy must return the pair (loss, dW)")
        expected = _oracle(v)
        got: Any = out[part]
        if part == 0 and isinstance(got, np.ndarray) and got.size == 1:
            got = got.reshape(())
        elif isinstance(got, NotArray):
            pass
        return judge([(("loss", "dW")[part], got, expected[part])], ctx.tolerance)

    return run


def build_part(settings: Settings) -> PartSpec:
    scales = (False, True) if settings.stable else (False,)
    checks = [
        CheckSpec("softmax.loss[value]", "softmax.loss", "the cross-entropy loss", examples(scales), _check(0),
                  requires=("cross_entropy",), max_examples=8, shown_fields=("n", "K", "large", "seed")),
        CheckSpec("softmax.gradient[dW]", "softmax.gradient", "dW, shaped like W", examples(scales), _check(1),
                  requires=("cross_entropy",), max_examples=8, shown_fields=("n", "K", "large", "seed")),
    ]
    return PartSpec(name="softmax", module="softmax",
                    questions={"softmax.loss": "Cross-entropy loss", "softmax.gradient": "Its gradient in W"},
                    checks=checks, inspect=("cross_entropy",))
