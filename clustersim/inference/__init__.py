"""Inference workloads: LLM decoding and DNN inference at the edge, one package per kind.

Each kind package holds the files every kind has (docs/architecture.md §8): ``params.py``,
``kernels.py``, ``process.py``, ``costs.py`` and ``kind.py``, plus what that kind needs:

* ``speculative/`` -- kind ``speculative_decoding`` (described below);
* ``early_exit/`` -- BranchyNet (kind ``early_exit``) and, in ``early_exit/ddnn/``, DDNN
  (kind ``ddnn``);
* ``split/`` -- Neurosurgeon's mobile/cloud split (kind ``split``), with the devices' power
  models in ``power.py``;
* ``partition/`` -- spatial (halo exchange, FDSP, BODP), channel-wise and head-wise partitions
  of one model over edge devices (kind ``partition``).

``speculative/`` -- plain, speculative, tree (SpecInfer), PEARL, Medusa and self-speculative
decoding:

* ``params.py`` -- ``SpeculativeParams``, the ``workload:`` block, and the values derived from it.
* ``kernels.py`` -- the sampling algorithms on toy LMs: Leviathan et al.'s Algorithm 1,
  SpecInfer's token trees and multi-step verification, Medusa's typical acceptance, PEARL's
  pre/post-verify rounds; each a generator of ``Round`` records (numpy only).
* ``process.py`` -- ``Placement`` (where the models run, what each pass costs) and the SimPy
  processes that spend the rounds on devices and links.
* ``costs.py`` -- the closed forms of Leviathan et al. (2023).
* ``kind.py`` -- ``prepare`` (devices, placement, the method bound to its seeded toy target:
  a ``SpeculativePlan``), ``simulate``, ``analytic`` and ``KIND``.
* ``models.py`` -- the decode cost model: FLOPs and bytes of one forward pass of a
  decoder-only transformer over k new tokens with a KV cache, and model presets.
* ``toy_lm.py`` -- numpy toy language models (random n-gram targets, drafts of tunable
  quality, Medusa heads) that really sample.
* ``checks.py`` -- the ``output_matches_target`` and ``greedy_matches_target`` checks.
* ``stats.py`` -- chi-square goodness of fit, for the output check.

Nothing here is imported eagerly: the scenario registry imports each ``kind`` module on
first use.
"""

from __future__ import annotations
