"""Decode cost model: FLOPs and bytes of a decoder-only transformer forward pass.

A decoding step runs the model over ``k`` new tokens for each of ``b`` sequences that already
hold ``L`` tokens in their KV cache. On a device it costs the roofline time
``max(FLOPs / peak, bytes / mem_bw)`` plus the device's launch overhead per kernel
(:meth:`DeviceSpec.kernel_time`), where

* FLOPs = 2 x (matmul parameters) x b x k                       (one multiply-add per weight)
          + 4 x layers x d_attn x b x sum_{i=1..k} (L + i)       (QK^T and AV over the cache)
  following Kaplan et al., "Scaling Laws for Neural Language Models" (2020), Table 1
  (C_forward ~ 2N + 2 n_layer n_ctx d_attn per token; that table counts the QK^T product only,
  we add the equally sized AV product);
* bytes = weights read once per pass (every matmul parameter, whatever k is)
          + the KV cache read once per pass (2 x layers x kv_dim x L per sequence; decode
            attention kernels such as FlashDecoding stream K and V once for all new queries)
          + the new tokens' K and V written, and their embedding rows gathered.

The weights term does not grow with k, which is the whole point of speculative decoding:
verifying gamma + 1 tokens on a memory-bound target costs about one decode step ("speculative
decoding does not save computation, but greatly reduces memory traffic", lecture 09; Leviathan
et al. 2023, Section 3.4). Activations are assumed to stay on chip; layer norms, rotary
embeddings and the softmax are ignored (a fraction of a percent of the FLOPs).

* kernels = :data:`BLOCK_KERNELS` per block + the embedding gather + the LM head (+ two per
  Medusa head): one launch per matrix product the FLOPs above count, and none for the
  element-wise work they ignore (taken as fused into its neighbours).

Presets give the architecture of public checkpoints; the parameter count is derived from it and
matches the published size, which is how each configuration below was checked.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from clustersim.errors import InputError

__all__ = [
    "BLOCK_KERNELS",
    "DTYPE_BYTES",
    "MEDUSA_HEAD_KERNELS",
    "MODEL_PRESETS",
    "ForwardCost",
    "TransformerConfig",
    "get_model",
    "medusa_heads_params",
]

DTYPE_BYTES: dict[str, float] = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "int4": 0.5}
"""Bytes per weight / KV element for each storage dtype."""


BLOCK_KERNELS = 5
"""Kernels of one block in a decoding pass: the Q, K, V projections as one fused GEMM, one
attention kernel over the cache (FlashDecoding-style: ``QKᵀ``, softmax and ``AV`` fused, as the
KV term above assumes), the output projection, the SwiGLU gate and up projections as one fused
GEMM, and the down projection."""
MEDUSA_HEAD_KERNELS = 2
"""Kernels of one Medusa head: its residual feed-forward layer ``W1`` and its vocabulary
projection ``W2`` (:func:`medusa_heads_params`)."""


@dataclass(frozen=True, slots=True)
class ForwardCost:
    """What one forward pass costs: FLOP, bytes moved to or from main memory, and the kernels
    it launches."""

    flops: float
    weight_bytes: float
    kv_bytes: float
    kernels: int = 0

    @property
    def bytes(self) -> float:
        """All bytes moved: weights, KV cache, embeddings."""
        return self.weight_bytes + self.kv_bytes

    def __add__(self, other: ForwardCost) -> ForwardCost:
        return ForwardCost(
            self.flops + other.flops,
            self.weight_bytes + other.weight_bytes,
            self.kv_bytes + other.kv_bytes,
            self.kernels + other.kernels,
        )


@dataclass(frozen=True, slots=True)
class TransformerConfig:
    """A LLaMA-style decoder: attention with grouped KV heads and a SwiGLU MLP.

    Attributes:
        name: preset name.
        layers: transformer blocks.
        hidden: model width d.
        heads: query heads.
        kv_heads: key/value heads (= heads without grouped-query attention).
        ffn: MLP inner width (SwiGLU: gate, up and down projections).
        vocab: vocabulary size (embedding table and LM head, untied).
        source: where the numbers come from.
    """

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    source: str = ""

    def __post_init__(self) -> None:
        for field in ("layers", "hidden", "heads", "kv_heads", "ffn", "vocab"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise InputError(
                    f"model {self.name!r}: {field} must be a positive integer, got {value!r}"
                )
        if self.hidden % self.heads or self.heads % self.kv_heads:
            raise InputError(
                f"model {self.name!r}: hidden ({self.hidden}) must divide into "
                f"heads ({self.heads}) and heads into kv_heads ({self.kv_heads})"
            )

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        """Width of K (or V) per token per layer: kv_heads x head_dim."""
        return self.kv_heads * self.head_dim

    @property
    def layer_params(self) -> int:
        """Matmul parameters of one block: Q, K, V, O projections and the SwiGLU MLP."""
        d = self.hidden
        return d * (d + 2 * self.kv_dim) + d * d + 3 * d * self.ffn

    @property
    def params(self) -> int:
        """All parameters: embedding, blocks (with their two RMSNorms), final norm, LM head."""
        d = self.hidden
        return 2 * self.vocab * d + self.layers * (self.layer_params + 2 * d) + d

    def truncated(self, layers: int) -> TransformerConfig:
        """The first ``layers`` blocks with the LM head: an early-exit draft (LayerSkip)."""
        if not 1 <= layers <= self.layers:
            raise InputError(
                f"exit_layer must be in 1..{self.layers} for {self.name}, got {layers}"
            )
        return replace(self, name=f"{self.name}[:{layers}]", layers=layers)

    def forward_cost(
        self,
        tokens: int,
        *,
        batch: int = 1,
        context: int = 0,
        dtype_bytes: float = 2,
        layers: int | None = None,
        lm_head: bool = True,
        extra_params: float = 0.0,
        extra_kernels: int = 0,
    ) -> ForwardCost:
        """FLOPs and bytes of one pass over ``tokens`` new tokens per sequence.

        Args:
            tokens: new tokens per sequence in this pass (1 for plain decoding, gamma + 1 to
                verify gamma drafted tokens, the node count for a token tree).
            batch: sequences decoded together.
            context: tokens already in each sequence's KV cache.
            dtype_bytes: bytes per weight and per KV element.
            layers: blocks to run (default all; fewer for an early-exit draft or for the
                layers left to verify after one).
            lm_head: whether the pass ends in the LM head (a vocab x hidden matmul).
            extra_params: further matmul parameters applied to every token (Medusa heads).
            extra_kernels: the kernels those parameters launch.
        """
        n_layers = self.layers if layers is None else layers
        matmul = n_layers * self.layer_params + (self.vocab * self.hidden if lm_head else 0)
        matmul += extra_params
        new = batch * tokens
        # sum_{i=1..k} (L + i) = k L + k (k + 1) / 2 positions attended, per sequence.
        attended = batch * (tokens * context + tokens * (tokens + 1) / 2)
        flops = 2.0 * matmul * new + 4.0 * n_layers * self.hidden * attended
        weight_bytes = dtype_bytes * (matmul + new * self.hidden)  # + embedding rows gathered
        kv_bytes = dtype_bytes * 2 * n_layers * self.kv_dim * batch * (context + tokens)
        kernels = BLOCK_KERNELS * n_layers + 1 + (1 if lm_head else 0) + extra_kernels
        return ForwardCost(flops, weight_bytes, kv_bytes, kernels)


def medusa_heads_params(config: TransformerConfig, heads: int) -> float:
    """Matmul parameters of ``heads`` Medusa-1 heads on ``config``.

    Cai et al., "Medusa" (2024), Section 2.1.1: head k is one residual feed-forward layer and its
    own vocabulary projection, p_t^(k) = softmax(W2^(k) (SiLU(W1^(k) h_t) + h_t)) with
    W1 in R^{d x d} and W2 in R^{d x V}.
    """
    d = config.hidden
    return heads * (d * d + d * config.vocab)


# --------------------------------------------------------------------------------------------
# Presets. Each configuration is the architecture in the checkpoint's Hugging Face config.json
# (hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
# num_key_value_heads, vocab_size); the parameter count derived from it is given in the
# comment and matches the size in the model's name, which is how we checked the figures.
# --------------------------------------------------------------------------------------------

MODEL_PRESETS: dict[str, TransformerConfig] = {
    # Touvron et al., "Llama 2" (2023), Table 1 / meta-llama/Llama-2-7b-hf config.json:
    # 32 layers, d = 4096, 32 heads (no GQA), SwiGLU 11008, vocab 32000 -> 6.74e9 parameters.
    # Vicuna-7B (Medusa's base model) has the same architecture.
    "llama2-7b": TransformerConfig(
        "llama2-7b",
        layers=32,
        hidden=4096,
        heads=32,
        kv_heads=32,
        ffn=11008,
        vocab=32000,
        source="meta-llama/Llama-2-7b-hf config.json (6.74 B parameters)",
    ),
    # meta-llama/Llama-2-13b-hf config.json: 40 layers, d = 5120, 40 heads, SwiGLU 13824
    # -> 13.0e9 parameters.
    "llama2-13b": TransformerConfig(
        "llama2-13b",
        layers=40,
        hidden=5120,
        heads=40,
        kv_heads=40,
        ffn=13824,
        vocab=32000,
        source="meta-llama/Llama-2-13b-hf config.json (13.0 B parameters)",
    ),
    # meta-llama/Llama-2-70b-hf config.json: 80 layers, d = 8192, 64 heads with 8 KV heads
    # (grouped-query attention, Llama 2 paper Section 2.2), SwiGLU 28672 -> 69.0e9 parameters.
    "llama2-70b": TransformerConfig(
        "llama2-70b",
        layers=80,
        hidden=8192,
        heads=64,
        kv_heads=8,
        ffn=28672,
        vocab=32000,
        source="meta-llama/Llama-2-70b-hf config.json (69.0 B parameters, GQA 8 KV heads)",
    ),
    # JackFram/llama-68m, the small speculative model (SSM) of SpecInfer (Miao et al. 2023,
    # Section 6.1): 2 layers, d = 768, 12 heads, 3072, LLaMA vocabulary -> 68.0e6 parameters.
    # (config figures from memory of the model card, confirmed by the derived 68.0 M.)
    "llama-68m": TransformerConfig(
        "llama-68m",
        layers=2,
        hidden=768,
        heads=12,
        kv_heads=12,
        ffn=3072,
        vocab=32000,
        source="JackFram/llama-68m config.json (SpecInfer's SSM; 68.0 M parameters)",
    ),
    # JackFram/llama-160m: the same width with 12 layers -> 162.4e6 parameters.
    "llama-160m": TransformerConfig(
        "llama-160m",
        layers=12,
        hidden=768,
        heads=12,
        kv_heads=12,
        ffn=3072,
        vocab=32000,
        source="JackFram/llama-160m config.json (162 M parameters)",
    ),
    # TinyLlama/TinyLlama-1.1B config.json: 22 layers, d = 2048, 32 heads with 4 KV heads,
    # SwiGLU 5632, LLaMA vocabulary -> 1.10e9 parameters (Zhang et al. 2024, Table 1).
    "tinyllama-1.1b": TransformerConfig(
        "tinyllama-1.1b",
        layers=22,
        hidden=2048,
        heads=32,
        kv_heads=4,
        ffn=5632,
        vocab=32000,
        source="TinyLlama/TinyLlama-1.1B config.json (1.10 B parameters, GQA 4 KV heads)",
    ),
}

_ALIASES: dict[str, str] = {
    "vicuna-7b": "llama2-7b",
    "llama-2-7b": "llama2-7b",
    "llama-2-13b": "llama2-13b",
    "llama-2-70b": "llama2-70b",
    "tinyllama": "tinyllama-1.1b",
    "7b": "llama2-7b",
    "13b": "llama2-13b",
    "70b": "llama2-70b",
    "68m": "llama-68m",
    "160m": "llama-160m",
    "1.1b": "tinyllama-1.1b",
}


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch not in "-_ ")


_INDEX = {_normalise(n): n for n in MODEL_PRESETS} | {_normalise(a): n for a, n in _ALIASES.items()}


def get_model(name: str) -> TransformerConfig:
    """The preset called ``name`` (case, '-', '_' and spaces ignored; aliases such as '7b')."""
    if not isinstance(name, str):
        raise InputError(f"a model must be a preset name, got {name!r}")
    key = _normalise(name)
    if key in _INDEX:
        return MODEL_PRESETS[_INDEX[key]]
    close = difflib.get_close_matches(key, list(_INDEX), n=1, cutoff=0.6)
    hint = f"; did you mean {_INDEX[close[0]]!r}?" if close else ""
    raise InputError(
        f"unknown model preset {name!r}; known presets: {', '.join(MODEL_PRESETS)}{hint}"
    )
