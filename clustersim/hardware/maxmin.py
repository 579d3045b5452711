"""Max-min fair rate allocation by bottleneck filling (the network's hot kernel).

Repeatedly find the link whose remaining capacity, split evenly among the unfrozen flows that
cross it, gives the smallest share; freeze those flows at that share; subtract their rates from
every link they cross; repeat. The result is the max-min fair allocation (Bertsekas & Gallager,
*Data Networks*, 2nd ed., §6.5.2): no link carries more than its capacity and every flow crosses
at least one saturated link on which no flow gets more than it does. Each round is a handful of
numpy operations over the flow-by-link incidence (COO pairs), and the number of rounds is the
number of distinct bottleneck levels, usually one or two. A link that no frozen flow crosses
keeps its capacity untouched, so a flow alone on its path gets exactly the path's bottleneck
bandwidth, which makes the contention-free case exact.
"""

from __future__ import annotations

import numpy as np

__all__ = ["max_min_rates"]

_TIE = 1e-12


def max_min_rates(
    flow_of_entry: np.ndarray, link_of_entry: np.ndarray, n_flows: int, capacity: np.ndarray
) -> np.ndarray:
    """Max-min fair rates (bytes/s) of ``n_flows`` flows.

    Args:
        flow_of_entry: flow index of each (flow, link) incidence entry.
        link_of_entry: link index of each entry (same length).
        n_flows: number of flows; a flow with no entry (src == dst) gets rate ``inf``.
        capacity: capacity of every link in bytes/s, indexed by link index.
    """
    rates = np.full(n_flows, np.inf)
    if flow_of_entry.size == 0:
        return rates
    links, local_link = np.unique(link_of_entry, return_inverse=True)
    cap_left = capacity[links].astype(float)
    frozen = np.ones(n_flows, dtype=bool)
    frozen[flow_of_entry] = False
    live_entry = np.ones(flow_of_entry.size, dtype=bool)
    while live_entry.any():
        counts = np.bincount(local_link[live_entry], minlength=links.size)
        used = counts > 0
        shares = np.full(links.size, np.inf)
        shares[used] = cap_left[used] / counts[used]
        share = shares.min()
        bottlenecks = shares <= share * (1.0 + _TIE)
        hit = live_entry & bottlenecks[local_link]
        newly = np.unique(flow_of_entry[hit])
        rates[newly] = share
        frozen[newly] = True
        freezing_entry = live_entry & frozen[flow_of_entry]
        cap_left -= np.bincount(
            local_link[freezing_entry],
            weights=rates[flow_of_entry[freezing_entry]],
            minlength=links.size,
        )
        np.maximum(cap_left, 0.0, out=cap_left)
        live_entry &= ~freezing_entry
    return rates
