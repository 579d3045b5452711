"""Easy samples are classified confidently and hard ones are not: the difficulty knob works on a
trained model, the way the notes' CIFAR10-Easy/CIFAR10-Hard picture says (BranchyNet)."""

from __future__ import annotations

import numpy as np

from clustersim.nn import accuracy, predict_proba
from tests.datasets.helpers import single_view_classifier


def test_easy_samples_are_right_and_sure_hard_ones_are_not() -> None:
    trained = single_view_classifier()
    easy = trained.task.sample(1000, np.random.default_rng(10), difficulty=0.1)
    hard = trained.task.sample(1000, np.random.default_rng(11), difficulty=0.9)
    p_easy, p_hard = predict_proba(trained.model, easy.x), predict_proba(trained.model, hard.x)
    # Measured: easy 0.977 accuracy / 0.973 mean top probability, hard 0.315 / 0.523.
    assert accuracy(p_easy, easy.y) > 0.9
    assert accuracy(p_easy, easy.y) - accuracy(p_hard, hard.y) > 0.3
    assert p_easy.max(axis=1).mean() - p_hard.max(axis=1).mean() > 0.2
    # Entropy (nats), BranchyNet's exit criterion: low on easy samples, high on hard ones.
    entropy = lambda p: -(p * np.log(np.clip(p, 1e-30, None))).sum(axis=1)  # noqa: E731
    assert np.median(entropy(p_easy)) < 0.25 * np.median(entropy(p_hard))
    # Hard samples fail towards the class they were blended with: measured in 28 % of the
    # errors (685 of them, standard error 0.017), at least twice the 1/9 of a uniform mistake.
    wrong = p_hard.argmax(axis=1) != hard.y
    assert np.mean(p_hard.argmax(axis=1)[wrong] == hard.distractor[wrong]) > 2 / 9
