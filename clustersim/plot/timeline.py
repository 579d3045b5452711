"""Gantt-style timeline of a :class:`~clustersim.core.trace.Tracer` with matplotlib.

What is drawn, and in which order:

* **Only lanes that did something.** Idle lanes (declared, no span or instant) are left out and
  counted in the summary under the title.
* **Grouped by node, in rank order.** A device's streams (``compute``, ``comm``, others) come in
  the order the cluster declared its devices (rank order), each followed by its links: the
  directions leaving it, then those entering it (a link belongs to its device end, the sending
  one when both ends are devices). Links between two switches come last, grouped by tier.
* **Two views.** ``"lanes"``: one row per lane; when there are more than ``max_lanes`` the
  busiest are kept (in their order) and the summary says how many were folded. ``"aggregate"``:
  one row per stream of a group of ranks (a machine ``n3g0..n3g7``, or consecutive ranks) and
  one row per tier of links (``device->sw``, ``sw->device``, ``device->device`` ...), drawn as
  the fraction of the row's lanes busy over time, stacked by category, with the mean
  utilisation in the row's label. ``"auto"`` (default): every lane if they fit, else the
  aggregated view; a ``lanes=`` selection is always drawn lane by lane.
* **Choosing lanes.** ``lanes="n0,links/*"``: comma-separated patterns matched against a lane's
  label (``n0/compute``, ``links/n0->sw``). A pattern is a glob (``fnmatch``), or a regular
  expression when it starts with ``re:`` or contains one of ``^ $ ( ) + | { } \\``
  (``re:^n1[0-5]/``). A pattern without ``/`` also matches a node's name, selecting its
  streams and its links.
* **Colours are stable per category**, in this plot and every plot that uses
  :func:`category_colour`: ``compute`` blue, ``forward`` green, ``backward`` red, ``comm``
  orange, ``network`` (link directions) grey, ...; an unknown category gets a colour from a
  hash of its name, never from the order it appears in. ``forward chunk k`` is a lighter shade
  of ``forward`` per chunk.
* **Roles told apart.** Spans of the generic ``compute`` category take a shade of blue per role
  when there are at most six roles: the span's ``role`` argument (PEARL's ``pre-verify`` and
  ``post-verify``), else its name without numbers (``draft``, ``verify``, ``gradient
  (dropped)``). A straggler's compute stream (declared with ``slowdown`` > 1) is hatched and
  its label says ``x2`` (a device faster than its preset says ``x0.5``, unhatched). Spans named
  like pipeline ops (``F3``, ``B3``, ``F3.1``) print their micro-batch number when the bar is
  wide enough. Instants get a marker colour per name.

matplotlib is imported only when a plot is made; when no ``ax`` is given the figure is built on
the Agg canvas directly (no pyplot), so plotting never switches or needs an interactive backend.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clustersim.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from clustersim.core.trace import Lane, Tracer

__all__ = [
    "CATEGORY_COLOURS",
    "category_colour",
    "check_lane_patterns",
    "lane_label",
    "ordered_lanes",
    "plot_timeline",
    "save_timeline",
    "select_lanes",
]

CATEGORY_COLOURS: dict[str, str] = {
    "compute": "#1f77b4",  # tab:blue
    "forward": "#2ca02c",  # tab:green
    "backward": "#d62728",  # tab:red
    "recompute": "#9467bd",  # tab:purple
    "comm": "#ff7f0e",  # tab:orange
    "network": "#7f7f7f",  # tab:gray: every link direction, in every plot
    "exchange": "#bcbd22",  # tab:olive: data-parallel gradient buckets
    "download": "#17becf",  # tab:cyan
    "train": "#98df8a",  # light green
    "upload": "#8c564b",  # tab:brown
    "aggregate": "#e377c2",  # tab:pink
    "wait": "#d0d0d0",
    "idle": "#f2b8b5",
}
"""The colour of each category the kinds emit (see ``grep -rn "tracer.span" clustersim``)."""

# Colours for categories not in the table, picked by a hash of the name (tab20's light half and
# a few more, none of them a table colour).
_SPARE = (
    "#aec7e8",
    "#ffbb78",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
)
# Shades of the compute blue for the roles of compute spans (draft, verify, ...).
_ROLE_SHADES = ("#1f77b4", "#0b3d66", "#7fb8e6", "#4a9bd4", "#123f6b", "#a9cfee")
_MAX_ROLES = len(_ROLE_SHADES)
_CHUNK = re.compile(r"^(?P<base>.+) chunk (?P<k>\d+)$")
_MICROBATCH = re.compile(r"^[A-Z](?P<m>\d+)(?:\.\d+)?$")
_NUMBERS = re.compile(r"\b[A-Za-z]?\d+(?:[.\-]\d+)*\b|(?<=[A-Za-z])\d+\b")
_REGEX_ONLY = set("^$()+|{}\\")
_MACHINE = re.compile(r"^(?P<machine>[A-Za-z_]*\d+)[A-Za-z_]+\d+$")

_UNITS: tuple[tuple[str, float], ...] = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9))
_UNIT_LABEL = {"s": "s", "ms": "ms", "us": "µs", "ns": "ns"}
_BAR_HEIGHT = 0.7
_DEFAULT_DPI = 120
_MAX_GROUPS = 8
_MAX_TEXT_LABELS = 600
VIEWS = ("auto", "lanes", "aggregate")


# ------------------------------------------------------------------------------------ colours
def _lighter(colour: str, amount: float) -> tuple[float, float, float]:
    """``colour`` mixed with ``amount`` (0..1) of white."""
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def category_colour(category: str) -> Any:
    """The colour of ``category`` in every clustersim plot (a matplotlib colour).

    From :data:`CATEGORY_COLOURS`; ``"<base> chunk k"`` is ``base`` lightened per chunk; any
    other category gets a colour from a hash of its name, so it is the same in every plot.
    """
    if category in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[category]
    chunk = _CHUNK.match(category)
    if chunk and chunk["base"] in CATEGORY_COLOURS:
        k = int(chunk["k"])
        return _lighter(CATEGORY_COLOURS[chunk["base"]], 0.45 * k / (k + 1))
    return _SPARE[zlib.crc32(category.encode("utf-8")) % len(_SPARE)]


def _instant_colour(name: str) -> str:
    palette = ("black", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
    return palette[zlib.crc32(name.encode("utf-8")) % len(palette)]


def _role(name: str, role: str | None = None) -> str:
    """A compute span's role: its ``role`` argument if it has one (PEARL's ``pre-verify``),
    else its name without the numbers (``draft``, ``train``, ``backward linear``)."""
    if role:
        return role
    stem = " ".join(_NUMBERS.sub(" ", name).split())
    return stem or name


# -------------------------------------------------------------------------------------- lanes
def lane_label(lane: Lane) -> str:
    """``"group/name"``: what a timeline row is labelled and a ``lanes=`` pattern matches."""
    return f"{lane[0]}/{lane[1]}"


def _link_ends(lane: Lane) -> tuple[str, str] | None:
    if lane[0] != "links" or "->" not in lane[1]:
        return None
    src, dst = lane[1].split("->", 1)
    return src, dst.split("#")[0]


def _natural(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


@dataclass
class _Lanes:
    """What the timeline knows about a trace's lanes, gathered in one pass."""

    order: list[Lane]
    devices: list[str]
    owner: dict[Lane, str | None]
    starts: dict[Lane, list[float]] = field(default_factory=dict)
    ends: dict[Lane, list[float]] = field(default_factory=dict)
    cats: dict[Lane, list[str]] = field(default_factory=dict)
    names: dict[Lane, list[str]] = field(default_factory=dict)
    roles: dict[Lane, list[str | None]] = field(default_factory=dict)
    instants: dict[Lane, list[tuple[float, str]]] = field(default_factory=dict)

    def busy_s(self, lane: Lane) -> float:
        return _union_length(self.starts.get(lane, []), self.ends.get(lane, []))


def _merged(starts: Any, ends: Any) -> tuple[np.ndarray, np.ndarray]:
    """The union of the intervals ``[starts[i], ends[i]]`` as disjoint, sorted intervals."""
    import numpy as np

    a = np.asarray(starts, dtype=float)
    if a.size == 0:
        return a, a
    order = np.argsort(a, kind="stable")
    a = a[order]
    b = np.maximum.accumulate(np.maximum(np.asarray(ends, dtype=float)[order], a))
    new = np.empty(a.size, dtype=bool)
    new[0] = True
    new[1:] = a[1:] > b[:-1]
    firsts = np.flatnonzero(new)
    lasts = np.append(firsts[1:] - 1, a.size - 1)
    return a[firsts], b[lasts]


def _union_length(starts: Sequence[float], ends: Sequence[float]) -> float:
    """Length of the union of the intervals ``[starts[i], ends[i]]``."""
    lo, hi = _merged(starts, ends)
    return float((hi - lo).sum())


def _gather(tracer: Tracer) -> _Lanes:
    """Busy lanes in display order (see the module docstring), with their spans and instants."""
    starts: dict[Lane, list[float]] = {}
    ends: dict[Lane, list[float]] = {}
    cats: dict[Lane, list[str]] = {}
    names: dict[Lane, list[str]] = {}
    roles: dict[Lane, list[str | None]] = {}
    for span in tracer.spans:
        starts.setdefault(span.lane, []).append(span.start)
        ends.setdefault(span.lane, []).append(span.end)
        cats.setdefault(span.lane, []).append(span.category)
        names.setdefault(span.lane, []).append(span.name)
        role = span.args.get("role") if span.args else None
        roles.setdefault(span.lane, []).append(role if isinstance(role, str) else None)
    instants: dict[Lane, list[tuple[float, str]]] = {}
    for instant in tracer.instants:
        instants.setdefault(instant.lane, []).append((instant.time, instant.name))
    busy = list(dict.fromkeys([*starts, *instants]))
    declared = list(dict.fromkeys([*tracer.lanes, *busy]))
    devices = list(dict.fromkeys(g for g, n in declared if n == "compute" and g != "links"))
    device_set = set(devices)
    owner: dict[Lane, str | None] = {}
    for lane in busy:
        ends_ = _link_ends(lane)
        if ends_ is None:
            owner[lane] = lane[0]
        else:
            src, dst = ends_
            owner[lane] = src if src in device_set else dst if dst in device_set else None
    first_use = {lane: i for i, lane in enumerate(declared)}
    nodes = devices + [g for g in dict.fromkeys(owner.values()) if g and g not in device_set]
    node_index = {node: i for i, node in enumerate(nodes)}

    def key(lane: Lane) -> tuple[Any, ...]:
        node = owner[lane]
        if node is None:  # a link between two switches: last, by tier, then by name
            return (len(nodes), _tier(lane, device_set), _natural(lane[1]))
        ends_ = _link_ends(lane)
        if ends_ is None:
            stream = {"compute": 0, "comm": 1}.get(lane[1], 2)
            return (node_index[node], 0, stream, first_use[lane])
        return (node_index[node], 1, 0 if ends_[0] == node else 1, _natural(lane[1]))

    order = sorted(busy, key=key)
    return _Lanes(order, devices, owner, starts, ends, cats, names, roles, instants)


def ordered_lanes(tracer: Tracer) -> list[Lane]:
    """The busy lanes of ``tracer`` in timeline order: by node in rank order, each node's
    streams then its links, links between switches last by tier."""
    return _gather(tracer).order


def _is_regex(pattern: str) -> bool:
    return pattern.startswith("re:") or bool(_REGEX_ONLY & set(pattern))


def _compile(patterns: str | Iterable[str]) -> list[tuple[str, Any]]:
    """``(kind, matcher)`` for each pattern; raises InputError for a bad regular expression."""
    items = patterns.split(",") if isinstance(patterns, str) else list(patterns)
    compiled: list[tuple[str, Any]] = []
    for raw in items:
        pattern = raw.strip()
        if not pattern:
            continue
        if _is_regex(pattern):
            text = pattern[3:] if pattern.startswith("re:") else pattern
            try:
                compiled.append(("regex", re.compile(text)))
            except re.error as exc:
                raise InputError(
                    f"--lanes: {pattern!r} is not a regular expression ({exc}); use a glob such "
                    "as 'n0*' or 'links/*', or 're:' and a valid expression"
                ) from None
        else:
            compiled.append(("glob", pattern))
    if not compiled:
        raise InputError("--lanes: no pattern given; expected e.g. 'n0,links/*'")
    return compiled


def check_lane_patterns(patterns: str | Iterable[str]) -> None:
    """Raise InputError if ``patterns`` cannot be used (a bad regular expression, nothing)."""
    _compile(patterns)


def _matches(lane: Lane, node: str | None, compiled: list[tuple[str, Any]]) -> bool:
    label = lane_label(lane)
    for kind, matcher in compiled:
        if kind == "regex":
            if matcher.search(label):
                return True
        elif fnmatchcase(label, matcher) or (
            "/" not in matcher and node is not None and fnmatchcase(node, matcher)
        ):
            return True
    return False


def select_lanes(tracer: Tracer, patterns: str | Iterable[str]) -> list[Lane]:
    """The busy lanes matching ``patterns`` (see the module docstring), in timeline order.

    Raises InputError when a pattern is not a valid expression or nothing matches (naming a
    few of the lanes there are).
    """
    compiled = _compile(patterns)
    lanes = _gather(tracer)
    chosen = [lane for lane in lanes.order if _matches(lane, lanes.owner[lane], compiled)]
    if not chosen and lanes.order:
        shown = ", ".join(lane_label(lane) for lane in lanes.order[:6])
        more = f" ... ({len(lanes.order)} in all)" if len(lanes.order) > 6 else ""
        raise InputError(
            f"--lanes {patterns if isinstance(patterns, str) else ','.join(patterns)!r} "
            f"matches no busy lane of the trace; its lanes are {shown}{more}"
        )
    return chosen


# ---------------------------------------------------------------------------- aggregated rows
def _tier(lane: Lane, devices: set[str]) -> str:
    """The tier of a link: ``device->sw``, ``sw->device``, ``device->device``, ``agg->core``
    (a switch is named by its name without digits)."""
    ends = _link_ends(lane)
    if ends is None:
        return lane_label(lane)
    return "->".join("device" if end in devices else re.sub(r"\d+", "", end) or end for end in ends)


@dataclass
class _Row:
    """One timeline row: a lane, or (aggregated) a set of lanes drawn as their utilisation."""

    label: str
    lanes: list[Lane]
    owner: str | None = None
    slowdown: float = 1.0


def _rank_groups(devices: list[str], streams: dict[str, dict[str, list[Lane]]]) -> list[list[str]]:
    """Devices that do the same things, in rank order: first by kind (the name without its
    digits: ``dev``, ``cloud``) and the streams they used (a parameter server's ``n0`` has no
    compute), then by machine (``n3g0`` ... ``n3g7``) when the names say so, else in runs of
    consecutive ranks, at most ``_MAX_GROUPS`` runs per kind."""
    classes: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for device in devices:
        if device in streams:
            key = (re.sub(r"\d+", "", device), tuple(sorted(streams[device])))
            classes.setdefault(key, []).append(device)
    groups: list[list[str]] = []
    for members in classes.values():
        machines = [_MACHINE.match(d) for d in members]
        if all(machines):
            by_machine: dict[str, list[str]] = {}
            for device, match in zip(members, machines, strict=True):
                assert match is not None
                by_machine.setdefault(match["machine"], []).append(device)
            if 1 < len(by_machine) <= 4 * _MAX_GROUPS:
                groups += by_machine.values()
                continue
        size = max(1, math.ceil(len(members) / _MAX_GROUPS))
        groups += [members[i : i + size] for i in range(0, len(members), size)]
    rank = {device: i for i, device in enumerate(devices)}
    return sorted(groups, key=lambda group: rank[group[0]])


def _group_name(devices: list[str]) -> str:
    return devices[0] if len(devices) == 1 else f"{devices[0]}..{devices[-1]}"


def _aggregate_rows(lanes: _Lanes, chosen: list[Lane]) -> list[_Row]:
    device_set = set(lanes.devices)
    streams: dict[str, dict[str, list[Lane]]] = {}
    others: list[Lane] = []
    tiers: dict[str, list[Lane]] = {}
    for lane in chosen:
        ends = _link_ends(lane)
        if ends is not None:
            tiers.setdefault(_tier(lane, device_set), []).append(lane)
        elif lane[0] in device_set:
            streams.setdefault(lane[0], {}).setdefault(lane[1], []).append(lane)
        else:
            others.append(lane)
    rows: list[_Row] = []
    for group in _rank_groups(lanes.devices, streams):
        names = list(dict.fromkeys(n for d in group for n in streams.get(d, {})))
        names.sort(key=lambda n: {"compute": 0, "comm": 1}.get(n, 2))
        for name in names:
            members = [lane for d in group for lane in streams[d].get(name, [])]
            rows.append(_Row(f"{_group_name(group)}/{name} ({len(group)})", members, group[0]))
    rows += [_Row(lane_label(lane), [lane], lane[0]) for lane in others]
    for tier, members in tiers.items():
        rows.append(_Row(f"links {tier} ({len(members)})", members, None))
    return rows


def _utilisation(lanes: _Lanes, row: _Row, categories: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints ``t`` and, per category, the fraction of the row's lanes busy with it on
    ``[t[i], t[i+1])`` (overlapping spans of one lane and category counted once)."""
    import numpy as np

    index = {c: i for i, c in enumerate(categories)}
    times: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    which: list[np.ndarray] = []
    for lane in row.lanes:
        cats = np.array([index[c] for c in lanes.cats.get(lane, [])], dtype=np.int64)
        if cats.size == 0:
            continue
        a_all = np.asarray(lanes.starts[lane], dtype=float)
        b_all = np.asarray(lanes.ends[lane], dtype=float)
        for c in np.unique(cats).tolist():
            mine = cats == c
            lo, hi = _merged(a_all[mine], b_all[mine])
            times += [lo, hi]
            deltas += [np.ones(lo.size), -np.ones(lo.size)]
            which += [np.full(lo.size, c), np.full(lo.size, c)]
    if not times:
        return np.zeros(1), np.zeros((len(categories), 0))
    t = np.concatenate(times)
    d = np.concatenate(deltas)
    w = np.concatenate(which)
    points, position = np.unique(t, return_inverse=True)
    counts = np.zeros((len(categories), points.size))
    np.add.at(counts, (w, position), d)
    return points, np.cumsum(counts, axis=1)[:, :-1] / max(len(row.lanes), 1)


# ------------------------------------------------------------------------------------ drawing
def _pick_unit(extent: float, time_unit: str) -> tuple[str, float]:
    """The display unit: ``time_unit`` itself, or for ``"auto"`` the largest unit <= extent."""
    units = dict(_UNITS)
    if time_unit != "auto":
        if time_unit not in units:
            raise ValueError(f"time_unit must be 'auto' or one of {list(units)}, not {time_unit!r}")
        return time_unit, units[time_unit]
    for name, scale in _UNITS:
        if extent >= scale:
            return name, scale
    return _UNITS[-1]


@dataclass
class _Legend:
    """Legend entries in the order they were first drawn."""

    entries: dict[str, Any] = field(default_factory=dict)

    def patch(self, label: str, colour: Any, hatch: str | None = None) -> None:
        if label not in self.entries:
            from matplotlib.patches import Patch

            self.entries[label] = Patch(
                facecolor=colour, edgecolor="white" if hatch else colour, hatch=hatch, label=label
            )

    def marker(self, label: str, colour: str) -> None:
        if label not in self.entries:
            from matplotlib.lines import Line2D

            self.entries[label] = Line2D(
                [], [], linestyle="none", marker="v", color=colour, label=label
            )


def _compute_roles(lanes: _Lanes, rows: list[_Row]) -> dict[str, Any]:
    """Role -> shade for the compute spans drawn, when there are few enough roles to tell."""
    roles: dict[str, None] = {}
    for row in rows:
        for lane in row.lanes:
            for cat, name, role in zip(
                lanes.cats.get(lane, []),
                lanes.names.get(lane, []),
                lanes.roles.get(lane, []),
                strict=True,
            ):
                if cat == "compute":
                    roles.setdefault(_role(name, role), None)
    if not 1 < len(roles) <= _MAX_ROLES:
        return {}
    return {role: _ROLE_SHADES[i] for i, role in enumerate(roles)}


def _draw_lanes(
    ax: Axes, lanes: _Lanes, rows: list[_Row], scale: float, legend: _Legend, labels: bool
) -> None:
    import numpy as np

    roles = _compute_roles(lanes, rows)
    text: list[tuple[float, float, int, str]] = []
    separators: list[tuple[int, np.ndarray, np.ndarray]] = []
    for i, row in enumerate(rows):
        (lane,) = row.lanes
        if lane not in lanes.starts:
            continue
        x0 = np.asarray(lanes.starts[lane], dtype=float) / scale
        width = np.maximum(np.asarray(lanes.ends[lane], dtype=float) / scale - x0, 0.0)
        keys = [
            (cat, _role(name, role) if cat == "compute" and roles else "")
            for cat, name, role in zip(
                lanes.cats[lane], lanes.names[lane], lanes.roles[lane], strict=True
            )
        ]
        hatch = "////" if row.slowdown > 1.0 else None
        kinds = {key: k for k, key in enumerate(dict.fromkeys(keys))}
        which = np.array([kinds[key] for key in keys])
        for (cat, role), k in kinds.items():
            mine = which == k
            colour = roles[role] if role else category_colour(cat)
            ax.broken_barh(
                np.column_stack((x0[mine], width[mine])),
                (i - _BAR_HEIGHT / 2, _BAR_HEIGHT),
                facecolors=colour,
                edgecolors="white" if hatch else colour,  # same-colour edge: thin spans show
                linewidths=0.6,
                hatch=hatch,
            )
            legend.patch(f"{cat}: {role}" if role else cat, colour)
        if hatch:
            legend.patch("slowed compute (xF: F times longer)", "0.6", hatch)
        separators.append((i, x0, width))
        if labels:
            for start, end, name in zip(
                lanes.starts[lane], lanes.ends[lane], lanes.names[lane], strict=True
            ):
                match = _MICROBATCH.match(name)
                if match:
                    text.append(((start + end) / 2 / scale, (end - start) / scale, i, match["m"]))
    _draw_separators(ax, separators)
    if text:
        _draw_text(ax, text)


def _pixels_per_unit(ax: Axes) -> float:
    """Horizontal pixels per data unit (the axes take about 80 % of the figure's width)."""
    lo, hi = ax.get_xlim()
    fig = ax.figure
    return fig.get_figwidth() * fig.dpi * 0.8 / (hi - lo) if hi > lo else 0.0


def _draw_separators(ax: Axes, separators: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
    """Thin white lines where a span wide enough to see (4 px) starts, so that back-to-back
    spans of one colour stay distinguishable."""
    import numpy as np

    per_unit = _pixels_per_unit(ax)
    xs, ys = [], []
    for row, x0, width in separators:
        wide = width * per_unit >= 4
        xs.append(x0[wide])
        ys.append(np.full(int(wide.sum()), row, dtype=float))
    if xs:
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        ax.vlines(x, y - _BAR_HEIGHT / 2, y + _BAR_HEIGHT / 2, colors="white", linewidth=0.6)


def _draw_text(ax: Axes, text: list[tuple[float, float, int, str]]) -> None:
    """Micro-batch numbers inside the bars wide enough for them."""
    per_unit = _pixels_per_unit(ax)
    size = 7
    wide = [t for t in text if t[1] * per_unit >= size * (len(t[3]) + 1)]
    if len(wide) > _MAX_TEXT_LABELS:
        return
    for x, _, row, label in wide:
        ax.text(x, row, label, ha="center", va="center", fontsize=size, color="white", clip_on=True)


def _draw_aggregate(
    ax: Axes, lanes: _Lanes, rows: list[_Row], scale: float, t_end: float, legend: _Legend
) -> list[str]:
    """Stacked utilisation areas; returns the row labels with their mean utilisation."""
    import numpy as np

    labels = []
    for i, row in enumerate(rows):
        categories = list(dict.fromkeys(c for lane in row.lanes for c in lanes.cats.get(lane, [])))
        points, shares = _utilisation(lanes, row, categories)
        bottom = i + _BAR_HEIGHT / 2
        base = np.zeros(max(points.size - 1, 0))
        x = np.repeat(points / scale, 2)[1:-1]  # steps: each value held over its interval
        busy = 0.0
        for c, category in enumerate(categories):
            share = shares[c]
            if not share.size:
                continue
            top = base + share
            ax.fill_between(
                x,
                bottom - np.repeat(base, 2) * _BAR_HEIGHT,
                bottom - np.repeat(top, 2) * _BAR_HEIGHT,
                color=category_colour(category),
                linewidth=0,
            )
            legend.patch(category, category_colour(category))
            busy += float((share * np.diff(points)).sum())
            base = top
        ax.axhline(i - _BAR_HEIGHT / 2, color="0.88", linewidth=0.5, zorder=0)
        mean = busy / t_end if t_end > 0 else 0.0
        shown = "<1" if 0 < mean < 0.005 else f"{100 * mean:.0f}"
        labels.append(f"{row.label} {shown}%")
    return labels


def _legend_order(label: str) -> tuple[int, int, str]:
    """Categories in the table's order (their roles after them), then the rest, slowed
    compute and instants last."""
    known = list(CATEGORY_COLOURS)
    category = label.split(": ")[0]
    if label.startswith("instant: "):
        return (3, 0, label)
    if label.startswith("slowed "):
        return (2, 0, label)
    base = _CHUNK.match(category)
    root = base["base"] if base else category
    if root in known:
        return (0, known.index(root), label)
    return (1, 0, label)


def _legend(ax: Axes, legend: _Legend, title: str) -> None:
    if legend.entries:
        ax.legend(
            handles=[legend.entries[k] for k in sorted(legend.entries, key=_legend_order)],
            title=title,
            loc="upper left",
            bbox_to_anchor=(1.005, 1.0),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )


def _choose_rows(
    lanes: _Lanes, tracer: Tracer, lanes_arg: str | Iterable[str] | None, view: str, max_lanes: int
) -> tuple[str, list[_Row], str]:
    """The view actually drawn, its rows and the summary line under the title (what was left
    out, folded, aggregated or chosen; empty when every lane of the trace is drawn)."""
    declared = set(tracer.lanes)
    idle = len(declared - set(lanes.order))
    if lanes_arg is not None:
        chosen = select_lanes(tracer, lanes_arg)
        picked = (
            f"{len(chosen)} lanes match --lanes {lanes_arg!r}"
            if isinstance(lanes_arg, str)
            else f"{len(chosen)} lanes selected"
        )
        view = "lanes" if view == "auto" else view
    else:
        chosen = lanes.order
        picked = f"{len(chosen)} busy lane{'s' if len(chosen) != 1 else ''}"
        if view == "auto":
            view = "lanes" if len(chosen) <= max_lanes else "aggregate"
    notes = [picked]
    if idle and lanes_arg is None:
        notes.append(f"{idle} idle left out")
    if view == "aggregate":
        rows = _aggregate_rows(lanes, chosen)
        notes.append(f"aggregated into {len(rows)} rows (share of each row's lanes busy)")
        return view, rows, "; ".join(notes)
    if len(chosen) > max_lanes:
        busiest = sorted(chosen, key=lambda lane: -lanes.busy_s(lane))[:max_lanes]
        keep = set(busiest)
        notes.append(
            f"the {max_lanes} busiest shown, {len(chosen) - max_lanes} folded "
            "(view='aggregate' shows them all)"
        )
        chosen = [lane for lane in chosen if lane in keep]
    rows = []
    for lane in chosen:
        slowdown = float(tracer.lane_info.get(lane, {}).get("slowdown", 1.0))
        label = lane_label(lane) + (f" x{slowdown:g}" if slowdown != 1.0 else "")
        rows.append(_Row(label, [lane], lanes.owner[lane], slowdown))
    # nothing left out, folded or chosen: every lane of the trace is there, no summary needed
    return view, rows, "; ".join(notes) if len(notes) > 1 or lanes_arg is not None else ""


def plot_timeline(
    tracer: Tracer,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    lanes: str | Iterable[str] | None = None,
    view: str = "auto",
    max_lanes: int = 80,
    time_unit: str = "auto",
    labels: bool = True,
) -> Figure:
    """Draw the tracer's spans and instants as a Gantt chart; return the figure.

    ``lanes``: patterns choosing the lanes (``"n0,links/*"``; see the module docstring).
    ``view``: ``"auto"``, ``"lanes"`` or ``"aggregate"``. ``max_lanes``: the most rows of the
    lanes view; beyond it the busiest are kept and the title's summary says how many were
    folded (and ``"auto"`` aggregates a whole run). ``time_unit``: ``"auto"`` (s, ms, us or ns
    from the trace's extent) or one of those. ``labels``: micro-batch numbers in pipeline
    bars. ``ax``: draw into these axes; otherwise a new Agg figure is sized to the rows.
    """
    if max_lanes < 1:
        raise ValueError(f"max_lanes must be >= 1, not {max_lanes}")
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    gathered = _gather(tracer)
    view, rows, summary = _choose_rows(gathered, tracer, lanes, view, max_lanes)
    shown = {lane for row in rows for lane in row.lanes}

    times = [
        t for lane in shown for t in (*gathered.starts.get(lane, ()), *gathered.ends.get(lane, ()))
    ]
    times += [t for lane in shown for t, _ in gathered.instants.get(lane, ())]
    t_max = max(times, default=0.0)
    t_lo = min(min(times, default=0.0), 0.0)
    unit, scale = _pick_unit(max(t_max - t_lo, 0.0), time_unit)

    n_rows = len(rows)
    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as _Figure

        per_row = 0.45 if view == "aggregate" else (0.3 if n_rows <= 32 else 0.22)
        height = min(1.8 + per_row * max(n_rows, 1), 30.0)
        fig = _Figure(figsize=(12.0, height), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    fig = ax.figure
    if t_max > t_lo:
        pad = 0.01 * (t_max - t_lo) / scale
        ax.set_xlim(t_lo / scale - pad, t_max / scale + pad)

    legend = _Legend()
    if view == "aggregate":
        tick_labels = _draw_aggregate(ax, gathered, rows, scale, t_max - t_lo, legend)
    else:
        _draw_lanes(ax, gathered, rows, scale, legend, labels)
        tick_labels = [row.label for row in rows]
    _draw_instants(ax, gathered, rows, scale, legend)

    label_size = 9 if n_rows <= 24 else (7 if n_rows <= 48 else 6)
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels(tick_labels, fontsize=label_size)
    ax.set_ylim(max(n_rows, 1) - 0.5, -0.5)  # first row on top
    ax.set_xlabel(f"Simulated time ({_UNIT_LABEL[unit]})")
    ax.grid(axis="x", linestyle=":", linewidth=0.6, alpha=0.7)
    ax.set_axisbelow(True)
    for i in range(1, n_rows):  # separators between nodes (and before the links of switches)
        if rows[i].owner != rows[i - 1].owner:
            ax.axhline(i - 0.5, color="0.6", linewidth=0.6)
    if not rows:
        ax.text(0.5, 0.5, "no trace events", transform=ax.transAxes, ha="center", va="center")
    _legend(ax, legend, "category" if view == "lanes" else "busy with")
    heading = title if title is not None else "Timeline"
    ax.set_title(f"{heading}\n{summary}" if rows and summary else heading, fontsize=10)
    return fig


def _draw_instants(
    ax: Axes, lanes: _Lanes, rows: list[_Row], scale: float, legend: _Legend
) -> None:
    import numpy as np

    points: dict[str, tuple[list[float], list[int]]] = {}
    for i, row in enumerate(rows):
        for lane in row.lanes:
            for time, name in lanes.instants.get(lane, ()):
                xs, ys = points.setdefault(name, ([], []))
                xs.append(time)
                ys.append(i)
    for name, (xs, ys) in points.items():
        colour = _instant_colour(name)
        ax.plot(
            np.asarray(xs) / scale,
            np.asarray(ys, dtype=float) - _BAR_HEIGHT / 2,
            linestyle="none",
            marker="v",
            markersize=5,
            markerfacecolor=colour,
            markeredgecolor="white",
            markeredgewidth=0.5,
            zorder=3,
        )
        legend.marker(f"instant: {name}", colour)


def save_timeline(tracer: Tracer, path: str | Path, **kw: Any) -> Path:
    """Plot with :func:`plot_timeline` (``**kw`` passed on) and save a PNG at ``path``.

    Parent directories are created; ``dpi`` defaults to 120. A figure created here is closed
    after saving; one drawn into a caller's ``ax`` is left to the caller.
    """
    import sys

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = kw.pop("dpi", _DEFAULT_DPI)
    owns_figure = kw.get("ax") is None
    fig = plot_timeline(tracer, **kw)
    fig.savefig(path, dpi=dpi, format=None if path.suffix else "png")
    if owns_figure:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(fig)  # no-op unless pyplot manages it; never imports pyplot itself
        fig.clear()
    return path
