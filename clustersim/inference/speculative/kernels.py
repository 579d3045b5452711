"""The kernels: the sampling algorithms of the speculative decoding family, on toy LMs.

Each method is a generator of :class:`Round` records, one per target-model pass: the tokens
the pass made final, the draft passes that preceded it and how many tokens each pass
processed. The SimPy processes turn rounds into time; the checks turn them into token
sequences; this module knows neither (numpy only, docs/architecture.md §1). All randomness
comes from the ``rng`` passed in, drawn in a fixed order, so the same seed gives the same
tokens.

Methods and their sources:

* :func:`speculative_decoding_step` -- Leviathan, Kalman & Matias, "Fast Inference from
  Transformers via Speculative Decoding", ICML 2023 (arXiv 2211.17192), Algorithm 1, written
  line by line as in the lecture notes' box.
* :func:`verify_token_tree` -- Miao et al., "SpecInfer" (arXiv 2305.09781), Algorithm 2,
  VerifyStochastic (multi-step speculative sampling, lines 24-44), over a token tree built by
  :func:`build_token_tree`. Correct only when sibling tokens are i.i.d. draws from the draft
  (or drawn without replacement with the draft renormalised after each draw and each
  rejection, Chen et al., "Sequoia", arXiv 2402.12374); the ``top_k`` and ``dedup`` sibling
  rules are biased and exist to show it.
* :func:`medusa_step` -- Cai et al., "Medusa" (arXiv 2401.10774), Section 2.3.1 typical
  acceptance, as in FasterDecoding/Medusa ``evaluate_posterior``: a candidate token is
  accepted when p(x) > min(posterior_threshold, posterior_alpha * exp(-H(p))). Not
  distribution-preserving.
* :func:`pearl_rounds` -- Liu et al., "PEARL: Parallel Speculative Decoding with Adaptive
  Draft Length" (arXiv 2408.11850), pre-verify and post-verify as in the authors' code
  (smart-lty/ParallelSpeculativeDecoding, ``parallel_speculative_decoding``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from clustersim.inference.speculative.toy_lm import MedusaHeads, ToyLM, sample_index

__all__ = [
    "Round",
    "TokenTree",
    "autoregressive_rounds",
    "build_token_tree",
    "draft_only_rounds",
    "medusa_rounds",
    "medusa_step",
    "pearl_rounds",
    "residual",
    "speculative_decoding_step",
    "speculative_rounds",
    "take",
    "tree_rounds",
    "tree_step",
    "typical_acceptance",
    "verify_token_tree",
]


@dataclass(frozen=True, slots=True)
class Round:
    """One target pass and the draft work before (or, for PEARL, beside) it.

    Attributes:
        emitted: tokens made final by this round, in order.
        draft_passes: tokens processed by each draft forward pass, in order.
        target_tokens: tokens processed by the target pass (0: no target pass).
        accepted: drafted tokens accepted.
        tested: drafted positions put to the acceptance test (the estimate of the acceptance
            rate is accepted / tested, the maximum-likelihood estimate under Leviathan et al.'s
            i.i.d. model).
        drafted: tokens the drafts produced.
        phase: "decode", "verify", "tree", "medusa", "pre-verify" or "post-verify".
        parallel: the draft passes run beside the target pass (PEARL), not before it.
    """

    emitted: tuple[int, ...]
    draft_passes: tuple[int, ...] = ()
    target_tokens: int = 1
    accepted: int = 0
    tested: int = 0
    drafted: int = 0
    phase: str = "decode"
    parallel: bool = False


def residual(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """norm(max(0, p - q)): the distribution to resample from after a rejection.

    If p <= q everywhere (only possible when p == q, where no rejection can happen) p itself
    is returned.
    """
    d = np.maximum(p - q, 0.0)
    total = d.sum()
    return d / total if total > 0 else p


def speculative_decoding_step(
    target: ToyLM,
    draft: ToyLM,
    state: int,
    gamma: int,
    temperature: float,
    rng: np.random.Generator,
) -> tuple[list[int], int]:
    """Algorithm 1, SpeculativeDecodingStep (Leviathan et al. 2023; lecture 09's box).

    Returns the new tokens ``[x_1, ..., x_n, t]`` and ``n``, the number of accepted guesses.
    """
    P = target.table(temperature)  # M_p and M_q, adjusted for the sampling method (Sec. 2.2)
    Q = draft.table(temperature)
    # Sample gamma guesses x_1..x_gamma from M_q autoregressively.
    xs: list[int] = []
    qs: list[np.ndarray] = []
    states = [state]
    for _i in range(gamma):
        q_i = Q[states[-1]]  # q_i(x) <- M_q(prefix + [x_1, ..., x_{i-1}])
        x_i = draft.sample(states[-1], temperature, rng)  # x_i ~ q_i(x)
        xs.append(x_i)
        qs.append(q_i)
        states.append(target.advance(states[-1], x_i))
    # Run M_p in parallel: p_1(x), ..., p_{gamma+1}(x).
    ps = [P[s] for s in states]
    # Determine the number of accepted guesses n.
    r = rng.random(gamma)  # r_1, ..., r_gamma ~ U(0, 1)
    n = gamma  # min({i - 1 | r_i > p_i(x_i)/q_i(x_i)} u {gamma})
    for i in range(gamma):  # 0-based i is the paper's i - 1
        if r[i] > ps[i][xs[i]] / qs[i][xs[i]]:
            n = i
            break
    # Adjust the distribution from M_p if needed.
    if n < gamma:  # p'(x) <- norm(max(0, p_{n+1} - q_{n+1}))
        t = sample_index(residual(ps[n], qs[n]), rng)
    else:  # p'(x) <- p_{n+1}(x)
        t = target.sample(states[n], temperature, rng)
    # Return one token from M_p, and n tokens from M_q: t ~ p'(x).
    return [*xs[:n], t], n


def _advance(lm: ToyLM, state: int, tokens: Sequence[int]) -> int:
    for token in tokens:
        state = lm.advance(state, token)
    return state


def autoregressive_rounds(
    target: ToyLM, state: int, temperature: float, rng: np.random.Generator
) -> Iterator[Round]:
    """Plain decoding: one target pass, one token."""
    while True:
        token = target.sample(state, temperature, rng)
        state = target.advance(state, token)
        yield Round((token,), (), 1, phase="decode")


def draft_only_rounds(
    draft: ToyLM, state: int, temperature: float, rng: np.random.Generator
) -> Iterator[Round]:
    """Sampling from the draft alone: the negative control of the output check."""
    return autoregressive_rounds(draft, state, temperature, rng)


def speculative_rounds(
    target: ToyLM,
    draft: ToyLM,
    state: int,
    gamma: int,
    temperature: float,
    rng: np.random.Generator,
) -> Iterator[Round]:
    """Repeated :func:`speculative_decoding_step`: gamma draft passes, one (gamma+1)-token
    target pass per round. Also the self-speculative method, with an early-exit draft."""
    while True:
        tokens, n = speculative_decoding_step(target, draft, state, gamma, temperature, rng)
        state = _advance(target, state, tokens)
        yield Round(
            tuple(tokens),
            (1,) * gamma,
            gamma + 1,
            accepted=n,
            tested=min(n + 1, gamma),
            drafted=gamma,
            phase="verify",
        )


# --------------------------------------------------------------------------- token trees
@dataclass
class TokenTree:
    """A speculated token tree (SpecInfer Definition 3.1), node 0 being the root (the prefix).

    Attributes:
        token, parent, depth, state: per node (the root's token is -1).
        proposal: per non-root node, the draft distribution its token is *declared* to be a
            sample of; multi-step speculative sampling divides by it and subtracts it.
        children: per node, its children in creation order.
        level_sizes: nodes per depth 1..m.
    """

    token: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    state: list[int] = field(default_factory=list)
    proposal: list[np.ndarray | None] = field(default_factory=list)
    children: list[list[int]] = field(default_factory=list)
    level_sizes: list[int] = field(default_factory=list)

    def add(self, token: int, parent: int, state: int, proposal: np.ndarray | None) -> int:
        """Append a node; return its index."""
        index = len(self.token)
        self.token.append(token)
        self.parent.append(parent)
        self.depth.append(self.depth[parent] + 1 if parent >= 0 else 0)
        self.state.append(state)
        self.proposal.append(proposal)
        self.children.append([])
        if parent >= 0:
            self.children[parent].append(index)
        return index

    @property
    def size(self) -> int:
        """Speculated tokens (nodes other than the root)."""
        return len(self.token) - 1


def build_token_tree(
    drafts: Sequence[ToyLM],
    state: int,
    expansion: Sequence[int],
    temperature: float,
    rng: np.random.Generator,
    siblings: str = "iid",
) -> TokenTree:
    """Expand a token tree level by level (SpecInfer Section 3, expansion configuration
    <k_1, ..., k_m>: every node at depth i - 1 gets k_i children).

    With several drafts, a node's children are drawn from the drafts in turn (child j from draft
    j mod len(drafts)), a merge of the drafts' trees (SpecInfer's merge-based construction).
    ``siblings`` says how a node's children from one draft are drawn:

    * ``iid``: independent samples of q (duplicates allowed) -- what multi-step speculative
      sampling requires.
    * ``without_replacement``: one after another from q with the tokens already drawn removed
      and q renormalised (Sequoia); the renormalised q is the proposal.
    * ``top_k``: the k most likely tokens of q, declared as if sampled -- biased.
    * ``dedup``: i.i.d. samples with repeated tokens dropped -- biased.
    """
    tree = TokenTree()
    tree.add(-1, -1, state, None)
    tables = [d.table(temperature) for d in drafts]
    frontier = [0]
    for k in expansion:
        next_frontier: list[int] = []
        for node in frontier:
            s = tree.state[node]
            for d, table in enumerate(tables):
                count = len(range(d, k, len(tables)))  # children of this node from draft d
                if count == 0:
                    continue
                q = table[s]
                if siblings == "iid":
                    draft = drafts[d]
                    picks = [(draft.sample(s, temperature, rng), q) for _ in range(count)]
                elif siblings == "without_replacement":
                    picks = []
                    work = q.copy()
                    for _ in range(count):
                        mass = work.sum()
                        if mass <= 1e-15:
                            break  # fewer distinct tokens than k (e.g. T = 0)
                        proposal = work / mass
                        x = sample_index(proposal, rng)
                        picks.append((x, proposal))
                        work[x] = 0.0
                elif siblings == "top_k":
                    order = np.argsort(-q, kind="stable")[:count]
                    picks = [(int(x), q) for x in order]
                elif siblings == "dedup":
                    seen: set[int] = set()
                    picks = []
                    for _ in range(count):
                        x = sample_index(q, rng)
                        if x not in seen:
                            seen.add(x)
                            picks.append((x, q))
                else:  # pragma: no cover - validated by the params
                    raise ValueError(f"unknown sibling rule {siblings!r}")
                for x, proposal in picks:
                    next_frontier.append(tree.add(x, node, drafts[0].advance(s, x), proposal))
        tree.level_sizes.append(len(next_frontier))
        frontier = next_frontier
        if not frontier:
            break
    return tree


def verify_token_tree(
    target: ToyLM,
    tree: TokenTree,
    temperature: float,
    rng: np.random.Generator,
    in_order: bool = False,
) -> tuple[list[int], int, int]:
    """SpecInfer Algorithm 2, VerifyStochastic: multi-step speculative sampling.

    From the root: pick an unexamined child s at random (``in_order``: the first, as sampling
    without replacement requires), accept its token if r <= p(x_s)/q_s(x_s), else replace p by
    norm(max(0, p - q_s)) and try the next child; when a child is accepted descend into it, and
    when all are rejected (or a leaf is reached) sample the next token from p. Returns the
    tokens, the number of accepted levels and the number of levels tested.
    """
    P = target.table(temperature)
    out: list[int] = []
    u = 0
    accepted = tested = 0
    p = P[tree.state[u]]
    while tree.children[u]:  # while u is a non-leaf node
        candidates = list(tree.children[u])  # H = child(u)
        p = P[tree.state[u]]
        tested += 1
        descended = False
        while candidates:  # while H is not empty
            j = 0 if in_order else int(rng.integers(len(candidates)))  # s ~ rand(H)
            s = candidates[j]
            r = rng.random()  # r ~ U(0, 1)
            x_s = tree.token[s]
            q_s = tree.proposal[s]
            assert q_s is not None
            if r <= p[x_s] / q_s[x_s]:  # token x_s passes verification
                out.append(x_s)
                u = s
                accepted += 1
                descended = True
                break
            p = residual(p, q_s)  # P := norm(max(0, P - P_SSM_s))
            candidates.pop(j)  # H.pop(s)
        if not descended:
            break  # all SSMs fail verification
        p = P[tree.state[u]]
    out.append(sample_index(p, rng))  # x_next ~ P(x | u)
    return out, accepted, tested


def tree_step(
    target: ToyLM,
    drafts: Sequence[ToyLM],
    state: int,
    expansion: Sequence[int],
    temperature: float,
    rng: np.random.Generator,
    siblings: str = "iid",
) -> tuple[list[int], int, int, TokenTree]:
    """Build a token tree and verify it: tokens, accepted levels, tested levels, the tree."""
    tree = build_token_tree(drafts, state, expansion, temperature, rng, siblings)
    tokens, accepted, tested = verify_token_tree(
        target, tree, temperature, rng, in_order=siblings == "without_replacement"
    )
    return tokens, accepted, tested, tree


def tree_rounds(
    target: ToyLM,
    drafts: Sequence[ToyLM],
    state: int,
    expansion: Sequence[int],
    temperature: float,
    rng: np.random.Generator,
    siblings: str = "iid",
) -> Iterator[Round]:
    """Repeated :func:`tree_step`. Draft passes: each draft runs one pass per level over the
    nodes it expands; the target verifies the last token and every node in one pass (tree
    attention, SpecInfer Section 4)."""
    n_drafts = len(drafts)
    while True:
        tokens, accepted, tested, tree = tree_step(
            target, drafts, state, expansion, temperature, rng, siblings
        )
        state = _advance(target, state, tokens)
        expanded = [1, *tree.level_sizes[:-1]]  # nodes whose children are drafted, per level
        passes = tuple(n for n in expanded for _ in range(n_drafts) if n)
        yield Round(
            tuple(tokens),
            passes,
            1 + tree.size,
            accepted=accepted,
            tested=tested,
            drafted=tree.size,
            phase="tree",
        )


# --------------------------------------------------------------------------------- Medusa
def typical_acceptance(
    p: np.ndarray, x: int, posterior_threshold: float = 0.09, posterior_alpha: float = 0.3
) -> bool:
    """Medusa's typical acceptance of token ``x`` under the target's distribution ``p``:
    p(x) > min(epsilon, delta exp(-H(p))) (Cai et al. 2024, Section 2.3.1; defaults 0.09 and
    0.3 = sqrt(0.09) as in FasterDecoding/Medusa ``medusa_generate``; the entropy uses
    log(p + 1e-5) as in ``evaluate_posterior``)."""
    entropy = -float(np.sum(p * np.log(p + 1e-5)))
    return bool(p[x] > min(posterior_threshold, posterior_alpha * np.exp(-entropy)))


def medusa_step(
    target: ToyLM,
    heads: MedusaHeads,
    state: int,
    topk: Sequence[int],
    temperature: float,
    acceptance: str = "typical",
    posterior_threshold: float = 0.09,
    posterior_alpha: float = 0.3,
) -> tuple[list[int], int, int]:
    """One Medusa decoding step; returns tokens, accepted candidate tokens, tested positions.

    The first token is the target's greedy choice, accepted unconditionally (Medusa's
    ``generate_candidates`` takes the argmax of the base logits). Head k's top-s_k tokens
    (``topk``) form the candidate tree (the Cartesian product, Medusa Section 2.1.2). One target
    pass scores every candidate; a candidate's accepted length is its longest prefix of
    accepted tokens, and the longest wins (ties: the most likely). Acceptance is greedy
    (x == argmax p) or typical (p(x) > min(posterior_threshold, posterior_alpha exp(-H(p))),
    Section 2.3.1). Deterministic: there is nothing to draw.
    """
    P = target.table(temperature if acceptance == "typical" else 0.0)
    root = target.greedy(state)
    s_root = target.advance(state, root)
    logits = heads.logits(state)
    choices = [np.argsort(-logits[k], kind="stable")[: topk[k]] for k in range(len(topk))]
    best: list[int] = []
    best_score = -np.inf
    tested_best = 0

    def accept(dist: np.ndarray, x: int) -> bool:
        if acceptance == "greedy":
            return x == int(dist.argmax())
        return typical_acceptance(dist, x, posterior_threshold, posterior_alpha)

    def walk(s: int, level: int, path: list[int], score: float) -> None:
        nonlocal best, best_score, tested_best
        dist = P[s]
        extended = False
        if level < len(choices):
            for x in choices[level]:
                x = int(x)
                if accept(dist, x):
                    extended = True
                    walk(
                        target.advance(s, x),
                        level + 1,
                        [*path, x],
                        score + float(np.log(dist[x] + 1e-300)),
                    )
        if not extended and (
            len(path) > len(best) or (len(path) == len(best) and score > best_score)
        ):
            best, best_score = path, score
            tested_best = len(path) + (1 if len(path) < len(choices) else 0)

    walk(s_root, 0, [], 0.0)
    return [root, *best], len(best), tested_best


def medusa_rounds(
    target: ToyLM,
    heads: MedusaHeads,
    state: int,
    topk: Sequence[int],
    temperature: float,
    acceptance: str,
    posterior_threshold: float,
    posterior_alpha: float,
) -> Iterator[Round]:
    """Repeated :func:`medusa_step`: one target pass over the root and the candidate tree."""
    nodes = int(sum(np.cumprod(topk)))
    while True:
        tokens, accepted, tested = medusa_step(
            target,
            heads,
            state,
            topk,
            temperature,
            acceptance,
            posterior_threshold,
            posterior_alpha,
        )
        state = _advance(target, state, tokens)
        yield Round(
            tuple(tokens),
            (),
            1 + nodes,
            accepted=accepted,
            tested=tested,
            drafted=nodes,
            phase="medusa",
        )


# ---------------------------------------------------------------------------------- PEARL
def pearl_rounds(
    target: ToyLM,
    draft: ToyLM,
    state: int,
    gamma: int,
    temperature: float,
    rng: np.random.Generator,
) -> Iterator[Round]:
    """PEARL: the draft drafts gamma tokens while the target runs one pass, every round.

    * Pre-verify (after a rejection; all output so far is verified): the draft drafts
      x_1..x_gamma while the target scores the next position, verifying x_1 alone. Rejected:
      one token from norm(max(0, p - q)), stay in pre-verify. Accepted: x_1 is final and
      x_2..x_gamma stay pending; switch to post-verify.
    * Post-verify: the draft drafts y_1..y_gamma after the pending tokens while the target
      verifies the gamma - 1 pending tokens and y_1 in one pass. All accepted: they are final,
      y_2..y_gamma become pending, stay in post-verify. A rejection at position i: the first
      i are final plus one resampled token; drafts after it are dropped; back to pre-verify.

    Every acceptance test is Leviathan et al.'s, so the output follows the target; the draft
    length adapts by itself (1 after a rejection, growing by gamma per round while the draft
    is right). As in the authors' code, an all-accepted round samples no bonus token.
    """
    P = target.table(temperature)
    Q = draft.table(temperature)
    pending: list[tuple[int, np.ndarray, int]] = []  # (token, q it came from, state before it)
    post = False

    def draft_from(s: int) -> list[tuple[int, np.ndarray, int]]:
        out = []
        for _ in range(gamma):
            q = Q[s]
            x = draft.sample(s, temperature, rng)
            out.append((x, q, s))
            s = target.advance(s, x)
        return out

    while True:
        if not post:
            drafted = draft_from(state)
            x, q, s = drafted[0]
            p = P[s]
            if rng.random() > p[x] / q[x]:
                t = sample_index(residual(p, q), rng)
                state = target.advance(state, t)
                yield Round(
                    (t,),
                    (1,) * gamma,
                    1,
                    accepted=0,
                    tested=1,
                    drafted=gamma,
                    phase="pre-verify",
                    parallel=True,
                )
                continue
            state = target.advance(state, x)
            pending = drafted[1:]
            post = True
            yield Round(
                (x,),
                (1,) * gamma,
                1,
                accepted=1,
                tested=1,
                drafted=gamma,
                phase="pre-verify",
                parallel=True,
            )
            continue
        end = pending[-1][2] if pending else state
        if pending:
            end = target.advance(end, pending[-1][0])
        new = draft_from(end)
        checks = [*pending, new[0]]
        emitted: list[int] = []
        rejected = False
        for x, q, s in checks:
            p = P[s]
            if rng.random() > p[x] / q[x]:
                emitted.append(sample_index(residual(p, q), rng))
                rejected = True
                break
            emitted.append(x)
        state = _advance(target, state, emitted)
        if rejected:
            accepted = len(emitted) - 1
            pending = []
            post = False
            yield Round(
                tuple(emitted),
                (1,) * gamma,
                gamma,
                accepted=accepted,
                tested=accepted + 1,
                drafted=gamma,
                phase="post-verify",
                parallel=True,
            )
        else:
            pending = new[1:]
            yield Round(
                tuple(emitted),
                (1,) * gamma,
                gamma,
                accepted=len(emitted),
                tested=len(emitted),
                drafted=gamma,
                phase="post-verify",
                parallel=True,
            )


def take(rounds: Iterator[Round], n_tokens: int) -> tuple[list[int], list[Round]]:
    """Run ``rounds`` until ``n_tokens`` tokens are final; the last round may overshoot and its
    surplus tokens are cut (its cost still counts)."""
    tokens: list[int] = []
    done: list[Round] = []
    while len(tokens) < n_tokens:
        r = next(rounds)
        done.append(r)
        tokens.extend(r.emitted)
    return tokens[:n_tokens], done
