"""Training workloads (docs/architecture.md §2): how a model's training step is spread over a
cluster.

One package per workload kind, each with the same files (docs/architecture.md §8):
``params.py`` (the ``workload`` model), ``kernels.py`` (the numerics, numpy only),
``process.py`` (the SimPy processes), ``costs.py`` (the closed forms) and ``kind.py``
(``prepare``, ``simulate``, ``analytic``, ``KIND``), the three views of docs/architecture.md §1:

* :mod:`~clustersim.training.data_parallel`: synchronous data parallelism, with gradient
  compression;
* :mod:`~clustersim.training.parameter_server`: workers pushing to and pulling from servers;
* :mod:`~clustersim.training.pipeline`: pipeline parallelism (GPipe, 1F1B, interleaved 1F1B,
  PipeDream), plus ``layout.py`` (which layers and devices each stage gets),
  ``schedules.py`` (which op each device runs when) and ``planner.py`` (even and balanced
  partitions, PipeDream's dynamic program);
* :mod:`~clustersim.training.tensor_parallel`: one transformer block stack split by Megatron-LM's
  partition or along the sequence.

Shared by the kinds: layer profiles (:mod:`~clustersim.training.profiles`, built from a
``profile`` mapping by :mod:`~clustersim.training.profile_schema`) and synthetic data sets
(:mod:`~clustersim.training.datasets`).
"""
