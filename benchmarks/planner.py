"""What PipeDream's planner costs next to the run it plans, and how much of it is the timed model.

For every shipped PipeDream scenario (``verify`` and ``compare`` off), in this process:

* ``plan s``: preparing the scenario, which runs the planner (``prepare_scenario``);
* ``run s``: the whole run (it plans again, then simulates and packages the result);
* ``plan/run``: the share of a run its planning takes;
* ``models``: how many times the planner ran the timed model of replicated stages
  (:func:`clustersim.training.pipeline.sync_round.sync_rounds`, once per plan and warm-up it
  priced), ``model s`` their seconds and ``model/plan`` their share of the planning;
* ``rounds``: the mean number of rounds each model run played before the run had settled
  (or its limit), and ``capped`` how many runs reached the limit.

Ratios are measured in one run on one machine; nothing here is asserted::

    python benchmarks/planner.py
"""

from __future__ import annotations

import time
from pathlib import Path

import clustersim
from clustersim.core.simulation import Simulation
from clustersim.scenario.loader import load_scenario
from clustersim.scenario.runner import prepare_scenario
from clustersim.training.pipeline import sync_round

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
QUICK = ["workload.verify=false", "workload.compare=false"]


class ModelClock:
    """Wraps the timed model's run loop: how often it ran, for how long, how many rounds."""

    def __init__(self) -> None:
        self.runs = 0
        self.seconds = 0.0
        self.rounds = 0
        self.capped = 0
        self._play = sync_round._play

    def __enter__(self) -> ModelClock:
        def timed(*args, **kwargs):
            start = time.perf_counter()
            books = self._play(*args, **kwargs)
            self.seconds += time.perf_counter() - start
            self.runs += 1
            self.rounds += sum(max(b.start) - b.fill for b in books.values()) / len(books)
            self.capped += all(b.capped() for b in books.values())
            return books

        sync_round._play = timed
        return self

    def __exit__(self, *exc: object) -> None:
        sync_round._play = self._play


def main() -> None:
    print(
        f"{'scenario':28} {'plan s':>7} {'run s':>7} {'plan/run':>8} {'models':>6} "
        f"{'model s':>7} {'model/plan':>10} {'rounds':>6} {'capped':>6}"
    )
    for path in sorted(SCENARIOS.glob("pipeline_pipedream_*.yaml")):
        loaded = load_scenario(path, QUICK)
        with ModelClock() as clock:
            start = time.perf_counter()
            prepare_scenario(loaded, Simulation(loaded.seed))
            plan_s = time.perf_counter() - start
        start = time.perf_counter()
        clustersim.run(path, QUICK)
        run_s = time.perf_counter() - start
        rounds = clock.rounds / clock.runs if clock.runs else 0.0
        share = clock.seconds / plan_s
        print(
            f"{path.stem:28} {plan_s:7.2f} {run_s:7.2f} {plan_s / run_s:8.2f} {clock.runs:6} "
            f"{clock.seconds:7.2f} {share:10.2f} {rounds:6.1f} {clock.capped:6}"
        )


if __name__ == "__main__":
    main()
