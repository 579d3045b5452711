"""Tests for clustersim.hardware.topology."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustersim.errors import InputError
from clustersim.hardware import topology as topo
from clustersim.hardware.graph import Graph
from clustersim.hardware.topology import (
    BUILDERS,
    DESCRIPTIONS,
    custom,
    edge_cloud,
    expand_names,
    fat_tree,
    fully_connected,
    ring,
    switch,
    torus2d,
    tree,
    two_level,
    validate,
)

BW = 100e9
LAT = 1e-6


def devices(G: Graph) -> list[str]:
    return [n for n, d in G.nodes(data=True) if d["kind"] == "device"]


def switches(G: Graph) -> list[str]:
    return [n for n, d in G.nodes(data=True) if d["kind"] == "switch"]


def check_conventions(G: Graph, kind: str) -> None:
    """Properties every builder's output must have."""
    assert isinstance(G, Graph) and not G.is_directed() and not G.is_multigraph()
    assert G.graph["kind"] == kind
    assert G.graph["devices"] == devices(G)
    for _, d in G.nodes(data=True):
        assert d["kind"] in ("device", "switch")
        assert d["role"] == ("worker" if d["kind"] == "device" else "switch")
    for _, _, d in G.edges(data=True):
        assert isinstance(d["bandwidth"], float) and d["bandwidth"] > 0
        assert isinstance(d["latency"], float) and d["latency"] >= 0
    assert nx.is_connected(G.to_networkx())


# --------------------------------------------------------------------------- registry


def test_registry_lists_every_builder_with_a_description() -> None:
    kinds = {
        "ring",
        "fully_connected",
        "switch",
        "tree",
        "torus2d",
        "fat_tree",
        "two_level",
        "edge_cloud",
        "custom",
    }
    assert set(BUILDERS) == kinds
    assert set(DESCRIPTIONS) == kinds
    assert all(isinstance(d, str) and d and "\n" not in d for d in DESCRIPTIONS.values())
    assert BUILDERS["ring"] is ring and BUILDERS["fat_tree"] is fat_tree
    for name, builder in BUILDERS.items():
        assert name in topo.__all__ and getattr(topo, name) is builder
    for builder in BUILDERS.values():
        assert builder.__doc__


def test_builders_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ring(4, BW, LAT)  # type: ignore[misc]


# --------------------------------------------------------------------------- ring


def test_ring() -> None:
    G = ring(nodes=5, bandwidth=BW, latency=LAT)
    check_conventions(G, "ring")
    assert G.graph["devices"] == ["n0", "n1", "n2", "n3", "n4"]
    assert G.number_of_edges() == 5
    assert all(G.degree(n) == 2 for n in G)
    assert G.has_edge("n4", "n0")
    assert nx.diameter(G.to_networkx()) == 2
    assert G.edges["n0", "n1"] == {"bandwidth": BW, "latency": LAT}


def test_ring_of_two_has_one_link() -> None:
    G = ring(nodes=2, bandwidth=BW, latency=LAT)
    assert G.number_of_edges() == 1
    assert G.graph["devices"] == ["n0", "n1"]


def test_ring_prefix_and_numpy_numbers() -> None:
    G = ring(nodes=np.int64(3), bandwidth=np.float64(1e9), latency=0, prefix="gpu")
    assert G.graph["devices"] == ["gpu0", "gpu1", "gpu2"]
    assert G.edges["gpu0", "gpu2"]["latency"] == 0.0
    assert type(G.edges["gpu0", "gpu2"]["bandwidth"]) is float


def test_ring_of_one_is_an_error() -> None:
    with pytest.raises(InputError, match="a ring needs at least 2 nodes, got 1"):
        ring(nodes=1, bandwidth=BW, latency=LAT)


@pytest.mark.parametrize("nodes", [2.0, "4", True, None])
def test_ring_non_integer_nodes(nodes: object) -> None:
    with pytest.raises(InputError, match=r"ring topology: nodes must be an integer"):
        ring(nodes=nodes, bandwidth=BW, latency=LAT)


@pytest.mark.parametrize(
    ("bandwidth", "shown"),
    [
        (0, "0.0"),
        (0.0, "0.0"),
        (-1.0, "-1.0"),
        (math.nan, "nan"),
        (math.inf, "inf"),
        ("100GB/s", "'100GB/s'"),
        (None, "None"),
        (True, "True"),
    ],
)
def test_bad_bandwidth_names_the_parameter(bandwidth: object, shown: str) -> None:
    with pytest.raises(InputError, match=r"ring topology: bandwidth must be a positive") as e:
        ring(nodes=4, bandwidth=bandwidth, latency=LAT)
    assert str(e.value).endswith(f"got {shown}")


@pytest.mark.parametrize("latency", [-1e-9, math.nan, math.inf, "1us"])
def test_bad_latency_names_the_parameter(latency: object) -> None:
    with pytest.raises(InputError, match=r"ring topology: latency must be a non-negative"):
        ring(nodes=4, bandwidth=BW, latency=latency)


def test_input_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ring(nodes=0, bandwidth=BW, latency=LAT)


def test_bad_prefix() -> None:
    with pytest.raises(InputError, match="prefix must be a string, got 3"):
        ring(nodes=3, bandwidth=BW, latency=LAT, prefix=3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- fully_connected


def test_fully_connected() -> None:
    G = fully_connected(nodes=6, bandwidth=BW, latency=LAT)
    check_conventions(G, "fully_connected")
    assert G.graph["devices"] == [f"n{i}" for i in range(6)]
    assert G.number_of_edges() == 15
    assert nx.diameter(G.to_networkx()) == 1


def test_fully_connected_needs_two_nodes() -> None:
    with pytest.raises(InputError, match="fully_connected.*at least 2 nodes, got 1"):
        fully_connected(nodes=1, bandwidth=BW, latency=LAT)
    with pytest.raises(InputError, match="fully_connected topology: bandwidth.*-5.0"):
        fully_connected(nodes=3, bandwidth=-5, latency=LAT)


# --------------------------------------------------------------------------- switch


def test_switch_star() -> None:
    G = switch(nodes=4, bandwidth=BW, latency=LAT)
    check_conventions(G, "switch")
    assert G.graph["devices"] == ["n0", "n1", "n2", "n3"]
    assert switches(G) == ["sw"]
    assert G.number_of_edges() == 4
    assert G.degree("sw") == 4
    assert nx.shortest_path(G.to_networkx(), "n0", "n3") == ["n0", "sw", "n3"]
    assert G.graph["oversubscription"] == 1.0
    assert all(G.nodes[n]["group"] == 0 for n in devices(G))


def test_switch_leaf_core_non_blocking_by_default() -> None:
    G = switch(nodes=8, bandwidth=BW, latency=LAT, groups=2)
    check_conventions(G, "switch")
    assert G.graph["devices"] == [f"n{i}" for i in range(8)]
    assert set(switches(G)) == {"core", "leaf0", "leaf1"}
    assert G.number_of_edges() == 8 + 2
    assert [G.nodes[f"n{i}"]["group"] for i in range(8)] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert G.has_edge("n3", "leaf0") and G.has_edge("n4", "leaf1")
    assert G.edges["leaf0", "core"] == {"bandwidth": 4 * BW, "latency": LAT}
    assert G.graph["oversubscription"] == 1.0
    assert nx.shortest_path(G.to_networkx(), "n0", "n7") == ["n0", "leaf0", "core", "leaf1", "n7"]
    assert nx.shortest_path(G.to_networkx(), "n0", "n1") == ["n0", "leaf0", "n1"]


def test_switch_oversubscription() -> None:
    G = switch(
        nodes=16, bandwidth=BW, latency=LAT, groups=4, uplink_bandwidth=BW, uplink_latency=5e-6
    )
    assert G.graph["oversubscription"] == pytest.approx(4.0)
    assert G.edges["leaf2", "core"] == {"bandwidth": BW, "latency": 5e-6}
    assert G.graph["hosts_per_leaf"] == 4


def test_switch_errors() -> None:
    with pytest.raises(InputError, match=r"nodes \(10\) must be a multiple of groups \(4\)"):
        switch(nodes=10, bandwidth=BW, latency=LAT, groups=4)
    with pytest.raises(InputError, match="uplink_bandwidth is 1000.0 but groups is 1"):
        switch(nodes=4, bandwidth=BW, latency=LAT, uplink_bandwidth=1000.0)
    with pytest.raises(InputError, match="uplink_latency is 0.1 but groups is 1"):
        switch(nodes=4, bandwidth=BW, latency=LAT, uplink_latency=0.1)
    with pytest.raises(InputError, match="switch topology: uplink_bandwidth.*got 0.0"):
        switch(nodes=4, bandwidth=BW, latency=LAT, groups=2, uplink_bandwidth=0)
    with pytest.raises(InputError, match="switch topology: uplink_latency.*got -1.0"):
        switch(nodes=4, bandwidth=BW, latency=LAT, groups=2, uplink_latency=-1)
    with pytest.raises(InputError, match="switch topology: groups must be at least 1, got 0"):
        switch(nodes=4, bandwidth=BW, latency=LAT, groups=0)


def test_prefix_clashing_with_a_switch_name() -> None:
    with pytest.raises(InputError, match="'leaf0'.*choose another prefix"):
        switch(nodes=4, bandwidth=BW, latency=LAT, groups=2, prefix="leaf")


# --------------------------------------------------------------------------- tree


def test_tree_binary_of_eight() -> None:
    G = tree(nodes=8, bandwidth=BW, latency=LAT)
    check_conventions(G, "tree")
    assert G.graph["devices"] == [f"n{i}" for i in range(8)]
    # 4 + 2 + 1 switches, and a tree has |V| - 1 edges.
    assert len(switches(G)) == 7
    assert G.number_of_edges() == G.number_of_nodes() - 1
    assert nx.is_tree(G.to_networkx())
    assert G.graph["depth"] == 3
    assert "root" in G
    assert nx.shortest_path(G.to_networkx(), "n0", "n7") == [
        "n0",
        "sw0.0",
        "sw1.0",
        "root",
        "sw1.1",
        "sw0.3",
        "n7",
    ]
    assert [G.nodes[f"n{i}"]["group"] for i in range(8)] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert all(d["bandwidth"] == BW for _, _, d in G.edges(data=True))


def test_tree_uneven_and_small() -> None:
    G = tree(nodes=5, bandwidth=BW, latency=LAT, arity=2)
    assert len(switches(G)) == 3 + 2 + 1
    assert nx.is_tree(G.to_networkx())
    assert all(G.degree(n) == 1 for n in devices(G))
    G = tree(nodes=3, bandwidth=BW, latency=LAT, arity=4)
    assert switches(G) == ["root"]
    assert G.graph["depth"] == 1
    G = tree(nodes=9, bandwidth=BW, latency=LAT, arity=3)
    assert len(switches(G)) == 4 and G.degree("root") == 3


def test_tree_errors() -> None:
    with pytest.raises(InputError, match="tree topology: arity must be at least 2, got 1"):
        tree(nodes=4, bandwidth=BW, latency=LAT, arity=1)
    with pytest.raises(InputError, match="a tree needs at least 2 nodes, got 1"):
        tree(nodes=1, bandwidth=BW, latency=LAT)


# --------------------------------------------------------------------------- torus2d


def test_torus2d() -> None:
    rows, cols = 3, 4
    G = torus2d(rows=rows, cols=cols, bandwidth=BW, latency=LAT)
    check_conventions(G, "torus2d")
    assert G.graph["devices"] == [f"n{i}" for i in range(12)]
    assert G.number_of_edges() == 2 * rows * cols
    assert all(G.degree(n) == 4 for n in G)
    assert G.has_edge("n0", f"n{cols - 1}")
    assert G.has_edge("n0", f"n{(rows - 1) * cols}")
    assert G.has_edge("n5", "n6") and G.has_edge("n5", "n9") and G.has_edge("n5", "n1")
    assert G.nodes["n6"]["row"] == 1 and G.nodes["n6"]["col"] == 2
    assert nx.diameter(G.to_networkx()) == rows // 2 + cols // 2


def test_torus2d_size_two_dimensions_have_single_links() -> None:
    G = torus2d(rows=2, cols=2, bandwidth=BW, latency=LAT)
    assert G.number_of_edges() == 4
    assert all(G.degree(n) == 2 for n in G)
    G = torus2d(rows=2, cols=5, bandwidth=BW, latency=LAT)
    assert G.number_of_edges() == 2 * 5 + 5
    assert all(G.degree(n) == 3 for n in G)


def test_torus2d_errors() -> None:
    with pytest.raises(InputError, match="a torus2d needs at least 2 rows, got 1"):
        torus2d(rows=1, cols=4, bandwidth=BW, latency=LAT)
    with pytest.raises(InputError, match="a torus2d needs at least 2 cols, got 0"):
        torus2d(rows=4, cols=0, bandwidth=BW, latency=LAT)


# --------------------------------------------------------------------------- fat_tree


@pytest.mark.parametrize(
    ("k", "hosts", "n_switches", "links"), [(2, 2, 5, 6), (4, 16, 20, 48), (8, 128, 80, 384)]
)
def test_fat_tree_counts(k: int, hosts: int, n_switches: int, links: int) -> None:
    G = fat_tree(k=k, bandwidth=BW, latency=LAT)
    check_conventions(G, "fat_tree")
    assert len(devices(G)) == hosts == k**3 // 4
    assert len(switches(G)) == n_switches == 5 * k * k // 4
    assert G.number_of_edges() == links == 3 * k**3 // 4
    assert G.graph["devices"] == [f"n{i}" for i in range(hosts)]
    # Every switch has k ports, every host one.
    assert all(G.degree(s) == k for s in switches(G))
    assert all(G.degree(h) == 1 for h in devices(G))


def test_fat_tree_structure_k4() -> None:
    G = fat_tree(k=4, bandwidth=BW, latency=LAT)
    layers = [G.nodes[s]["layer"] for s in switches(G)]
    assert layers.count("edge") == 8 and layers.count("aggregation") == 8
    assert layers.count("core") == 4
    assert [G.nodes[f"n{i}"]["group"] for i in range(16)] == [i // 4 for i in range(16)]
    assert set(G["n0"]) == {"pod0.edge0"} and set(G["n3"]) == {"pod0.edge1"}
    assert set(G["core0"]) == {f"pod{p}.agg0" for p in range(4)}
    assert set(G["core3"]) == {f"pod{p}.agg1" for p in range(4)}
    assert set(G["pod1.edge0"]) == {"n4", "n5", "pod1.agg0", "pod1.agg1"}
    # Hosts in different pods are 6 hops apart: host-edge-agg-core-agg-edge-host.
    assert nx.shortest_path_length(G.to_networkx(), "n0", "n15") == 6
    assert nx.shortest_path_length(G.to_networkx(), "n0", "n2") == 4
    assert nx.shortest_path_length(G.to_networkx(), "n0", "n1") == 2


@pytest.mark.parametrize("k", [3, 5, 0, -2])
def test_fat_tree_odd_or_small_k(k: int) -> None:
    with pytest.raises(
        InputError, match=rf"fat_tree topology: k must be an even integer >= 2, got {k}"
    ):
        fat_tree(k=k, bandwidth=BW, latency=LAT)


def test_fat_tree_non_integer_k() -> None:
    with pytest.raises(InputError, match="fat_tree topology: k must be an even integer.*4.0"):
        fat_tree(k=4.0, bandwidth=BW, latency=LAT)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- two_level


def test_two_level() -> None:
    G = two_level(
        nodes=2,
        gpus_per_node=4,
        intra_bandwidth=450e9,
        intra_latency=1e-6,
        inter_bandwidth=50e9,
        inter_latency=5e-6,
    )
    check_conventions(G, "two_level")
    assert G.graph["devices"] == [f"n{i}g{j}" for i in range(2) for j in range(4)]
    assert G.graph["gpus_per_node"] == 4
    assert switches(G) == ["net"]
    # 2 machines * C(4, 2) NVLink links + 8 NIC links.
    assert G.number_of_edges() == 2 * 6 + 8
    assert G.edges["n0g0", "n0g3"] == {"bandwidth": 450e9, "latency": 1e-6}
    assert G.edges["n1g2", "net"] == {"bandwidth": 50e9, "latency": 5e-6}
    assert not G.has_edge("n0g0", "n1g0")
    assert nx.shortest_path(G.to_networkx(), "n0g1", "n1g1") == ["n0g1", "net", "n1g1"]
    assert [G.nodes[n]["group"] for n in G.graph["devices"]] == [0] * 4 + [1] * 4
    assert G.nodes["n1g3"]["local_rank"] == 3


def test_two_level_degenerate_shapes() -> None:
    kw = {
        "intra_bandwidth": BW,
        "intra_latency": LAT,
        "inter_bandwidth": BW,
        "inter_latency": LAT,
    }
    G = two_level(nodes=1, gpus_per_node=2, **kw)
    assert G.number_of_edges() == 1 + 2
    G = two_level(nodes=3, gpus_per_node=1, **kw)
    assert G.number_of_edges() == 3 and G.degree("net") == 3
    with pytest.raises(InputError, match=r"at least 2 GPUs, got 1 \* 1 = 1"):
        two_level(nodes=1, gpus_per_node=1, **kw)
    with pytest.raises(InputError, match="two_level topology: gpus_per_node must be at least 1"):
        two_level(nodes=2, gpus_per_node=0, **kw)
    with pytest.raises(InputError, match="two_level topology: inter_bandwidth.*nan"):
        two_level(nodes=2, gpus_per_node=2, **{**kw, "inter_bandwidth": math.nan})
    with pytest.raises(InputError, match="two_level topology: intra_latency.*-1.0"):
        two_level(nodes=2, gpus_per_node=2, **{**kw, "intra_latency": -1})


# --------------------------------------------------------------------------- edge_cloud


def test_edge_cloud() -> None:
    G = edge_cloud(
        devices=5,
        edge_servers=2,
        device_bandwidth=1e6,
        device_latency=1e-2,
        edge_bandwidth=1e8,
        edge_latency=2e-2,
        device_preset="jetson",
        edge_preset="cpu",
        cloud_preset="a100",
    )
    check_conventions(G, "edge_cloud")
    assert G.graph["devices"] == ["dev0", "dev1", "dev2", "dev3", "dev4", "edge0", "edge1", "cloud"]
    assert switches(G) == []
    assert G.number_of_edges() == 5 + 2
    # i * 2 // 5: devices 0-2 on edge0, 3-4 on edge1.
    assert [next(iter(G[f"dev{i}"])) for i in range(5)] == ["edge0"] * 3 + ["edge1"] * 2
    assert G.edges["dev0", "edge0"] == {"bandwidth": 1e6, "latency": 1e-2}
    assert G.edges["edge1", "cloud"] == {"bandwidth": 1e8, "latency": 2e-2}
    assert G.nodes["dev3"]["tier"] == "device" and G.nodes["dev3"]["preset"] == "jetson"
    assert G.nodes["edge1"]["tier"] == "edge" and G.nodes["edge1"]["preset"] == "cpu"
    assert G.nodes["cloud"]["tier"] == "cloud" and G.nodes["cloud"]["preset"] == "a100"
    assert nx.shortest_path(G.to_networkx(), "dev0", "dev4") == [
        "dev0",
        "edge0",
        "cloud",
        "edge1",
        "dev4",
    ]


def test_edge_cloud_without_presets_and_minimal() -> None:
    G = edge_cloud(
        devices=1,
        edge_servers=1,
        device_bandwidth=1e6,
        device_latency=0,
        edge_bandwidth=1e8,
        edge_latency=0,
    )
    assert G.graph["devices"] == ["dev0", "edge0", "cloud"]
    assert "preset" not in G.nodes["dev0"]


def test_edge_cloud_errors() -> None:
    kw = {"device_bandwidth": 1e6, "device_latency": 0, "edge_bandwidth": 1e8, "edge_latency": 0}
    with pytest.raises(InputError, match=r"edge_servers \(3\) must not exceed devices \(2\)"):
        edge_cloud(devices=2, edge_servers=3, **kw)
    with pytest.raises(InputError, match="edge_cloud topology: devices must be at least 1, got 0"):
        edge_cloud(devices=0, edge_servers=1, **kw)
    with pytest.raises(InputError, match="edge_cloud topology: device_bandwidth.*got 0.0"):
        edge_cloud(devices=2, edge_servers=1, **{**kw, "device_bandwidth": 0})
    with pytest.raises(InputError, match="edge_cloud topology: cloud_preset.*got 7"):
        edge_cloud(devices=2, edge_servers=1, cloud_preset=7, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- expand_names


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("w0", ["w0"]),
        ("cloud", ["cloud"]),
        ("w[0-3]", ["w0", "w1", "w2", "w3"]),
        ("gpu[00-03]", ["gpu00", "gpu01", "gpu02", "gpu03"]),
        ("gpu[08-11]", ["gpu08", "gpu09", "gpu10", "gpu11"]),
        ("w[8-11]", ["w8", "w9", "w10", "w11"]),
        ("w[5-5]", ["w5"]),
        ("rack[1-2].tor", ["rack1.tor", "rack2.tor"]),
        ("[0-1]x", ["0x", "1x"]),
        ("h[001-003]", ["h001", "h002", "h003"]),
    ],
)
def test_expand_names(pattern: str, expected: list[str]) -> None:
    assert expand_names(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        ("w[7-0]", "descending"),
        ("w[a-b]", "malformed"),
        ("w[0-3", "malformed"),
        ("w0-3]", "malformed"),
        ("w[3]", "malformed"),
        ("w[-1-3]", "malformed"),
        ("w[0-1][0-1]", "malformed"),
        ("w[]", "malformed"),
    ],
)
def test_expand_names_errors(pattern: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle) as e:
        expand_names(pattern)
    assert repr(pattern) in str(e.value)


def test_expand_names_rejects_non_strings_and_huge_ranges() -> None:
    with pytest.raises(InputError, match="non-empty string, got ''"):
        expand_names("")
    with pytest.raises(InputError, match="got 5"):
        expand_names(5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="expands to 1000000000 names"):
        expand_names("w[0-999999999]")


@settings(max_examples=50, deadline=None)
@given(
    head=st.text(alphabet="abcxyz._", max_size=4),
    lo=st.integers(0, 500),
    span=st.integers(0, 20),
    pad=st.integers(0, 4),
)
def test_expand_names_property(head: str, lo: int, span: int, pad: int) -> None:
    hi = lo + span
    lo_s = str(lo).zfill(len(str(lo)) + pad) if pad else str(lo)
    names = expand_names(f"{head}[{lo_s}-{hi}]")
    assert len(names) == span + 1 == len(set(names))
    assert all(n.startswith(head) for n in names)
    assert [int(n[len(head) :]) for n in names] == list(range(lo, hi + 1))
    if pad:
        assert all(len(n) - len(head) >= len(lo_s) for n in names)


# --------------------------------------------------------------------------- custom


def test_custom_star_zip_and_attributes() -> None:
    G = custom(
        nodes=[
            {"name": "w[0-3]", "preset": "h100", "group": 0},
            {"name": "p[0-3]", "role": "ps", "tier": "edge"},
            {"name": "sw", "kind": "switch"},
        ],
        links=[
            {"a": "w[0-3]", "b": "sw", "bandwidth": BW, "latency": LAT},
            {"a": "sw", "b": "p[0-1]", "bandwidth": 2 * BW, "latency": 0},
            {"a": "w[2-3]", "b": "p[2-3]", "bandwidth": 1e9, "latency": 1e-3},
        ],
    )
    assert G.graph["kind"] == "custom"
    assert G.graph["devices"] == ["w0", "w1", "w2", "w3", "p0", "p1", "p2", "p3"]
    assert switches(G) == ["sw"]
    assert G.number_of_edges() == 4 + 2 + 2
    assert G.has_edge("w2", "p2") and G.has_edge("w3", "p3") and not G.has_edge("w2", "p3")
    assert G.edges["p1", "sw"] == {"bandwidth": 2 * BW, "latency": 0.0}
    assert G.nodes["w1"] == {"kind": "device", "role": "worker", "preset": "h100", "group": 0}
    assert G.nodes["p0"] == {"kind": "device", "role": "ps", "tier": "edge"}
    assert G.nodes["sw"] == {"kind": "switch", "role": "switch"}


def test_custom_padded_ranges_and_none_defaults() -> None:
    G = custom(
        nodes=[{"name": "gpu[00-02]", "kind": None, "role": None, "preset": None}],
        links=[
            {"a": "gpu00", "b": "gpu[01-02]", "bandwidth": BW, "latency": LAT},
        ],
    )
    assert G.graph["devices"] == ["gpu00", "gpu01", "gpu02"]
    assert G.nodes["gpu00"]["role"] == "worker"


def _two_nodes() -> list[dict[str, object]]:
    return [{"name": "a"}, {"name": "b"}]


def _link(a: str = "a", b: str = "b", **kw: object) -> dict[str, object]:
    return {"a": a, "b": b, "bandwidth": BW, "latency": LAT, **kw}


def test_custom_disconnected() -> None:
    with pytest.raises(
        InputError, match=r"custom topology is disconnected: \{n0, n1\} cannot reach \{n2, n3\}"
    ):
        custom(
            nodes=[{"name": "n[0-3]"}],
            links=[_link("n0", "n1"), _link("n2", "n3")],
        )


def test_custom_disconnected_many_components_are_abbreviated() -> None:
    with pytest.raises(InputError) as e:
        custom(nodes=[{"name": "w[0-9]"}, {"name": "x[0-5]"}], links=[_link("w[0-9]", "x0")])
    msg = str(e.value)
    assert msg.startswith("custom topology is disconnected: {w0, w1, w2, ... (8 more)} cannot")
    assert "{x1}" in msg and "{x2}" in msg and "2 other components" in msg
    assert "x5" not in msg


@pytest.mark.parametrize(
    ("nodes", "links", "needle"),
    [
        (_two_nodes(), [_link("a", "c")], "unknown node 'c'"),
        (_two_nodes(), [_link("a", "w[0-1]")], "unknown node 'w0'"),
        ([{"name": "a"}, {"name": "a"}], [], "node 'a' is declared twice"),
        ([{"name": "w[0-3]"}, {"name": "w2"}], [], "node 'w2' is declared twice"),
        (_two_nodes(), [_link("a", "a")], "links node 'a' to itself"),
        (_two_nodes(), [_link(), _link("b", "a")], "repeats the link between 'b' and 'a'"),
        (
            [{"name": "w[0-3]"}, {"name": "v[0-2]"}],
            [_link("w[0-3]", "v[0-2]")],
            r"'w\[0-3\]' has 4 names, 'v\[0-2\]' has 3",
        ),
        ([{"name": "w[3-1]"}], [], "'w\\[3-1\\]'.*descending"),
        (_two_nodes(), [_link("a", "b[x-y]")], "'b\\[x-y\\]' is malformed"),
        (_two_nodes(), [_link(bandwidth=0)], "bandwidth of link a-b must be .* got 0.0"),
        (_two_nodes(), [_link(bandwidth=math.nan)], "bandwidth of link a-b .* got nan"),
        (_two_nodes(), [_link(latency=-1.0)], "latency of link a-b .* got -1.0"),
        ([{"name": "a", "kind": "gpu"}, {"name": "b"}], [_link()], "'a' has kind 'gpu'"),
        ([{"name": "a", "colour": 1}, {"name": "b"}], [_link()], "unknown field 'colour'"),
        ([{"kind": "device"}], [], r"nodes\[0\] has no 'name'"),
        (_two_nodes(), [{"a": "a", "b": "b", "bandwidth": BW}], r"links\[0\] has no 'latency'"),
        (_two_nodes(), [_link(speed=1)], "unknown field 'speed'"),
        (["a", "b"], [], r"nodes\[0\] must be a mapping"),
        ("ab", [], "nodes must be a list"),
        (
            [{"name": "s", "kind": "switch", "preset": "h100"}, {"name": "a"}],
            [_link("s", "a")],
            "'s' is a switch but has preset 'h100'",
        ),
        ([{"name": "a", "group": "x"}, {"name": "b"}], [_link()], "'a' has group 'x'"),
        (
            [{"name": "a"}, {"name": "s", "kind": "switch"}],
            [_link("a", "s")],
            r"custom topology has 1 device node\(s\) \{a\}; expected at least 2",
        ),
        ([], [], "custom topology is empty"),
        (
            [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            [_link()],
            r"\{a, b\} cannot reach \{c\}",
        ),
    ],
)
def test_custom_errors(nodes: object, links: object, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        custom(nodes=nodes, links=links)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validate


def _graph(*edges: tuple[str, str, dict[str, object]], kind: str | None = None) -> nx.Graph:
    G = nx.Graph()
    if kind:
        G.graph["kind"] = kind
    for a, b, data in edges:
        G.add_node(a, kind="device")
        G.add_node(b, kind="device")
        G.add_edge(a, b, **data)
    return G


def test_validate_accepts_a_good_graph() -> None:
    validate(_graph(("n0", "n1", {"bandwidth": 1.0, "latency": 0.0})))


def test_validate_edge_values() -> None:
    G = _graph(("n0", "n1", {"bandwidth": 0.0, "latency": 0.0}))
    with pytest.raises(
        InputError, match="link n0-n1 has bandwidth 0.0; expected a positive number of bytes/s"
    ):
        validate(G)
    G = _graph(("n0", "n1", {"bandwidth": math.inf, "latency": 0.0}), kind="ring")
    with pytest.raises(InputError, match="ring topology: link n0-n1 has bandwidth inf; expected"):
        validate(G)
    G = _graph(("n0", "n1", {"bandwidth": 1.0, "latency": -1.0}))
    with pytest.raises(InputError, match="link n0-n1 has latency -1.0; expected a non-negative"):
        validate(G)
    G = _graph(("n0", "n1", {"bandwidth": 1.0, "latency": math.nan}))
    with pytest.raises(InputError, match="link n0-n1 has latency nan; expected .*finite"):
        validate(G)
    G = _graph(("n0", "n1", {"latency": 0.0}))
    with pytest.raises(InputError, match="link n0-n1 has no bandwidth"):
        validate(G)
    G = _graph(("n0", "n1", {"bandwidth": "1GB/s", "latency": 0.0}))
    with pytest.raises(InputError, match="link n0-n1 has bandwidth '1GB/s'"):
        validate(G)


def test_validate_structure() -> None:
    with pytest.raises(InputError, match="topology is empty"):
        validate(nx.Graph())
    G = _graph(
        ("n0", "n1", {"bandwidth": 1.0, "latency": 0.0}),
        ("n2", "n3", {"bandwidth": 1.0, "latency": 0.0}),
    )
    with pytest.raises(InputError, match=r"topology is disconnected: \{n0, n1\} cannot reach"):
        validate(G)
    G = _graph(("n0", "n1", {"bandwidth": 1.0, "latency": 0.0}))
    G.nodes["n1"]["kind"] = "switch"
    with pytest.raises(InputError, match="at least 2 nodes of kind 'device'"):
        validate(G)
    G.nodes["n1"]["kind"] = "router"
    with pytest.raises(InputError, match="node n1 has kind 'router'"):
        validate(G)
    G = _graph(("n0", "n1", {"bandwidth": 1.0, "latency": 0.0}))
    G.add_edge("n0", "n0", bandwidth=1.0, latency=0.0)
    with pytest.raises(InputError, match="node n0 has a link to itself"):
        validate(G)
    G = _graph(("n0", "n1", {"bandwidth": 1.0, "latency": 0.0}))
    G.graph["devices"] = ["n1", "n0"]
    with pytest.raises(InputError, match="graph attribute 'devices'"):
        validate(G)
    with pytest.raises(InputError, match="undirected graph .* got DiGraph"):
        validate(nx.DiGraph(G))


def test_builders_validate_their_output(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = topo.validate

    def spy(G: nx.Graph) -> None:
        calls.append(G.graph["kind"])
        real(G)

    monkeypatch.setattr(topo, "validate", spy)
    ring(nodes=3, bandwidth=BW, latency=LAT)
    fat_tree(k=2, bandwidth=BW, latency=LAT)
    custom(nodes=_two_nodes(), links=[_link()])
    assert calls == ["ring", "fat_tree", "custom"]


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(2, 6), cols=st.integers(2, 6))
def test_torus2d_property(rows: int, cols: int) -> None:
    G = torus2d(rows=rows, cols=cols, bandwidth=BW, latency=LAT)
    expected = rows * (1 if cols == 2 else cols) + cols * (1 if rows == 2 else rows)
    assert G.number_of_edges() == expected
    assert nx.diameter(G.to_networkx()) == rows // 2 + cols // 2
