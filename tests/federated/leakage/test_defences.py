"""Each defence's wire format: what the server decodes, and its bytes against the closed form."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.federated.leakage import costs
from clustersim.federated.leakage.defences import Defence
from clustersim.federated.leakage.kernels import SmoothMLP, flatten, gradients, init_params
from clustersim.federated.leakage.params import DefenceParams

MODEL = SmoothMLP((64, 32, 10))


def _grads(seed: int = 0):
    rng = np.random.default_rng(seed)
    params = init_params(MODEL, rng)
    return gradients(MODEL, params, rng.standard_normal((1, 64)), np.array([3]))[0]


def _tensors():
    out = []
    for (w, b), _ in zip(MODEL.shapes(), range(MODEL.layers), strict=True):
        out += [(w[0] * w[1], True), (b[0], False)]
    return out


def _send(kind: str, **fields):
    spec = DefenceParams(kind=kind, **fields)
    return Defence(spec, MODEL, np.random.default_rng(1)).apply(_grads()), spec


@pytest.mark.parametrize("kind", ["none", "fp16", "int8", "terngrad", "batch", "noise"])
def test_dense_and_quantised_payloads_equal_the_closed_form(kind) -> None:
    sent, spec = _send(kind)
    assert sent.payload_bytes == costs.payload_bytes(spec, _tensors())


@pytest.mark.parametrize(("kind", "sparsity"), [("prune", 0.5), ("prune", 0.9), ("dgc", 0.99)])
def test_sparse_payloads_are_near_the_estimate_and_decode_exactly(kind, sparsity) -> None:
    sent, spec = _send(kind, sparsity=sparsity)
    estimate = costs.payload_bytes(spec, _tensors())
    kept = np.count_nonzero(flatten(sent.grads))
    assert abs(sent.payload_bytes - estimate) <= kept  # within a byte per kept entry
    assert sent.roundtrip_error == 0.0


def test_pruning_keeps_the_largest_magnitudes_of_every_tensor() -> None:
    sent, _ = _send("prune", sparsity=0.75)
    for (gw, _), (sw, _) in zip(_grads(), sent.grads, strict=True):
        kept = sw != 0
        assert kept.sum() == np.ceil(0.25 * gw.size)
        assert np.abs(gw[kept]).min() >= np.abs(gw[~kept]).max()
        np.testing.assert_array_equal(sw[kept], gw[kept].astype(np.float32))


def test_int8_is_within_half_a_step_and_fp16_within_its_rounding() -> None:
    grads = _grads()
    sent, _ = _send("int8")
    for (gw, gb), (sw, sb) in zip(grads, sent.grads, strict=True):
        for g, s in ((gw, sw), (gb, sb)):
            step = float(np.float32(np.abs(g).max() / 127))
            assert np.abs(s - g).max() <= 0.5 * step * (1 + 1e-6)
            assert np.unique(np.rint(s / step)).size <= 255
    half, _ = _send("fp16")
    for (gw, _), (sw, _) in zip(grads, half.grads, strict=True):
        np.testing.assert_array_equal(sw, gw.astype(np.float16).astype(float))


def test_noise_has_the_given_variance() -> None:
    sent, _ = _send("noise", variance=1e-2)
    diff = flatten(sent.grads) - flatten(_grads())
    assert abs(diff.var() / 1e-2 - 1) < 0.1  # 2,410 draws: the sample variance within 10 %


def test_terngrad_sends_three_levels_per_tensor() -> None:
    sent, _ = _send("terngrad")
    for sw, _ in sent.grads:
        assert np.unique(np.abs(sw)).size <= 2  # 0 and the scale


def test_dgc_keeps_what_it_did_not_send_for_the_next_round() -> None:
    spec = DefenceParams(kind="dgc", sparsity=0.9)
    encoder = Defence(spec, MODEL, np.random.default_rng(0))
    grads = _grads()
    first = encoder.apply(grads)
    second = encoder.apply(grads)
    total = flatten(first.grads) + flatten(second.grads)
    # two rounds sent more than twice one round's top 10 %: the residual came along
    assert np.count_nonzero(total) > np.count_nonzero(flatten(first.grads))


def test_a_field_that_does_not_apply_is_refused() -> None:
    with pytest.raises(Exception, match="variance does not apply to defence 'prune'"):
        DefenceParams(kind="prune", variance=0.1)
