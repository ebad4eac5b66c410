"""Properties of the comparison and diagnosis logic (grader.engine.compare) and HW1's scale stories."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grader.assignments.hw1.scale_stories import explain as explain_scale
from grader.engine.compare import Tolerance, diagnose, fit_scale_law, format_factor, is_close, law_text
from grader.model.values import NotArray

TOL = Tolerance(rtol=1e-4, atol=1e-6)


@st.composite
def matrices(draw, square: bool | None = None):
    rows = draw(st.integers(1, 6))
    cols = rows if square else draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    return np.random.default_rng(seed).standard_normal((rows, cols))


def non_symmetric(a: np.ndarray) -> bool:
    return a.shape[0] != a.shape[1] or not is_close(a.T, a, TOL)


@settings(max_examples=200, database=None, deadline=None)
@given(matrices())
def test_transpose_is_diagnosed_as_transposed(a):
    assume(non_symmetric(a))
    found = diagnose("A", a.T.copy(), a, TOL)
    assert found is not None and found.code == "transposed"


@settings(max_examples=200, database=None, deadline=None)
@given(matrices())
def test_negation_is_sign(a):
    assume(np.linalg.norm(a) > 1e-3)
    found = diagnose("A", -a, a, TOL)
    assert found is not None and found.code == "sign"


@settings(max_examples=200, database=None, deadline=None)
@given(matrices(), st.sampled_from([0.5, 2.0, 3.0, 1 / 6, 10.0, 0.02, -2.0, 1 / 50]))
def test_multiple_is_scaled_with_its_factor(a, c):
    assume(np.linalg.norm(a) > 1e-3)
    found = diagnose("A", c * a, a, TOL)
    assert found is not None and found.code == "scaled"
    assert abs(found.factor - c) <= 1e-9 * abs(c)


@settings(max_examples=200, database=None, deadline=None)
@given(matrices(), st.floats(-1, 1))
def test_value_within_tolerance_passes(a, direction):
    noise = np.full(a.shape, direction) * 0.5e-4 * np.linalg.norm(a) / np.sqrt(a.size)
    assert diagnose("A", a + noise, a, TOL) is None


@settings(max_examples=200, database=None, deadline=None)
@given(matrices(), st.integers(0, 35), st.sampled_from([np.nan, np.inf, -np.inf]))
def test_nonfinite_never_passes(a, index, bad):
    got = a.copy()
    got.flat[index % a.size] = bad
    found = diagnose("A", got, a, TOL)
    assert found is not None and found.code == "nonfinite"
    assert not is_close(got, a, TOL)


@settings(max_examples=100, database=None, deadline=None)
@given(matrices())
def test_unrelated_values_are_wrong_values(a):
    other = np.random.default_rng(1).standard_normal(a.shape)
    assume(np.linalg.norm(a) > 1e-3 and a.size > 1 and not np.allclose(other, a))
    found = diagnose("A", other, a, TOL)
    assert found is not None and found.code == "wrong_values"
    assert "relative error" in found.message


def test_wrong_shape_and_flattened_vector():
    a = np.arange(1.0, 4.0).reshape(1, 3)
    found = diagnose("dl_db2", a.reshape(3), a, TOL)
    assert found.code == "shape" and "(3,)" in found.message and "(1,3)" in found.message
    assert "values are right" in found.message
    found = diagnose("dJdW1", np.zeros((2, 5)), np.zeros((4, 2)), TOL)
    assert found.code == "shape"


def test_jacobian_returned_as_its_diagonal():
    jac = np.diag([1.0, 2.0, 3.0])
    found = diagnose("dz2_dz1", np.array([1.0, 2.0, 3.0]), jac, TOL)
    assert found.code == "shape" and "diagonal" in found.message


def test_rectangular_transpose_with_wrong_values_says_both():
    a = np.arange(6.0).reshape(2, 3)
    found = diagnose("W", 2 * a.T, a, TOL)
    assert found.code == "shape" and "the transpose of the expected" in found.message
    assert "even transposed" in found.message


def test_one_entry_is_scaled_only_by_a_simple_factor():
    one = np.array([[0.7]])
    assert diagnose("J", 0.5 * one, one, TOL).code == "scaled"
    assert diagnose("J", one / 50, one, TOL).code == "scaled"
    assert diagnose("dJdW1", 2.18202 * one, one, TOL).code == "wrong_values"


def test_zero_truth_reports_absolute_error():
    found = diagnose("dJdW1", np.array([[0.9, 0.0]]), np.array([[-0.0, 0.0]]), TOL)
    assert found.code == "wrong_values" and "expected all zeros" in found.message and "-0" not in found.message


def test_not_an_array():
    assert diagnose("y_hat", NotArray("None"), np.zeros(2), TOL).code == "not_array"


def test_format_factor_reads_like_a_fraction():
    factors = (0.5, 2.0, 1 / 6, 2.5, -3.0, 0.49999997)
    assert [format_factor(x) for x in factors] == ["1/2", "2", "1/6", "5/2", "-3", "1/2"]


def test_scale_law_names_the_hard_coded_handout_constant():
    samples = [({"B": b, "K": k}, b * k / 50) for b, k in ((1, 1), (3, 1), (1, 4), (2, 5))]
    a, law = fit_scale_law(samples, ("B", "K"))
    assert law_text(a, law) == "B*K/50"
    assert "hard-coded" in explain_scale(a, law, "loss_value")


def test_scale_law_batch_mean_in_backward():
    samples = [({"B": b, "K": k}, 1 / b) for b, k in ((2, 1), (3, 1), (2, 4), (4, 5))]
    a, law = fit_scale_law(samples, ("B", "K"))
    assert law_text(a, law) == "1/B"
    assert "batch" in explain_scale(a, law, "backward")


def test_scale_law_none_when_nothing_fits():
    assert fit_scale_law([({"B": 1}, 1.0), ({"B": 2}, 7.0), ({"B": 3}, 2.0)], ("B",)) is None
