"""Closed forms of a tensor-parallel transformer block: FLOPs, bytes, and each rank's steps.

Megatron-LM (Shoeybi et al., "Megatron-LM: Training Multi-Billion Parameter Language Models
Using Model Parallelism", arXiv:1909.08053, 2019, §3) costs a block 2 all-reduces of ``b·s·h``
elements forward and 2 backward; a ring all-reduce sends ``2(t-1)/t`` of its buffer per rank,
i.e. ``8·b·s·h·(t-1)/t`` elements per device per layer (the notation b batch, s sequence, h
hidden of Narayanan et al. SC 2021). The sequence partition instead all-reduces K and V forward,
dV and dK backward, and the replicated weights' gradients (see
:mod:`~clustersim.training.tensor_parallel.kernels` for the numerics of both).

:func:`layer_steps` lists what one rank does for one block, in the kernels' collective order:
compute steps with their FLOPs, roofline bytes and kernels (:data:`GEMMS`), and all-reduces
with their sizes. The process times them on the devices and links; the analytic prices them
with the roofline plus the launch overheads and the all-reduce algorithm's alpha-beta time.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GEMMS",
    "Step",
    "block_flops",
    "layer_steps",
    "megatron_bytes_per_layer_per_device",
    "params_bytes_per_device",
    "ring_bytes_per_device",
]


def block_flops(b: int, s: int, h: int, part: str) -> dict[str, float]:
    """Forward FLOPs of the attention and MLP halves of a block (Narayanan et al. SC 2021, §5.1).

    Attention: Q, K, V projections ``6bsh²``, scores ``2bs²h``, weighted values ``2bs²h``,
    output projection ``2bsh²``; MLP (4h) ``16bsh²``. Backward is twice the forward.
    """
    out = {}
    if part in ("attention", "layer"):
        out["attention"] = 8.0 * b * s * h * h + 4.0 * b * s * s * h
    if part in ("mlp", "layer"):
        out["mlp"] = 16.0 * b * s * h * h
    return out


def megatron_bytes_per_layer_per_device(
    b: int, s: int, h: int, t: int, dtype_bytes: int, part: str = "layer"
) -> float:
    """Bytes one device sends per block with ring all-reduces: ``n · 2(t-1)/t · b·s·h`` elements.

    ``n = 4`` all-reduces for a whole block (2 forward, 2 backward; ``8·b·s·h·(t-1)/t``
    elements, Shoeybi et al. 2019), 2 for attention or MLP alone.
    """
    n = 4 if part == "layer" else 2
    return n * 2.0 * (t - 1) / t * b * s * h * dtype_bytes


def params_bytes_per_device(h: int, dtype_bytes: int, part: str, layers: int, shard: int) -> float:
    """Weight bytes one device holds: ``4h²`` per attention, ``8h²`` per MLP (4h), per layer,
    divided by ``shard`` (the degree for Megatron-LM, 1 for the replicated sequence partition).

    Only the weight matrices count (Shoeybi et al. 2019, §3, splits those); biases and layer
    norms are left out, as in the kernels.
    """
    per = {"attention": 4 * h * h, "mlp": 8 * h * h, "layer": 12 * h * h}[part] * dtype_bytes
    return per * layers / shard


def ring_bytes_per_device(sizes: list[float], t: int) -> float:
    """Bytes one of ``t`` ranks sends for ring all-reduces of ``sizes`` bytes: ``2(t-1)/t`` of
    each buffer (Patarasuk & Yuan, J. Parallel Distrib. Comput. 2009)."""
    return sum(2.0 * (t - 1) / t * size for size in sizes)


GEMMS = {"qkv": 1, "attention": 4, "attention core": 3, "mlp": 2}
"""Matrix products (kernels) of each forward piece, the ones :func:`block_flops` counts: the Q,
K, V projections as one fused GEMM (Megatron-LM's ``query_key_value`` layer), the scores
``QKᵀ`` and the weighted values as one batched GEMM each over all heads, the output projection;
the MLP's two GEMMs. Softmax, dropout, layer norms and the activation are element-wise kernels
the FLOP count leaves out and are taken as fused into their neighbours. A backward piece runs
twice the forward's GEMMs (the data and the weight gradient of each product)."""


@dataclass(frozen=True)
class Step:
    """One step of a rank's timeline: compute (``flops``, ``bytes`` in ``kernels`` kernels) or
    a collective of ``size`` bytes (``"allreduce"``)."""

    kind: str
    label: str
    flops: float = 0.0
    nbytes: float = 0.0
    size: float = 0.0
    kernels: int = 0


def layer_steps(
    part: str, partition: str, b: int, s: int, h: int, t: int, dtype_bytes: int
) -> tuple[list[Step], list[Step]]:
    """(forward, backward) steps of one block on one rank, in the kernels' collective order.

    Compute is :func:`block_flops` split ``t`` ways (backward twice the forward); its roofline
    traffic is the rank's weights plus reading and writing its activations.
    """
    fl = block_flops(b, s, h, part)
    act = float(b * s * h * dtype_bytes)
    fwd: list[Step] = []
    bwd: list[Step] = []
    halves = [k for k in ("attention", "mlp") if k in fl]
    params = {"attention": 4.0 * h * h * dtype_bytes, "mlp": 8.0 * h * h * dtype_bytes}

    shard = t if partition == "megatron" else 1  # the sequence partition replicates weights

    def compute(label: str, flops: float, weights: float, kernels: int) -> Step:
        # roofline traffic: this rank's weights plus reading and writing its activations
        return Step("compute", label, flops / t, weights / shard + 2.0 * act / t, kernels=kernels)

    if partition == "megatron":
        for k in halves:
            fwd += [
                compute(f"{k} fwd", fl[k], params[k], GEMMS[k]),
                Step("allreduce", f"{k} g", size=act),
            ]
        for k in reversed(halves):
            bwd += [
                compute(f"{k} bwd", 2 * fl[k], 2 * params[k], 2 * GEMMS[k]),
                Step("allreduce", f"{k} f", size=act),
            ]
        return fwd, bwd
    weight_grads = 0.0
    for k in halves:
        if k == "attention":
            proj = 6.0 * b * s * h * h  # Q, K, V projections of this rank's tokens
            fwd += [
                compute("qkv fwd", proj, 3 * params[k] / 4, GEMMS["qkv"]),
                Step("allreduce", "K all-reduce", size=act),
                Step("allreduce", "V all-reduce", size=act),
                compute("attention fwd", fl[k] - proj, params[k] / 4, GEMMS["attention core"]),
            ]
        else:
            fwd.append(compute("mlp fwd", fl[k], params[k], GEMMS[k]))
        weight_grads += params[k]
    for k in reversed(halves):
        if k == "attention":
            proj = 6.0 * b * s * h * h
            bwd += [
                compute(
                    "attention bwd",
                    2 * (fl[k] - proj),
                    2 * params[k] / 4,
                    2 * GEMMS["attention core"],
                ),
                Step("allreduce", "dV all-reduce", size=act),
                Step("allreduce", "dK all-reduce", size=act),
                compute("qkv bwd", 2 * proj, 2 * 3 * params[k] / 4, 2 * GEMMS["qkv"]),
            ]
        else:
            bwd.append(compute("mlp bwd", 2 * fl[k], 2 * params[k], 2 * GEMMS[k]))
    bwd.append(Step("allreduce", "weight-gradient all-reduce", size=weight_grads))
    return fwd, bwd
