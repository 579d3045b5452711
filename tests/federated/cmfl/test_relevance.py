"""The relevance e(u, ū) = (1/N) Σ_j I(sgn(u_j) = sgn(ū_j)) on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated.cmfl import relevance, relevant


def test_relevance_counts_the_parameters_whose_signs_agree() -> None:
    ubar = np.array([1.0, -2.0, 3.0, -4.0])
    # signs (+, -, +, -) against: all agree; all disagree; two of four; zeros
    u = np.array(
        [
            [0.5, -0.1, 7.0, -1e-9],
            [-0.5, 0.1, -7.0, 1e-9],
            [2.0, 2.0, -2.0, -2.0],
            [0.0, -1.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(relevance(u, ubar), [1.0, 0.0, 0.5, 0.25])


def test_a_zero_matches_only_a_zero() -> None:
    assert relevance(np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0]))[0] == pytest.approx(
        2 / 3
    )
    assert relevance(np.array([-0.0]), np.array([0.0]))[0] == 1.0  # sgn(-0) = 0


def test_the_threshold_is_inclusive() -> None:
    np.testing.assert_array_equal(relevant(np.array([0.59, 0.6, 0.61]), 0.6), [False, True, True])


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="parameters"):
        relevance(np.ones((2, 3)), np.ones(4))
