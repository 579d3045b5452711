"""Collectives: the kind ``collective`` (one op timed, counted and verified), and the all-reduce
the training kinds embed.

The package holds the files every kind has (docs/architecture.md §8), plus one module per
algorithm family, each with that family's kernel steps, schedules and cost formulas (the three
views of docs/architecture.md §1):

* ``params.py`` -- ``CollectiveParams``, the ``workload:`` block.
* ``kernels.py`` -- the shared numerics: chunking, the padded (ranks, chunks, width) layout,
  ``InputStream`` (a verified run's inputs, drawn in place and redrawn block by block), whole-row
  moves, ``check_collective`` (block by block, no copy of the inputs).
* ``schedule.py`` -- ``Plan`` and ``Step``, the data every schedule is made of, and the helpers
  that read a schedule without a clock (``replay``, ``schedule_pairs``, ``bytes_total``,
  ``fold_ranks``).
* ``ring.py`` -- ring all-reduce, reduce-scatter and all-gather, and the hierarchical
  all-reduce of rings inside and across machines.
* ``recursive.py`` -- recursive doubling and halving, Rabenseifner's all-reduce.
* ``chain.py`` -- NCCL's pipelined ring broadcast and reduce (a chunked chain from the root).
* ``trees.py`` -- binomial trees and NCCL's double binary tree.
* ``direct.py`` -- every rank to every other at once, and the pairwise all-to-all.
* ``costs.py`` -- the closed forms they share: alpha and beta from routes, γ from memory
  bandwidth, nccl-tests' bus bandwidth.
* ``process.py`` -- the SimPy side: ``schedule_process``, ``Reducer``, ``RouteTable`` (routes,
  and the port model's ``port_load``).
* ``tuning.py`` -- NCCL 2.7.5's tuner model, for ``algorithm: auto``.
* ``algorithms.py`` -- the table of (op, algorithm) entries, ``plan_collective``,
  ``choose_auto`` and ``collective_process``.
* ``verify.py`` -- verified runs (``verify: true`` or ``sampled``): the replay buffers and the
  memory they need.
* ``allreduce.py`` -- the all-reduce other kinds embed: timed, with real buffers, or priced.
* ``kind.py`` -- ``prepare`` (ranks, root, topology, ``auto``, layout: a ``CollectivePlan``),
  ``simulate``, ``analytic``, ``estimate`` and ``KIND``.

The kernels, the schedule data and the family modules are numpy only: importing the ring's
kernel loads no SimPy.
"""

from __future__ import annotations
