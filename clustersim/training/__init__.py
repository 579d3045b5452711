"""Training workloads (DESIGN.md §2): how a model's training step is spread over a cluster.

Each algorithm keeps the three views of DESIGN.md §1. Pipeline and tensor parallelism:

* schedules and kernels: :mod:`~clustersim.training.pipeline.schedules` (which op each device runs
  when), :mod:`~clustersim.training.pipeline.kernels` (a numpy MLP replayed through a schedule),
  :mod:`~clustersim.training.tensor_parallel.kernels` (Megatron-LM and sequence partitions of a block);
* processes: :mod:`~clustersim.training.pipeline.process` (one SimPy process per device) and the
  ``tensor_parallel`` kind's ranks;
* costs: :mod:`~clustersim.training.pipeline.costs` (bubbles, memory, weight versions),
  :mod:`~clustersim.training.pipeline.planner` (PipeDream's partitioning dynamic program), and the
  closed forms in :mod:`~clustersim.training.tensor_parallel.kernels`;

with layer profiles in :mod:`~clustersim.training.profiles` and the workload kinds ``pipeline``
(:mod:`~clustersim.training.pipeline.kind`) and ``tensor_parallel``
(:mod:`~clustersim.training.tensor_parallel.kind`).
"""
