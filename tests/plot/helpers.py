"""Small traces the timeline tests share, built by hand so that every expected row is known."""

from __future__ import annotations

from clustersim.core.trace import Tracer


def cluster_trace(devices: list[str], switch: str = "sw") -> Tracer:
    """Devices declared in rank order (as a cluster does), each computing then sending to the
    switch; the switch forwards to the next device."""
    t = Tracer(enabled=True)
    for name in devices:
        t.declare_lane((name, "compute"))
        t.declare_lane((name, "comm"))
    for i, name in enumerate(devices):
        t.span((name, "compute"), "forward", "compute", i * 1e-3, (i + 1) * 1e-3)
        t.span((name, "comm"), "send", "comm", (i + 1) * 1e-3, (i + 2) * 1e-3)
        t.span(("links", f"{name}->{switch}"), "send", "network", (i + 1) * 1e-3, (i + 2) * 1e-3)
        after = devices[(i + 1) % len(devices)]
        t.span(("links", f"{switch}->{after}"), "send", "network", (i + 1) * 1e-3, (i + 2) * 1e-3)
    return t


def labels(fig) -> list[str]:
    """The row labels of a timeline figure, top to bottom."""
    (ax,) = fig.axes
    return [t.get_text() for t in ax.get_yticklabels()]


def legend(fig) -> list[str]:
    (ax,) = fig.axes
    found = ax.get_legend()
    return [] if found is None else [t.get_text() for t in found.get_texts()]
