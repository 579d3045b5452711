"""The pipeline's kernel view: a numpy MLP cut into stages, replayed op by op.

The process (:mod:`~clustersim.training.pipeline.process`) calls :meth:`PipelineReplay.forward` and
:meth:`PipelineReplay.backward` at the simulated instant each op runs, so the numbers follow
exactly the order the schedule imposes: activations and gradients are handed from stage to
stage, a stage with recomputation keeps only its input and re-runs its forward pass before the
backward, PipeDream stages keep one weight version per in-flight micro-batch. Two checks come
out of it:

* ``pipeline_gradient_equals_full_batch`` (synchronous schedules): after the flush and the
  gradient all-reduce across replicas, every replica's gradient equals the gradient of the
  unsplit model on the whole global batch (the lecture notes' weight update
  ``w_{t+1} = w_t - η/n Σ_{x∈B} ∇l(x, w_t)``: micro-batch gradients, each normalised by the
  global batch size, add up to the full-batch gradient).
* ``weight_stashing_consistent`` (PipeDream): each micro-batch's backward pass at each stage
  used the weight version its forward pass used, and its gradient equals the gradient of the
  unsplit model evaluated with exactly those per-stage versions (Narayanan et al., SOSP 2019,
  §3.3 "Weight Stashing"). With ``stashing=False`` the backward uses the latest weights
  instead: the negative control, which must fail.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clustersim.kinds.contract import check
from clustersim.nn import Sequential, mlp, softmax_cross_entropy
from clustersim.nn.layers import Params

__all__ = ["PipelineReplay"]

_CLASSES = 4


class PipelineReplay:
    """A ``stages``-way split MLP with two Linear layers per stage, replaying a schedule.

    Args:
        stages: number of virtual stages (model chunks).
        stage_replicas: replicas of each virtual stage (data parallelism).
        microbatch_size: samples per micro-batch.
        microbatches: total number of micro-batches that stream through (all replicas).
        mode: ``"flush"`` (synchronous schedules: gradients accumulate, no update) or
            ``"async"`` (PipeDream: weights update after each micro-batch, or after each round
            of a replicated stage).
        recompute: stages keep only their input and recompute the forward before backward.
        stashing: PipeDream weight stashing (``False`` is the negative control).
        width: hidden width of the MLP.
        rng: source of the weights and data.
        lr: SGD learning rate of the asynchronous updates.
    """

    def __init__(
        self,
        stages: int,
        stage_replicas: list[int],
        microbatch_size: int,
        microbatches: int,
        *,
        mode: str,
        recompute: bool,
        stashing: bool = True,
        width: int = 8,
        rng: np.random.Generator,
        lr: float = 0.05,
    ) -> None:
        self.stages = stages
        self.mode = mode
        self.recompute = recompute
        self.stashing = stashing
        self.b = microbatch_size
        self.lr = lr
        sizes = [width] * (2 * stages) + [_CLASSES]
        self.model: Sequential = mlp(sizes, rng=rng)
        counts = [4] * (stages - 1) + [3]
        self.parts = self.model.split(counts)
        n = microbatches * microbatch_size
        self.x = rng.standard_normal((n, width))
        self.labels = rng.integers(0, _CLASSES, n)
        self.normalizer = float(n if mode == "flush" else microbatch_size)
        self.replicas = stage_replicas
        # activations / gradients in flight, keyed (stage, microbatch)
        self._inputs: dict[tuple[int, int], np.ndarray] = {}
        self._grads_in: dict[tuple[int, int], np.ndarray] = {}
        self._saved: dict[tuple[int, int], Any] = {}
        # synchronous: gradient accumulators per (stage, replica)
        self.accum: dict[tuple[int, int], Params] = {}
        # asynchronous: weight versions per stage, and what each op used
        self.versions: list[list[Params]] = [
            [{k: v.copy() for k, v in part.parameters().items()}] for part in self.parts
        ]
        self.forward_version: dict[tuple[int, int], int] = {}
        self.backward_version: dict[tuple[int, int], int] = {}
        self.micro_grads: dict[tuple[int, int], Params] = {}
        self._round_grads: dict[tuple[int, int], list[Params]] = {}

    # ---------------------------------------------------------------------------- helpers
    def _rows(self, m: int) -> slice:
        return slice(m * self.b, (m + 1) * self.b)

    def _params(self, stage: int, version: int | None = None) -> Params:
        if self.mode == "flush":
            return self.parts[stage].parameters()
        history = self.versions[stage]
        return history[-1 if version is None else version]

    # ---------------------------------------------------------------------------- the ops
    def forward(self, stage: int, m: int) -> None:
        """Forward pass of micro-batch ``m`` through ``stage`` (its input must have arrived)."""
        x = self.x[self._rows(m)] if stage == 0 else self._inputs.pop((stage, m))
        version = len(self.versions[stage]) - 1
        self.forward_version[(stage, m)] = version
        params = self._params(stage, version)
        y, cache = self.parts[stage].forward(x, params)
        self._saved[(stage, m)] = x if self.recompute else cache
        if stage == self.stages - 1:
            _, grad = softmax_cross_entropy(y, self.labels[self._rows(m)], self.normalizer)
            self._grads_in[(stage, m)] = grad
        else:
            self._inputs[(stage + 1, m)] = y

    def backward(self, stage: int, m: int, replica: int) -> None:
        """Backward pass of ``m`` through ``stage`` on ``replica`` (its gradient has arrived)."""
        grad_y = self._grads_in.pop((stage, m))
        version = self.forward_version[(stage, m)]
        if self.mode == "async" and not self.stashing:
            version = len(self.versions[stage]) - 1  # the negative control: latest weights
        self.backward_version[(stage, m)] = version
        params = self._params(stage, version)
        saved = self._saved.pop((stage, m))
        if self.recompute:  # rebuild the caches from the stashed input
            _, saved = self.parts[stage].forward(saved, params)
        grad_x, grads = self.parts[stage].backward(grad_y, saved, params)
        if stage > 0:
            self._grads_in[(stage - 1, m)] = grad_x
        if self.mode == "flush":
            acc = self.accum.setdefault(
                (stage, replica), {k: np.zeros_like(v) for k, v in grads.items()}
            )
            for k, v in grads.items():
                acc[k] += v
            return
        self.micro_grads[(stage, m)] = grads
        if self.replicas[stage] == 1:
            self.update(stage, [grads])
        else:  # micro-batch m is in round m // r of a stage with r replicas
            key = (stage, m // self.replicas[stage])
            self._round_grads.setdefault(key, []).append(grads)

    def update(self, stage: int, grads: list[Params]) -> None:
        """Asynchronous mode: a new weight version from the mean of ``grads``."""
        current = self.versions[stage][-1]
        mean = {k: sum(g[k] for g in grads) / len(grads) for k in current}
        self.versions[stage].append({k: current[k] - self.lr * mean[k] for k in current})

    def round_synced(self, stage: int, round_index: int) -> None:
        """Asynchronous mode: a replicated stage finished the all-reduce of one round."""
        round_grads = self._round_grads.pop((stage, round_index), [])
        if round_grads:
            self.update(stage, round_grads)

    # ------------------------------------------------------- gradient all-reduce buffers
    def stacked_gradients(self, stages: list[int], replicas: int) -> np.ndarray:
        """Flush mode: (replicas, elements) flattened gradients of ``stages`` per replica."""
        rows = []
        for r in range(replicas):
            parts = [
                self.accum[(s, r)][k].ravel() for s in stages for k in sorted(self.accum[(s, r)])
            ]
            rows.append(np.concatenate(parts))
        return np.stack(rows)

    def set_gradients(self, stages: list[int], reduced: np.ndarray) -> None:
        """Flush mode: write all-reduced ``(replicas, elements)`` gradients back."""
        for r in range(reduced.shape[0]):
            offset = 0
            for s in stages:
                acc = self.accum[(s, r)]
                for k in sorted(acc):
                    size = acc[k].size
                    acc[k][...] = reduced[r, offset : offset + size].reshape(acc[k].shape)
                    offset += size

    # ---------------------------------------------------------------------------- checks
    def _full_gradient(self, rows: slice, params: Params, normalizer: float) -> Params:
        logits, caches = self.model.forward(self.x[rows], params)
        _, g = softmax_cross_entropy(logits, self.labels[rows], normalizer)
        return self.model.backward(g, caches, params)[1]

    def check_full_batch(self, replicas: int) -> dict[str, dict[str, Any]]:
        """``pipeline_gradient_equals_full_batch`` for the synchronous schedules."""
        full = self._full_gradient(
            slice(0, self.x.shape[0]), self.model.parameters(), self.normalizer
        )
        scale = max(float(np.abs(g).max()) for g in full.values())
        err = 0.0
        for (_stage, _r), acc in self.accum.items():
            for k, v in acc.items():
                err = max(err, float(np.abs(v - full[k]).max()))
        complete = len(self.accum) == self.stages * replicas
        tolerance = 1e-10 * max(scale, 1.0)
        return {
            "pipeline_gradient_equals_full_batch": check(
                complete and err <= tolerance,
                max_abs_err=err,
                tolerance=tolerance,
                replicas=replicas,
            )
        }

    def check_stashing(self) -> dict[str, dict[str, Any]]:
        """``weight_stashing_consistent`` for PipeDream."""
        mismatched = sum(self.forward_version[k] != v for k, v in self.backward_version.items())
        microbatches = sorted({m for (_s, m) in self.micro_grads})
        err, scale = 0.0, 0.0
        for m in microbatches:
            params: Params = {}
            for s in range(self.stages):
                params.update(self.versions[s][self.forward_version[(s, m)]])
            ref = self._full_gradient(self._rows(m), params, self.normalizer)
            for s in range(self.stages):
                for k, v in self.micro_grads[(s, m)].items():
                    err = max(err, float(np.abs(v - ref[k]).max()))
                    scale = max(scale, float(np.abs(ref[k]).max()))
        tolerance = 1e-10 * max(scale, 1.0)
        return {
            "weight_stashing_consistent": check(
                mismatched == 0 and err <= tolerance,
                max_abs_err=err,
                tolerance=tolerance,
                version_mismatches=int(mismatched),
                microbatches=len(microbatches),
            )
        }
