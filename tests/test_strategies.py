"""The examples Hypothesis generates have the structure the README describes: dimensions in 1..8
weighted toward 1 and toward equal sizes (square weights), batch 1 included, theory without a
batch."""

from __future__ import annotations

from hypothesis import Phase, given, settings

from grader.assignments.hw1.strategies import MAX_BATCH, MAX_DIM, scenarios


def _draw(count: int, **kwargs) -> list:
    seen = []

    @settings(max_examples=count, database=None, deadline=None, derandomize=True, phases=[Phase.generate])
    @given(scenarios(**kwargs))
    def collect(s) -> None:
        seen.append(s)

    collect()
    return seen


def test_dimensions_lean_toward_one_and_toward_square_weights():
    seen = _draw(500)
    assert len(seen) >= 400
    share = {name: sum(test(s) for s in seen) / len(seen) for name, test in {
        "d=1": lambda s: s.d == 1, "B=1": lambda s: s.B == 1,
        "W1 square (n=d)": lambda s: s.n == s.d, "W2 square (d=K)": lambda s: s.d == s.K,
        "n=d=K>1": lambda s: s.n == s.d == s.K > 1, "W1 not square": lambda s: s.n != s.d,
        "all distinct": lambda s: len({s.n, s.d, s.K}) == 3,
    }.items()}
    assert share["d=1"] > 2 / MAX_DIM, share  # more than a uniform 1..8 would give
    assert share["B=1"] > 2 / MAX_BATCH, share
    assert share["W1 square (n=d)"] > 0.3 and share["W2 square (d=K)"] > 0.3, share
    # and shapes that tell a transpose apart by shape alone still come often
    assert share["n=d=K>1"] > 0.05 and share["W1 not square"] > 0.2 and share["all distinct"] > 0.02, share
    for dim, high in (("n", MAX_DIM), ("d", MAX_DIM), ("K", MAX_DIM), ("B", MAX_BATCH)):
        values = {getattr(s, dim) for s in seen}
        assert min(values) == 1 and max(values) == high, (dim, sorted(values))


def test_theory_examples_have_no_batch_and_every_activation_is_drawn():
    seen = _draw(200, f=("relu", "tanh"), g=("sigmoid", "identity"), loss=("mse", "bce"), batch=False)
    assert {s.B for s in seen} == {1}
    assert {s.f for s in seen} == {"relu", "tanh"} and {s.g for s in seen} == {"sigmoid", "identity"}
    assert {s.loss for s in seen} == {"mse", "bce"}
