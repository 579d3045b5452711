"""Inference workloads: LLM decoding and the speculative decoding family.

The package keeps DESIGN.md's three views apart, one module per job:

* :mod:`~clustersim.inference.speculative.models` -- the decode cost model: FLOPs and bytes of one forward
  pass of a decoder-only transformer over k new tokens with a KV cache, and model presets.
* :mod:`~clustersim.inference.speculative.toy_lm` -- numpy toy language models (random n-gram targets and
  drafts of tunable quality) that really sample.
* :mod:`~clustersim.inference.speculative.sampling` -- the kernels: Leviathan et al.'s Algorithm 1,
  SpecInfer's tree verification, Medusa's typical acceptance, PEARL's pre/post-verify rounds.
* :mod:`~clustersim.inference.speculative.stats` -- chi-square goodness of fit, for the output checks.
* :mod:`~clustersim.inference.speculative.checks` -- ``output_matches_target`` and ``greedy_matches_target``.
* :mod:`~clustersim.inference.speculative.costs` -- the closed forms of Leviathan et al. (2023).
* :mod:`~clustersim.inference.speculative.process` -- SimPy processes that spend the kernels' passes on
  devices and links.
* :mod:`~clustersim.inference.speculative.kind` -- the ``speculative_decoding`` workload kind.

Nothing here is imported eagerly: the registry imports the workload module on first use.
"""

from __future__ import annotations
