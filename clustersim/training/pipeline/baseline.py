"""Plain data parallelism for the pipeline kind: the ``data_parallel`` kind on the same cluster.

A PipeDream plan of one stage is data parallelism, and it is what PipeDream's speed-ups are
measured against (Narayanan et al., SOSP 2019, Table 1: "Speedup over DP"). Both are run here
by the ``data_parallel`` kind itself, as the frameworks run it: every worker takes one
micro-batch of ``b`` samples per iteration, and its gradients are all-reduced in buckets that
start while the backward pass goes on (PyTorch DDP's bucketing, Li et al., VLDB 2020 §3.2.3),
on the same devices, links and all-reduce algorithm as the pipeline. The prediction is that
kind's own contention-free bucket recurrence. (It charges each iteration's optimizer update
too, five memory passes over the weights, which the pipeline kind does not charge its
stages.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from clustersim.hardware.cluster import Cluster
from clustersim.training.data_parallel import kind as data_parallel
from clustersim.training.data_parallel.params import DataParallelParams
from clustersim.training.pipeline.params import PipelineParams

__all__ = ["data_parallel_plan", "data_parallel_prediction", "data_parallel_run"]


def data_parallel_plan(
    cluster: Cluster, params: PipelineParams, devices: list[str], samples: int
) -> data_parallel.DataParallelPlan:
    """The data-parallel run of the pipeline's model on ``devices``, ``samples`` per worker."""
    dtype = params.profile.dtype or "float32"
    dp = DataParallelParams(
        workers=len(devices),
        model=params.profile,
        batch_size=samples,
        iterations=1,
        overlap=True,
        algorithm=params.allreduce_algorithm,
        dtype=dtype,
        dataset={"samples": len(devices) * samples},
        verify=False,
    )
    plan = data_parallel.prepare(cluster, dp)
    return dataclasses.replace(plan, layout=dataclasses.replace(plan.layout, ranks=list(devices)))


def data_parallel_prediction(plan: data_parallel.DataParallelPlan) -> dict[str, float]:
    """The data-parallel kind's prediction: iteration time, compute, throughput."""
    out = data_parallel.analytic(plan)
    per_iteration = float(out["time_per_iteration_s"])
    return {
        "time_per_iteration_s": per_iteration,
        "compute_s": float(out["compute_s"]),
        "throughput_samples_per_s": plan.layout.workers * plan.params.batch_size / per_iteration,
    }


def data_parallel_run(
    plan: data_parallel.DataParallelPlan, cluster: Cluster | None = None
) -> dict[str, Any]:
    """Simulate ``plan`` (on ``cluster`` if given, e.g. a fresh copy): the kind's metrics."""
    if cluster is not None:
        plan = dataclasses.replace(plan, cluster=cluster)
    return data_parallel.simulate(plan).metrics
