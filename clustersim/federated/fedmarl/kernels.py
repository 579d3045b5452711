"""The numerics of FedMARL: one small policy network per client, trained by policy gradient.

Pure numpy (the kernel view of docs/architecture.md §1).

**The objective** (the lecture notes' FedMARL slide; Zhang, Lin & Zhang, "A Multi-agent
Reinforcement Learning Approach for Efficient Client Selection in Federated Learning", AAAI
2022, §3): choose the participation ``a_n^t`` of every client ``n`` in every round ``t`` to

    max E[ w1 · Acc(T) - w2 · Σ_t H_t - w3 · Σ_t B_t ],

the final test accuracy, the total round latency (seconds) and the total bandwidth (the bytes
uploaded, in MB), with the weights of the application. :func:`reward_terms` gives the three
terms of one episode separately. For learning, the episode is cut into per-round rewards
``r_t = w1 (Acc_t - Acc_{t-1}) - w2 H_t - w3 B_t`` (FedMARL's reward with the identity for its
accuracy utility), whose sum is the objective less the constant ``w1 · Acc_0``.

**The agents** (the notes: "each client device n relies on an MARL agent at the central server
to make its participation decision; each MARL agent contains a simple two-layer MLP"): agent
``n`` maps its client's state ``s_n^t`` through ``tanh(s W1_n + b1_n)`` to one logit
``z = h · w2_n + b2_n`` and takes part with probability ``σ(z)``; all agents are evaluated at
once as batched products (:class:`Agents`).

**Training**: independent REINFORCE with a shared team reward and a baseline (Williams, "Simple
Statistical Gradient-Following Algorithms for Connectionist Reinforcement Learning", Machine
Learning 8, 1992, §4; independent learners, Tan, ICML 1993): every agent ascends
``Σ_t (G_t - b_t) ∇ log π_n(a_n^t | s_n^t)`` with ``G_t`` the return from round ``t`` on and
``b_t`` an exponential moving average of past episodes' ``G_t`` (:func:`policy_gradient`), by
Adam (Kingma & Ba, ICLR 2015, Algorithm 1; :class:`Adam`). FedMARL itself trains with value
decomposition (VDN, Sunehag et al., AAMAS 2018); independent policy gradient is the simpler
cooperative method used here, and it is why the learning curve is noisy: every agent sees the
team's reward, not its own contribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FEATURES",
    "Adam",
    "Agents",
    "init_agents",
    "log_policy",
    "policy_gradient",
    "probabilities",
    "returns_to_go",
    "reward_terms",
    "round_rewards",
    "states",
]

FEATURES = ("probe_loss", "last_latency", "bandwidth", "data_size", "round", "participation")
"""What an agent sees of its client before a round (:func:`states`)."""

MB = 1e6
"""Bytes per MB of the bandwidth term (decimal, as FedMARL reports MB)."""


@dataclass
class Agents:
    """``N`` two-layer MLP policies: ``W1`` (N, F, H), ``b1`` (N, H), ``w2`` (N, H), ``b2`` (N,)."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def arrays(self) -> list[np.ndarray]:
        return [self.w1, self.b1, self.w2, self.b2]


def init_agents(
    n: int, features: int, hidden: int, rng: np.random.Generator, participation: float
) -> Agents:
    """Glorot-uniform first layers (Glorot & Bengio, AISTATS 2010, eq. 16), zero output weights
    and the output bias at ``logit(participation)``: every agent starts out taking part with
    that probability whatever its state."""
    limit = math.sqrt(6.0 / (features + hidden))
    w1 = rng.uniform(-limit, limit, size=(n, features, hidden))
    b2 = np.full(n, math.log(participation / (1.0 - participation)))
    return Agents(w1, np.zeros((n, hidden)), np.zeros((n, hidden)), b2)


def _forward(agents: Agents, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hidden activations (..., N, H) and logits (..., N) for states (..., N, F)."""
    h = np.tanh(np.einsum("...nf,nfh->...nh", s, agents.w1) + agents.b1)
    return h, np.einsum("...nh,nh->...n", h, agents.w2) + agents.b2


def probabilities(agents: Agents, s: np.ndarray) -> np.ndarray:
    """Each agent's probability of taking part, for states (..., N, F)."""
    _, z = _forward(agents, s)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def log_policy(agents: Agents, s: np.ndarray, a: np.ndarray) -> float:
    """``Σ log π_n(a | s)`` over every round and agent of states (T, N, F), actions (T, N)."""
    _, z = _forward(agents, s)
    # log σ(z) = -log(1 + e^-z), log(1 - σ(z)) = -log(1 + e^z)
    return float(-np.logaddexp(0.0, np.where(a, -z, z)).sum())


def policy_gradient(
    agents: Agents, s: np.ndarray, a: np.ndarray, advantage: np.ndarray
) -> list[np.ndarray]:
    """``Σ_t A_t ∇ Σ_n log π_n(a_n^t | s_n^t)`` for every parameter array of :class:`Agents`.

    ``s`` (T, N, F), ``a`` (T, N) in {0, 1}, ``advantage`` (T,). For a Bernoulli policy with
    logit ``z``, ``∂ log π(a) / ∂z = a - σ(z)``.
    """
    h, z = _forward(agents, s)
    dz = advantage[:, None] * (a - 0.5 * (1.0 + np.tanh(0.5 * z)))  # (T, N)
    g_w2 = np.einsum("tn,tnh->nh", dz, h)
    g_b2 = dz.sum(axis=0)
    dpre = dz[..., None] * agents.w2[None] * (1.0 - h * h)  # (T, N, H)
    g_w1 = np.einsum("tnh,tnf->nfh", dpre, s)
    g_b1 = dpre.sum(axis=0)
    return [g_w1, g_b1, g_w2, g_b2]


@dataclass
class Adam:
    """Adam ascent (Kingma & Ba 2015, Algorithm 1: β1 = 0.9, β2 = 0.999, ε = 1e-8)."""

    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    m: list[np.ndarray] = field(default_factory=list)
    v: list[np.ndarray] = field(default_factory=list)

    def ascend(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """One step up the gradient, in place."""
        if not self.m:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            p += self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """``G_t = Σ_{t' ≥ t} r_t'`` (no discount: the episode's objective is the plain sum)."""
    return np.cumsum(np.asarray(rewards, dtype=float)[::-1])[::-1]


def round_rewards(
    accuracy: np.ndarray,
    latency: np.ndarray,
    upload_bytes: np.ndarray,
    weights: tuple[float, float, float],
) -> np.ndarray:
    """``r_t = w1 (Acc_t - Acc_{t-1}) - w2 H_t - w3 B_t``; ``accuracy`` has ``T + 1`` entries
    (before round 1, then after every round), ``latency`` and ``upload_bytes`` ``T``."""
    w1, w2, w3 = weights
    acc = np.asarray(accuracy, dtype=float)
    return w1 * np.diff(acc) - w2 * np.asarray(latency) - w3 * np.asarray(upload_bytes) / MB


def reward_terms(
    final_accuracy: float,
    latency: np.ndarray,
    upload_bytes: np.ndarray,
    weights: tuple[float, float, float],
) -> tuple[float, float, float, float]:
    """The objective of one episode and its terms: ``(R, w1·Acc(T), w2·ΣH, w3·ΣB)``, with
    ``R = w1·Acc(T) - w2·ΣH - w3·ΣB``."""
    w1, w2, w3 = weights
    acc = w1 * float(final_accuracy)
    lat = w2 * float(np.sum(latency))
    bw = w3 * float(np.sum(upload_bytes)) / MB
    return acc - lat - bw, acc, lat, bw


def states(
    probe_loss: np.ndarray,
    last_latency: np.ndarray,
    bandwidth: np.ndarray,
    sizes: np.ndarray,
    round_index: int,
    rounds: int,
    participation: np.ndarray,
    classes: int,
) -> np.ndarray:
    """Every client's state (N, F) in the order of :data:`FEATURES`, each scaled to order 1:
    the probing loss over ``log(classes)`` (1 for a uniform guess), the client's last round
    time and its link bandwidth as logs relative to the median client, its data size over the
    mean, the round as a share of the run, and the share of past rounds it took part in."""
    loss = np.asarray(probe_loss, dtype=float) / math.log(classes)
    lat = np.log(np.asarray(last_latency, dtype=float) / float(np.median(last_latency)))
    bw = np.log(np.asarray(bandwidth, dtype=float) / float(np.median(bandwidth)))
    size = np.asarray(sizes, dtype=float) / float(np.mean(sizes))
    t = np.full(loss.size, round_index / max(rounds - 1, 1))
    return np.stack([loss, lat, bw, size, t, np.asarray(participation, dtype=float)], axis=1)
