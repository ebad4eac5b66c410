"""The trust chain: the instructor's hand-derived key agrees with the oracle, and scores full marks."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.assignments.hw1 import oracle
from grader.assignments.hw1.strategies import loss_inputs, network_values, scenarios
from grader.assignments.hw1.variants import MLP_ACTIVATIONS as ACTIVATIONS

from .conftest import REFERENCE, SUBMISSIONS


def _load(name: str):
    spec = importlib.util.spec_from_file_location("reference_" + name, REFERENCE / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MLP = _load("mlp")


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)


@settings(max_examples=150, database=None, deadline=None, derandomize=True)
@given(scenarios(f=ACTIVATIONS, g=ACTIVATIONS, loss=("mse", "bce")))
def test_reference_mlp_equals_oracle(s):
    v = network_values(s)
    if s.loss == "bce":
        s = type(s)(**{**s.as_dict(), "g": "sigmoid"})
    net = MLP.MLP(s.n, s.d, s.f, s.d, s.K, s.g)
    for k in ("W1", "b1", "W2", "b2"):
        net.parameters[k] = _t(v[k])
    params = {k: v[k] for k in ("W1", "b1", "W2", "b2")}
    y_hat = net.forward(_t(v["x"]))
    expected_y_hat = oracle.mlp_forward(params, v["x"], s.f, s.g)
    np.testing.assert_allclose(y_hat.numpy(), expected_y_hat, rtol=1e-10, atol=1e-12)
    J, dJdy_hat = (MLP.mse_loss if s.loss == "mse" else MLP.bce_loss)(_t(v["y"]), y_hat)
    J_exp, dJ_exp = oracle.loss_and_grad(s.loss, v["y"], expected_y_hat)
    np.testing.assert_allclose(float(J), J_exp, rtol=1e-10, atol=1e-12)
    # BCE divides by y_hat (1 - y_hat): near-saturated predictions amplify rounding to ~1e-8.
    np.testing.assert_allclose(dJdy_hat.numpy(), dJ_exp, rtol=1e-7, atol=1e-12)
    net.backward(dJdy_hat)
    expected = oracle.mlp_param_grads(params, v["x"], s.f, s.g, dJ_exp)
    for name, value in expected.items():
        np.testing.assert_allclose(net.grads[name].numpy(), value, rtol=1e-7, atol=1e-12)


@settings(max_examples=100, database=None, deadline=None, derandomize=True)
@given(scenarios(loss=("bce",)), st.booleans())
def test_reference_bce_equals_torch_on_saturated_predictions(s, saturated):
    v = loss_inputs(s, saturated=saturated)
    J, dJdy_hat = MLP.bce_loss(_t(v["y"]), _t(v["y_hat"]))
    J_exp, dJ_exp = oracle.loss_and_grad("bce", v["y"], v["y_hat"])
    np.testing.assert_allclose(float(J), J_exp, rtol=1e-10)
    # At y_hat exactly 0 or 1 torch divides by a float32 epsilon (~1e-12): agree to 1e-6 there.
    np.testing.assert_allclose(dJdy_hat.numpy(), dJ_exp, rtol=1e-6)


@pytest.mark.slow
def test_reference_scores_full_marks(grade):
    report = grade(REFERENCE)
    assert report.max_score > 0
    assert report.all_passed, [(c.id, c.code, c.message) for c in report.checks if c.status != "pass"]
    assert report.score == report.max_score


@pytest.mark.slow
def test_correct_example_matches_the_reference_grade(grade):
    report = grade(SUBMISSIONS / "correct")
    assert report.all_passed, [(c.id, c.code, c.message) for c in report.checks if c.status != "pass"]


@settings(max_examples=30, database=None, deadline=None, derandomize=True)
@given(scenarios(loss=("mse",)), st.sampled_from(sorted(oracle.MSE_CONVENTIONS)))
def test_each_mse_convention_is_its_stated_multiple_of_torchs_mean(s, convention):
    """MSE_CONVENTION_SCALE (used to explain scale errors) agrees with the oracle's functions."""
    inputs = loss_inputs(s)
    J, dJ = oracle.loss_and_grad("mse", inputs["y"], inputs["y_hat"], convention)
    J_mean, dJ_mean = oracle.loss_and_grad("mse", inputs["y"], inputs["y_hat"], "mean")
    a, law = oracle.MSE_CONVENTION_SCALE[convention]
    factor = a * np.prod([getattr(s, dim) ** e for dim, e in law.items()])
    np.testing.assert_allclose(J, factor * J_mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dJ, factor * dJ_mean, rtol=1e-12, atol=1e-15)
