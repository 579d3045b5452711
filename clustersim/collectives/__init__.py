"""Collectives: the kind ``collective`` (one op timed, counted and verified), and the all-reduce
the training kinds embed.

The package holds the files every kind has (docs/architecture.md §8), plus one module per
algorithm family, each with that family's kernel steps, schedules and cost formulas (the three
views of docs/architecture.md §1):

* ``params.py`` -- ``CollectiveParams``, the ``workload:`` block.
* ``kernels.py`` -- the shared numerics: chunking, the padded (ranks, chunks, width) layout,
  inputs and starting buffers of a verified run, whole-row moves, ``check_collective``.
* ``schedule.py`` -- ``Plan`` and ``Step``, the data every schedule is made of, and the helpers
  that read a schedule without a clock (``replay``, ``schedule_pairs``, ``bytes_total``,
  ``fold_ranks``).
* ``ring.py`` -- ring all-reduce, reduce-scatter and all-gather, and the hierarchical
  all-reduce of rings inside and across machines.
* ``recursive.py`` -- recursive doubling and halving, Rabenseifner's all-reduce.
* ``trees.py`` -- binomial trees and NCCL's double binary tree.
* ``direct.py`` -- every rank to every other at once, and the pairwise all-to-all.
* ``costs.py`` -- the closed forms they share: alpha and beta from routes, γ from memory
  bandwidth, nccl-tests' bus bandwidth.
* ``process.py`` -- the SimPy side: ``schedule_process``, ``Reducer``, ``RouteTable``.
* ``algorithms.py`` -- the table of (op, algorithm) entries, ``plan_collective`` and
  ``collective_process``.
* ``allreduce.py`` -- the all-reduce other kinds embed: timed, with real buffers, or priced.
* ``kind.py`` -- ``prepare`` (ranks, root, topology, layout: a ``CollectivePlan``),
  ``simulate``, ``analytic`` and ``KIND``.

The kernels, the schedule data and the family modules are numpy only: importing the ring's
kernel loads no SimPy.
"""

from __future__ import annotations
