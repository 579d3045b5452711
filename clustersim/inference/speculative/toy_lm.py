"""Toy language models: numpy functions from a prefix to a next-token distribution.

A :class:`ToyLM` is a random n-gram model over a small vocabulary: the next-token logits are a
table indexed by the last ``order`` tokens (the *state*), so evaluating the model is a table
look-up and the kernels can sample millions of tokens. The target is a table of Gaussian
logits whose scale (``sharpness``) sets how peaked its distributions are; a draft mixes the
target's logits with independent noise,

    logits_q = quality * logits_p + (1 - quality) * sharpness * Z,     Z ~ N(0, 1),

so ``quality`` moves the acceptance rate alpha from about 0.2 (quality 0, an unrelated model
of the same sharpness) through ~0.55 (0.5) and ~0.9 (0.9) to 1 (quality 1, the target itself);
the exact value is :func:`expected_alpha`.

Sampling follows Leviathan et al. (2023), Section 2.2 ("standardized sampling"): temperature
T > 0 samples softmax(logits / T), and T = 0 (argmax) is the one-hot distribution on the most
likely token (lowest index on ties), so every kernel only ever samples from a distribution.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from clustersim.errors import InputError

__all__ = [
    "MedusaHeads",
    "ToyLM",
    "expected_alpha",
    "greedy_agreement",
    "make_draft",
    "make_target",
    "sample_index",
]


def sample_index(dist: np.ndarray, rng: np.random.Generator) -> int:
    """One index drawn from the probability vector ``dist`` (inverse CDF, one uniform)."""
    cdf = np.cumsum(dist)
    index = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(index, dist.size - 1)


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    if temperature == 0:
        out = np.zeros_like(logits)
        out[np.arange(logits.shape[0]), logits.argmax(axis=1)] = 1.0
        return out
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@dataclass
class ToyLM:
    """A random n-gram language model.

    Attributes:
        logits: (vocab ** order, vocab) next-token logits, row = state.
        order: tokens of context that matter (1: a Markov chain).
        name: for messages.
    """

    logits: np.ndarray
    order: int
    name: str = "lm"
    _tables: dict[float, np.ndarray] = field(default_factory=dict, repr=False)
    _cdfs: dict[float, list[list[float]]] = field(default_factory=dict, repr=False)
    _stationary: dict[float, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.vocab = int(self.logits.shape[1])
        """Vocabulary size."""
        self.n_states = int(self.logits.shape[0])
        """Number of distinct contexts: vocab ** order."""
        if self.n_states != self.vocab**self.order:
            raise ValueError(
                f"logits has {self.n_states} rows; expected vocab ** order = "
                f"{self.vocab**self.order}"
            )

    def advance(self, state: int, token: int) -> int:
        """The state after appending ``token``."""
        return (state * self.vocab + int(token)) % self.n_states

    def table(self, temperature: float) -> np.ndarray:
        """All next-token distributions at ``temperature`` (rows = states), cached."""
        key = float(temperature)
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = _softmax(self.logits, key)
            table.setflags(write=False)
        return table

    def sample(self, state: int, temperature: float, rng: np.random.Generator) -> int:
        """One token from p(. | state): the same inverse-CDF draw as :func:`sample_index` on
        ``probs(state, temperature)`` (one uniform), from a cached CDF table."""
        key = float(temperature)
        cdfs = self._cdfs.get(key)
        if cdfs is None:
            cdfs = self._cdfs[key] = np.cumsum(self.table(key), axis=1).tolist()
        row = cdfs[state]
        return min(bisect_right(row, rng.random() * row[-1]), len(row) - 1)

    def probs(self, state: int, temperature: float) -> np.ndarray:
        """p(. | state) at ``temperature``."""
        return self.table(temperature)[state]

    def greedy(self, state: int) -> int:
        """The argmax token (lowest index on ties)."""
        return int(self.logits[state].argmax())

    def next_states(self) -> np.ndarray:
        """(n_states, vocab) array: the state reached by appending each token."""
        states = np.arange(self.n_states)[:, None] * self.vocab + np.arange(self.vocab)[None, :]
        return states % self.n_states

    def propagate(self, dist: np.ndarray, temperature: float) -> np.ndarray:
        """One step of the chain: the state distribution after sampling one more token."""
        flow = dist[:, None] * self.table(temperature)
        return np.bincount(
            self.next_states().ravel(), weights=flow.ravel(), minlength=self.n_states
        )

    def marginals(self, state: int, steps: int, temperature: float) -> np.ndarray:
        """(steps, vocab): the distribution of each of the next ``steps`` tokens after
        ``state``, marginalised over the tokens in between (sampling at ``temperature``)."""
        dist = np.zeros(self.n_states)
        dist[state] = 1.0
        out = np.empty((steps, self.vocab))
        table = self.table(temperature)
        for i in range(steps):
            out[i] = dist @ table
            dist = self.propagate(dist, temperature)
        return out

    def stationary(
        self, temperature: float, iterations: int = 500, tol: float = 1e-12
    ) -> np.ndarray:
        """The chain's long-run distribution over states (power iteration from uniform)."""
        key = float(temperature)
        cached = self._stationary.get(key)
        if cached is not None:
            return cached
        dist = np.full(self.n_states, 1.0 / self.n_states)
        # Average the last iterates: at T = 0 the chain is deterministic and may cycle.
        acc = np.zeros_like(dist)
        for i in range(iterations):
            new = self.propagate(dist, key)
            if i >= iterations // 2:
                acc += new
            if np.abs(new - dist).sum() < tol:
                acc = new
                break
            dist = new
        acc /= acc.sum()
        self._stationary[key] = acc
        return acc


def _check_shape(vocab: int, order: int) -> None:
    if not isinstance(vocab, int) or vocab < 2:
        raise InputError(f"vocab must be an integer >= 2, got {vocab!r}")
    if not isinstance(order, int) or not 1 <= order <= 3:
        raise InputError(f"order must be 1, 2 or 3 (tokens of context), got {order!r}")
    if vocab**order > 2**18:
        raise InputError(
            f"vocab ** order = {vocab**order} states is too many for a toy "
            "model; expected at most 262144 (e.g. vocab 64 with order 2)"
        )


def make_target(
    vocab: int, order: int, sharpness: float, rng: np.random.Generator, name: str = "target"
) -> ToyLM:
    """A random n-gram target: logits ~ sharpness x N(0, 1) for every state and token."""
    _check_shape(vocab, order)
    if not sharpness > 0:
        raise InputError(f"target_sharpness must be positive, got {sharpness!r}")
    logits = sharpness * rng.standard_normal((vocab**order, vocab))
    return ToyLM(logits, order, name)


def make_draft(
    target: ToyLM,
    quality: float,
    rng: np.random.Generator,
    sharpness: float | None = None,
    name: str = "draft",
) -> ToyLM:
    """A draft of ``target``: its logits mixed with noise, see the module docstring."""
    if not 0 <= quality <= 1:
        raise InputError(f"draft_quality must be in [0, 1], got {quality!r}")
    scale = float(np.std(target.logits)) if sharpness is None else sharpness
    noise = rng.standard_normal(target.logits.shape)
    logits = quality * target.logits + (1 - quality) * scale * noise
    return ToyLM(logits, target.order, name)


def greedy_agreement(target: ToyLM, draft: ToyLM, state: int, positions: int) -> np.ndarray:
    """Along the target's greedy path from ``state``: whether the draft's greedy token agrees.

    At temperature 0 both models are deterministic, so the tokens speculative decoding emits
    are the target's greedy path (it is lossless) and a drafted token is accepted exactly
    where the draft's argmax equals the target's (``p(x)/q(x)`` is 1 or 0). Entry ``k`` is that
    agreement at the ``k``-th state of the path.
    """
    out = np.empty(positions, dtype=bool)
    for k in range(positions):
        token = target.greedy(state)
        out[k] = draft.greedy(state) == token
        state = target.advance(state, token)
    return out


def expected_alpha(target: ToyLM, draft: ToyLM, temperature: float) -> float:
    """alpha = E(sum_x min(p(x), q(x))) over the target's own prefixes.

    Leviathan et al. (2023), Corollary 3.6: alpha = 1 - E(D_LK(p, q)) = E(min(p, q)); Section
    4.2 takes the expectation over prefixes generated by M_p, here the target chain's
    stationary distribution over states.
    """
    p = target.table(temperature)
    q = draft.table(temperature)
    beta = np.minimum(p, q).sum(axis=1)
    return float(target.stationary(temperature) @ beta)


@dataclass
class MedusaHeads:
    """K toy Medusa heads on a target (Cai et al. 2024, Section 2.1.1).

    Head k (k = 1..K) reads the last hidden state at position t and predicts the token at
    t + 1 + k (the base LM head predicts t + 1). The ideal head would output the target's
    marginal distribution of that token; a toy head mixes the log of that marginal with noise
    exactly as :func:`make_draft` mixes logits, with the same ``quality`` knob.
    """

    target: ToyLM
    heads: int
    quality: float
    temperature: float
    rng_seed: int
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.quality <= 1:
            raise InputError(f"draft_quality must be in [0, 1], got {self.quality!r}")
        self._scale = float(np.std(self.target.logits))

    def logits(self, state: int) -> np.ndarray:
        """(K, vocab) head logits at ``state``; row k-1 predicts the token at t + 1 + k."""
        cached = self._cache.get(state)
        if cached is None:
            marg = self.target.marginals(state, self.heads + 1, self.temperature)[1:]
            # Noise is a fixed function of (state, head): the heads are deterministic models.
            noise = np.random.default_rng((self.rng_seed, state)).standard_normal(marg.shape)
            cached = self.quality * np.log(marg + 1e-9) + (1 - self.quality) * self._scale * noise
            self._cache[state] = cached
        return cached
