"""The decode cost model: parameter counts of the presets and the cost of a forward pass."""

from __future__ import annotations

import pytest

from clustersim.errors import InputError
from clustersim.hardware.presets import get_device
from clustersim.inference.speculative.models import (
    MODEL_PRESETS,
    TransformerConfig,
    get_model,
    medusa_heads_params,
)

# Published sizes (the checkpoints' names / model cards), to 3 significant digits.
SIZES = {
    "llama2-7b": 6.74e9,
    "llama2-13b": 13.0e9,
    "llama2-70b": 69.0e9,
    "llama-68m": 68.0e6,
    "llama-160m": 162e6,
    "tinyllama-1.1b": 1.10e9,
}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_preset_parameter_counts_match_published_sizes(name: str) -> None:
    model = MODEL_PRESETS[name]
    assert model.params == pytest.approx(SIZES[name], rel=5e-3)
    assert model.source


def test_every_preset_has_a_size_check() -> None:
    assert set(MODEL_PRESETS) == set(SIZES)


def test_lookup_is_forgiving_and_errors_list_presets() -> None:
    assert get_model("Llama-2-7B") is MODEL_PRESETS["llama2-7b"]
    assert get_model("vicuna-7b") is MODEL_PRESETS["llama2-7b"]
    with pytest.raises(InputError, match="unknown model preset 'llama2-8b'.*llama2-7b"):
        get_model("llama2-8b")


def test_decode_step_is_memory_bound_and_verify_costs_about_one_step() -> None:
    """Lecture 09: speculative decoding does not save computation but memory traffic."""
    model = get_model("llama2-7b")
    a100 = get_device("A100")
    one = model.forward_cost(1, context=512)
    six = model.forward_cost(6, context=512)
    assert six.flops == pytest.approx(6 * one.flops, rel=0.01)  # FLOPs scale with k
    assert six.weight_bytes == pytest.approx(one.weight_bytes, rel=1e-3)  # weights read once
    t_one = a100.roofline_time(one.flops, one.bytes)
    t_six = a100.roofline_time(six.flops, six.bytes)
    assert one.bytes / a100.mem_bandwidth > one.flops / a100.peak_flops  # memory-bound
    assert t_six == pytest.approx(t_one, rel=0.01)
    # bytes of a step: the fp16 weights (~13.5 GB) plus a small KV cache
    assert one.weight_bytes == pytest.approx(
        2 * (model.params - model.vocab * model.hidden), rel=1e-3
    )


def test_flops_follow_kaplan_2n_plus_attention() -> None:
    model = get_model("llama2-7b")
    matmul = model.layers * model.layer_params + model.vocab * model.hidden
    cost = model.forward_cost(1, context=0)
    # 2N per token plus 4 x layers x d x (positions attended = 1)
    assert cost.flops == pytest.approx(2 * matmul + 4 * model.layers * model.hidden)
    long = model.forward_cost(1, context=4096)
    assert long.flops - cost.flops == pytest.approx(4 * model.layers * model.hidden * 4096)


def test_kv_cache_bytes_grow_with_context_and_batch() -> None:
    model = get_model("llama2-70b")  # GQA: 8 KV heads of 128
    assert model.kv_dim == 1024
    a = model.forward_cost(1, context=1000, batch=1)
    b = model.forward_cost(1, context=2000, batch=4)
    per_token = 2 * 2 * model.layers * model.kv_dim  # K and V, fp16
    assert a.kv_bytes == pytest.approx(per_token * 1001)
    assert b.kv_bytes == pytest.approx(4 * per_token * 2001)


def test_early_exit_draft_costs_its_layers() -> None:
    model = get_model("llama2-7b")
    draft = model.truncated(8)
    full = model.forward_cost(1, context=128)
    part = draft.forward_cost(1, context=128)
    head = model.vocab * model.hidden
    assert part.weight_bytes == pytest.approx(
        2 * (8 * model.layer_params + head + model.hidden), rel=1e-6
    )
    assert part.bytes < 0.4 * full.bytes
    with pytest.raises(InputError, match="exit_layer must be in 1..32"):
        model.truncated(33)


def test_medusa_heads_cost() -> None:
    model = get_model("llama2-7b")
    # Medusa-1 heads: a d x d residual block and a d x V projection each
    assert medusa_heads_params(model, 4) == 4 * (4096 * 4096 + 4096 * 32000)


def test_bad_architecture_names_the_field() -> None:
    with pytest.raises(InputError, match="layers must be a positive integer"):
        TransformerConfig("x", layers=0, hidden=64, heads=4, kv_heads=4, ffn=128, vocab=10)
    with pytest.raises(InputError, match="hidden"):
        TransformerConfig("x", layers=1, hidden=63, heads=4, kv_heads=4, ffn=128, vocab=10)
