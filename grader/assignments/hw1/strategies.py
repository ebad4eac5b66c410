"""Hypothesis strategies for the structure of an example, and the values drawn from its seed.

Hypothesis chooses a `Scenario` (dimensions, activations, loss, seed); numpy draws every
value from the seed. Dimensions range over 1..8 with extra weight on 1 and on equal
dimensions (square weights, where a transposed answer has the right shape).
"""

from __future__ import annotations

import dataclasses
from typing import Any
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from .variants import MLP_ACTIVATIONS

MAX_DIM = 8
MAX_BATCH = 10
# How the three dimensions tie: "free" draws each alone; the others force equal sizes.
DIM_PATTERNS = ("free", "free", "n=d=K", "n=d", "d=K")


@dataclass(frozen=True)
class Scenario:
    """One example's structure. n inputs, d hidden units, K outputs, batch B (1 in theory)."""

    n: int = 1
    d: int = 1
    K: int = 1
    B: int = 1
    f: str = "identity"
    g: str = "identity"
    loss: str = "mse"
    seed: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self, fields: tuple[str, ...] = ("B", "n", "d", "K", "f", "g", "loss", "seed")) -> str:
        dims = [f for f in fields if f in ("B", "n", "d", "K")]
        rest = [f for f in fields if f not in dims]
        text = ", ".join("%s=%s" % (f, getattr(self, f)) for f in dims)
        if rest:  # the example's own seed, never to be taken for the grading seed (--seed)
            text += " (%s)" % ", ".join("%s=%s" % ("example_seed" if f == "seed" else f, getattr(self, f))
                                        for f in rest)
        return text


def sizes(low: int = 1, high: int = MAX_DIM) -> st.SearchStrategy[int]:
    """A dimension in low..high, with extra weight on `low` (shrinks toward it)."""
    return st.one_of(st.just(low), st.integers(low, high))


_PATTERNS = st.sampled_from(DIM_PATTERNS)
_DIM = sizes()
_BATCH = sizes(1, MAX_BATCH)
"""Built once: a strategy built inside a draw is validated again at every example."""


@st.composite
def dimensions(draw, batch: bool = True) -> dict:
    """n, d, K (and B when `batch`), tied by one of DIM_PATTERNS."""
    pattern = draw(_PATTERNS)
    n = draw(_DIM)
    d = n if pattern in ("n=d=K", "n=d") else draw(_DIM)
    K = d if pattern in ("n=d=K", "d=K") else draw(_DIM)
    B = draw(_BATCH) if batch else 1
    return dict(n=n, d=d, K=K, B=B)


def scenarios(
    f: tuple[str, ...] = MLP_ACTIVATIONS,
    g: tuple[str, ...] = MLP_ACTIVATIONS,
    loss: tuple[str, ...] = ("mse",),
    batch: bool = True,
) -> st.SearchStrategy[Scenario]:
    """Scenarios whose activations and loss are drawn from the given choices."""
    return st.builds(
        lambda dims, f_, g_, loss_, seed: Scenario(f=f_, g=g_, loss=loss_, seed=seed, **dims),
        dimensions(batch=batch),
        st.sampled_from(f),
        st.sampled_from(g),
        st.sampled_from(loss),
        st.integers(0, 2**31 - 1),
    )


def float32_values(array: np.ndarray) -> np.ndarray:
    """Round to float32 and back: the oracle then sees exactly what a float32 submission sees."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


def network_values(s: Scenario) -> dict:
    """Parameters W1 (d,n), b1 (d,), W2 (K,d), b2 (K,) and x (B,n), y (B,K), standard normal
    ({0,1} labels for BCE), all float32-representable."""
    rng = np.random.default_rng(s.seed)
    values = {
        "W1": rng.standard_normal((s.d, s.n)),
        "b1": rng.standard_normal(s.d),
        "W2": rng.standard_normal((s.K, s.d)),
        "b2": rng.standard_normal(s.K),
        "x": rng.standard_normal((s.B, s.n)),
    }
    if s.loss == "bce":
        values["y"] = rng.integers(0, 2, (s.B, s.K)).astype(np.float64)
    else:
        values["y"] = rng.standard_normal((s.B, s.K))
    return {k: float32_values(v) for k, v in values.items()}


def loss_inputs(s: Scenario, saturated: bool = False) -> dict:
    """y and y_hat (B,K) for a loss check. BCE predictions lie in (0.02, 0.98); with
    `saturated`, about half of them (at least one) are exactly 0 or 1."""
    rng = np.random.default_rng(s.seed)
    if s.loss == "mse":
        y, y_hat = rng.standard_normal((s.B, s.K)), rng.standard_normal((s.B, s.K))
    else:
        y = rng.integers(0, 2, (s.B, s.K)).astype(np.float64)
        y_hat = rng.uniform(0.02, 0.98, (s.B, s.K))
        if saturated:
            mask = rng.random((s.B, s.K)) < 0.5
            mask.flat[rng.integers(0, mask.size)] = True
            y_hat[mask] = rng.integers(0, 2, int(mask.sum()))
    return {"y": float32_values(y), "y_hat": float32_values(y_hat)}


def theory_values(s: Scenario) -> dict[str, Any]:
    """One data point as columns: x (n,1), W1 (d,n), b1 (d,1), W2 (K,d), b2 (K,1), y (K,1)
    (standard normal; {0,1} labels for BCE), and a learning rate lr."""
    rng = np.random.default_rng(s.seed)
    values: dict[str, Any] = {
        "x": rng.standard_normal((s.n, 1)),
        "W1": rng.standard_normal((s.d, s.n)),
        "b1": rng.standard_normal((s.d, 1)),
        "W2": rng.standard_normal((s.K, s.d)),
        "b2": rng.standard_normal((s.K, 1)),
    }
    if s.loss == "bce":
        values["y"] = rng.integers(0, 2, (s.K, 1)).astype(np.float64)
    else:
        values["y"] = rng.standard_normal((s.K, 1))
    values["lr"] = float(rng.choice([0.5, 0.1, 0.05, 0.01]))
    return values


def theory_loss_inputs(s: Scenario) -> dict:
    """y and y_hat as (K,1) columns for a theory loss check."""
    inputs = loss_inputs(Scenario(B=1, K=s.K, loss=s.loss, seed=s.seed))
    return {k: v.T.copy() for k, v in inputs.items()}
