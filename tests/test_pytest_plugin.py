"""The pytest plugin: scenario files with an ``expect:`` block become tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SCENARIO = """\
name: ring
seed: 1
cluster:
  topology: {kind: ring, nodes: 4}
  device: H100
  link: {bandwidth: 50 GiB/s, latency: 500 ns}
workload: {kind: collective, op: allreduce, size: 64 MiB}
expect:
  let: {N: metrics.ranks, S: workload.size}
  bytes_total: {equals: %s}
  time_s: {analytic: true}
  checks: {allreduce_equals_sum: pass}
"""


def test_each_expectation_is_a_test_and_overrides_apply(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", ring=SCENARIO % "2*(N-1)*S")
    pytester.makefile(".yaml", other="name: not a scenario with expectations\n")
    pytester.makeini("[pytest]\nclustersim_set = ring.yaml: workload.size=1MiB\n")
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*bytes_total PASSED*", "*allreduce_equals_sum PASSED*"])


def test_a_missed_expectation_says_what_and_how_to_reproduce(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", ring=SCENARIO % "2*N*S")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--clustersim-set",
                                "ring.yaml: workload.size=1MiB workload.verify=false")  # fmt: skip
    result.assert_outcomes(passed=1, failed=1, skipped=1)  # no check without verify: skipped
    result.stdout.fnmatch_lines([
        "*bytes_total: 6.291 MB, expected 8.389 MB (relative error 2.50e-01*",
        "*reproduce with: clustersim run *ring.yaml --set workload.size=1MiB*",
    ])  # fmt: skip


def test_a_scenario_that_does_not_load_is_one_failing_test(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", broken="name: t\ncluster: {topology: {kind: rng}}\nworkload: {}\n"
                      "expect: {time_s: {min: 0}}\n")  # fmt: skip
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cluster.topology.kind*"])
