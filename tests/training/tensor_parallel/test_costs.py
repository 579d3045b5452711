"""The closed forms of a tensor-parallel block against Shoeybi et al. 2019."""

from __future__ import annotations

import pytest

from clustersim.training.tensor_parallel.costs import (
    block_flops,
    layer_steps,
    megatron_bytes_per_layer_per_device,
    params_bytes_per_device,
    ring_bytes_per_device,
)


def test_bytes_formula() -> None:
    # Shoeybi et al.: 8·b·s·h·(t-1)/t elements per device per layer with a ring
    b, s, h, t = 4, 2048, 4096, 8
    assert megatron_bytes_per_layer_per_device(b, s, h, t, 2) == 8 * b * s * h * (t - 1) / t * 2
    assert megatron_bytes_per_layer_per_device(b, s, h, t, 2, "attention") == pytest.approx(
        megatron_bytes_per_layer_per_device(b, s, h, t, 2) / 2
    )


def test_steps_of_a_megatron_block() -> None:
    """2 all-reduces of b·s·h forward and 2 backward; compute split t ways."""
    b, s, h, t = 2, 16, 32, 4
    fwd, bwd = layer_steps("layer", "megatron", b, s, h, t, 2)
    sizes = [x.size for x in fwd + bwd if x.kind == "allreduce"]
    assert sizes == [b * s * h * 2] * 4
    flops = block_flops(b, s, h, "layer")
    assert sum(x.flops for x in fwd) == pytest.approx(sum(flops.values()) / t)
    assert sum(x.flops for x in bwd) == pytest.approx(2 * sum(flops.values()) / t)
    assert ring_bytes_per_device(sizes, t) == pytest.approx(
        megatron_bytes_per_layer_per_device(b, s, h, t, 2)
    )


def test_params_per_device() -> None:
    h = 64
    assert params_bytes_per_device(h, 2, "layer", 3, 4) == 12 * h * h * 2 * 3 / 4
    assert params_bytes_per_device(h, 4, "mlp", 1, 1) == 8 * h * h * 4
