"""Tile geometry: rectangles of feature maps, receptive fields, halos and FDSP tiles.

A convolution or pooling layer with kernel ``k``, stride ``s``, dilation ``d`` and padding
``p`` (before) computes output rows ``[a, b)`` from the padded-input rows
``[a·s - p, (b - 1)·s - p + d·(k - 1) + 1)`` (Dumoulin & Visin, "A guide to convolution
arithmetic for deep learning", arXiv:1603.07285, relationship 15, read backwards; the same for
columns). The part of that range outside the map is zero padding, the part inside is what the
tile must hold: its own rows plus a *halo* of its neighbours' rows. :func:`needed_input` gives
both; :func:`backward` walks it back through a group of layers, so the halo of a fused group
grows layer by layer and is exchanged once, with the overlap recomputed by both tiles
(DeepThings' fused tile partitioning: Zhao, Mirzazad Barijough & Gerstlauer, "DeepThings:
Distributed Adaptive Deep Learning Inference on Resource-Constrained IoT Edge Clusters", IEEE
TCAD 37(11), 2018, §III-A).

:func:`spatial_groups` lays a grid of tiles (one per worker) over every group's output map and
lists each worker's rows to compute and the halos it receives; :func:`fused_tiles` does the same
for a whole stack fused into independent tiles. :func:`fdsp_tiles` lays ADCNN's fully
decomposable tiles (Zhang, Lin & Zhang, ICPP 2020): each tile is run through the stack as if it
were the whole image, zero-padded at its own edges, so no halo moves; :func:`fdsp_interior`
finds the output pixels whose receptive field never touches an artificial edge, where FDSP
must agree with the whole model exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clustersim.errors import InputError
from clustersim.inference.partition.stack import LayerGeom, Stack
from clustersim.nn.windows import Padding

__all__ = [
    "AxisCut",
    "FdspLayout",
    "FdspTile",
    "Group",
    "Rect",
    "Steps",
    "backward",
    "fdsp_interior",
    "fdsp_tiles",
    "fused_tiles",
    "grid_rects",
    "needed_input",
    "spatial_groups",
    "split_points",
]


@dataclass(frozen=True, slots=True)
class Rect:
    """Rows ``[r0, r1)`` and columns ``[c0, c1)`` of a feature map (empty when either is)."""

    r0: int
    r1: int
    c0: int
    c1: int

    @property
    def rows(self) -> int:
        return max(self.r1 - self.r0, 0)

    @property
    def cols(self) -> int:
        return max(self.c1 - self.c0, 0)

    @property
    def area(self) -> int:
        return self.rows * self.cols

    @property
    def empty(self) -> bool:
        return self.area == 0

    def intersect(self, other: Rect) -> Rect:
        r0, r1 = max(self.r0, other.r0), min(self.r1, other.r1)
        c0, c1 = max(self.c0, other.c0), min(self.c1, other.c1)
        return Rect(r0, r1, c0, c1)

    def contains(self, other: Rect) -> bool:
        rows = self.r0 <= other.r0 and other.r1 <= self.r1
        cols = self.c0 <= other.c0 and other.c1 <= self.c1
        return other.empty or (rows and cols)

    def within(self, outer: Rect) -> tuple[slice, slice]:
        """This rectangle as (row, column) slices of an array that holds ``outer``."""
        return (
            slice(self.r0 - outer.r0, self.r1 - outer.r0),
            slice(self.c0 - outer.c0, self.c1 - outer.c0),
        )


def split_points(n: int, fractions: Sequence[float]) -> list[int]:
    """Boundaries ``[0, ..., n]`` cutting ``n`` rows into parts proportional to ``fractions``
    (rounded to the nearest row, halves up)."""
    cum = np.concatenate(([0.0], np.cumsum(fractions, dtype=float)))
    cum /= cum[-1]
    points = np.floor(cum * n + 0.5).astype(int)
    points[-1] = n
    return [int(p) for p in points]


def grid_rects(
    size: tuple[int, int], row_fractions: Sequence[float], col_fractions: Sequence[float]
) -> list[Rect]:
    """The tiles of a ``size`` (H, W) map cut into ``len(row_fractions) × len(col_fractions)``
    rectangles, row-major (tile ``r·cols + c``)."""
    rows = split_points(size[0], row_fractions)
    cols = split_points(size[1], col_fractions)
    return [
        Rect(rows[r], rows[r + 1], cols[c], cols[c + 1])
        for r in range(len(row_fractions))
        for c in range(len(col_fractions))
    ]


def needed_input(layer: LayerGeom, out: Rect) -> tuple[Rect, Padding]:
    """The input rectangle (inside the map) that output ``out`` of ``layer`` reads, and the zero
    padding (top, bottom, left, right) to put around it: nonzero only on the map's real edges."""
    if out.empty:
        return Rect(0, 0, 0, 0), (0, 0, 0, 0)
    w = layer.window
    _, h_in, w_in = layer.in_shape
    top, _, left, _ = w.padding
    r_lo = out.r0 * w.stride[0] - top
    r_hi = (out.r1 - 1) * w.stride[0] - top + w.span(0)
    c_lo = out.c0 * w.stride[1] - left
    c_hi = (out.c1 - 1) * w.stride[1] - left + w.span(1)
    rect = Rect(max(r_lo, 0), min(r_hi, h_in), max(c_lo, 0), min(c_hi, w_in))
    pad = (max(-r_lo, 0), max(r_hi - h_in, 0), max(-c_lo, 0), max(c_hi - w_in, 0))
    return rect, pad


@dataclass(frozen=True)
class Steps:
    """What one tile computes through a group of layers.

    Attributes:
        reads: per layer, the input rectangle it reads (``reads[0]`` is what the tile must hold
            before the group: its own pixels and the halo).
        regions: per layer, the output rectangle it computes (``regions[-1]`` is the tile's
            own output; earlier ones include the overlap a fused group recomputes).
        pads: per layer, the zero padding around ``reads`` (real map edges only).
    """

    reads: list[Rect]
    regions: list[Rect]
    pads: list[Padding]

    @property
    def needed(self) -> Rect:
        return self.reads[0]

    @property
    def out(self) -> Rect:
        return self.regions[-1]


def backward(layers: Sequence[LayerGeom], out: Rect) -> Steps:
    """The rectangles a tile whose output is ``out`` computes and reads at each layer."""
    reads: list[Rect] = []
    regions: list[Rect] = []
    pads: list[Padding] = []
    region = out
    for layer in reversed(layers):
        rect, pad = needed_input(layer, region)
        regions.append(region)
        reads.append(rect)
        pads.append(pad)
        region = rect
    return Steps(reads[::-1], regions[::-1], pads[::-1])


@dataclass(frozen=True)
class Group:
    """A fused group of layers split over the workers (one tile each).

    Attributes:
        layers: positions of the group's layers in the stack.
        owned: per worker, its rectangle of the group's output map.
        steps: per worker, what it reads and computes.
        halos: ``(source, destination) -> rectangle`` of the group's input map the source
            worker sends the destination before the group (empty for the first group, whose
            input the central node sends: ``steps[i].needed``).
    """

    layers: tuple[int, ...]
    owned: list[Rect]
    steps: list[Steps]
    halos: dict[tuple[int, int], Rect]


def _groups_of(stack: Stack, fuse: int | None) -> list[tuple[int, ...]]:
    """Layer positions cut into groups of ``fuse`` halo-bearing layers each (None: one group);
    an element-wise layer stays with the layer before it."""
    groups: list[list[int]] = []
    count = 0
    for k, layer in enumerate(stack.layers):
        if not groups or (layer.halo_bearing and fuse is not None and count == fuse):
            groups.append([])
            count = 0
        groups[-1].append(k)
        count += layer.halo_bearing
    return [tuple(g) for g in groups]


def _check_tiles_fit(stack: Stack, grid: tuple[int, int]) -> None:
    """More tile rows (columns) than the input has rows (columns) is an input error."""
    _, h, w = stack.input_shape
    for axis, (n, size) in enumerate(zip(grid, (h, w), strict=True)):
        if n > size:
            noun = ("rows", "columns")[axis]
            raise InputError(
                f"workload.tiles: {n} tile {noun} but the input has only {size} {noun}; "
                f"expected at most {size}"
            )


def _neighbours(i: int, j: int, cols: int) -> bool:
    return abs(i // cols - j // cols) <= 1 and abs(i % cols - j % cols) <= 1


def spatial_groups(
    stack: Stack,
    grid: tuple[int, int],
    row_fractions: Sequence[float],
    col_fractions: Sequence[float],
    fuse: int | None,
) -> list[Group]:
    """The spatial partition with halo exchange: ``grid`` (rows, columns) tiles, tile ``t`` on
    worker ``t``, fused groups of ``fuse`` conv/pool layers (None: the whole stack).

    Every group's output map is cut by the same fractions; a halo comes only from a tile's
    grid neighbours (what a real implementation exchanges), so a window wider than a tile is an
    input error naming the layer.
    """
    _check_tiles_fit(stack, grid)
    cols = grid[1]
    groups: list[Group] = []
    previous: list[Rect] | None = None
    for members in _groups_of(stack, fuse):
        layers = [stack.layers[k] for k in members]
        _, h, w = layers[-1].out_shape
        owned = grid_rects((h, w), row_fractions, col_fractions)
        for t, rect in enumerate(owned):
            if rect.empty:
                last = layers[-1]
                raise InputError(
                    f"workload.tiles: tile {t} owns no pixel of the {h}×{w} output of layer "
                    f"{last.index} {last.cost.layer}: more tile rows ({len(row_fractions)}) or "
                    f"columns ({len(col_fractions)}) than that map has; expected fewer tiles, "
                    "or fuse: all (independent tiles of the last map)"
                )
        steps = [backward(layers, rect) for rect in owned]
        halos: dict[tuple[int, int], Rect] = {}
        if previous is not None:
            for i, step in enumerate(steps):
                for j, theirs in enumerate(previous):
                    piece = step.needed.intersect(theirs)
                    if j == i or piece.empty:
                        continue
                    if not _neighbours(i, j, cols):
                        first = stack.layers[members[0]]
                        raise InputError(
                            f"workload.tiles: tile {i} (row {i // cols}, column {i % cols}) "
                            f"needs pixels of tile {j} for layer {first.index} "
                            f"{first.cost.layer}, which is not its neighbour: the window "
                            f"(kernel {first.window.kernel[0]}) and its fused halo are larger "
                            f"than a tile of {theirs.rows}×{theirs.cols} pixels; expected fewer "
                            "tiles or fewer fused layers"
                        )
                    halos[(j, i)] = piece
        groups.append(Group(members, owned, steps, halos))
        previous = owned
    return groups


def fused_tiles(
    stack: Stack,
    grid: tuple[int, int],
    row_fractions: Sequence[float],
    col_fractions: Sequence[float],
) -> list[Steps]:
    """Independent tiles of the whole stack fused (DeepThings' FTP): each tile's rectangle of
    the last map, and the input (with its halo) the central node must send for it."""
    _check_tiles_fit(stack, grid)
    _, h, w = stack.out_shape
    for axis, (n, size) in enumerate(zip(grid, (h, w), strict=True)):
        if n > size:
            noun = ("rows", "columns")[axis]
            raise InputError(
                f"workload.tiles: {n} tile {noun} but the last feature map "
                f"({stack.layers[-1].cost.layer}) has only {size} {noun}; expected at most "
                f"{size} so that every tile owns an output pixel"
            )
    return [
        backward(stack.layers, rect) for rect in grid_rects((h, w), row_fractions, col_fractions)
    ]


@dataclass(frozen=True)
class AxisCut:
    """How FDSP cuts one axis: per slice, its ``[start, end)`` at the input (level 0) and at the
    output of every layer (level ``k + 1`` for layer ``k``)."""

    bounds: list[list[tuple[int, int]]]

    @property
    def slices(self) -> int:
        return len(self.bounds)


@dataclass(frozen=True)
class FdspTile:
    """One FDSP tile.

    Attributes:
        rect: its rectangle of the input image.
        outs: per layer, its rectangle of that layer's output map (where the tile's own
            output lands when the tiles are stitched).
    """

    rect: Rect
    outs: list[Rect]

    @property
    def out(self) -> Rect:
        return self.outs[-1]


@dataclass(frozen=True)
class FdspLayout:
    """The FDSP tiles (row-major) and the two axis cuts they come from."""

    tiles: list[FdspTile]
    rows: AxisCut
    cols: AxisCut


def _fdsp_sizes(stack: Stack, size: int, axis: int, slice_index: int) -> list[int]:
    """The output size along ``axis`` of a ``size``-pixel tile after each layer, the tile
    padded as if it were the whole image."""
    noun, what = (("rows", "row"), ("columns", "column"))[axis]
    sizes = []
    for layer in stack.layers:
        w = layer.window
        pad = (w.padding[2 * axis], w.padding[2 * axis + 1])
        span = w.span(axis)
        if size + pad[0] + pad[1] < span:
            raise InputError(
                f"workload.tiles: FDSP tile {what} {slice_index} is {size} {noun} at the input "
                f"of layer {layer.index} {layer.cost.layer}, smaller than its kernel of "
                f"{w.kernel[axis]} (spanning {span} with padding {pad[0]}+{pad[1]}); expected "
                "fewer, larger tiles"
            )
        size = (size + pad[0] + pad[1] - span) // w.stride[axis] + 1
        sizes.append(size)
    return sizes


def _fdsp_axis(stack: Stack, axis: int, fractions: Sequence[float]) -> AxisCut:
    size_in = stack.input_shape[1 + axis]
    size_out = stack.out_shape[1 + axis]
    noun = ("rows", "columns")[axis]
    if len(fractions) > size_out:
        raise InputError(
            f"workload.tiles: {len(fractions)} FDSP tile {noun} but the last feature map "
            f"({stack.layers[-1].cost.layer}) has only {size_out} {noun}; expected at most "
            f"{size_out}"
        )
    stride = int(np.prod([g.window.stride[axis] for g in stack.layers]))
    cuts = [p * stride for p in split_points(size_out, fractions)]
    cuts[-1] = size_in
    sizes = [_fdsp_sizes(stack, cuts[t + 1] - cuts[t], axis, t) for t in range(len(fractions))]
    bounds: list[list[tuple[int, int]]] = [[(cuts[t], cuts[t + 1])] for t in range(len(sizes))]
    for k, layer in enumerate(stack.layers):
        whole = layer.out_shape[1 + axis]
        total = sum(s[k] for s in sizes)
        if total != whole:
            raise InputError(
                f"workload.tiles: the FDSP tiles' outputs of layer {layer.index} "
                f"{layer.cost.layer} add up to {total} {noun}, the whole map has {whole}: "
                f"this stack does not map tiles onto its feature maps (total stride {stride}); "
                "expected a model of 'same' convolutions and k×k/k poolings, such as vgg16 "
                "or small_cnn"
            )
        start = 0
        for t, s in enumerate(sizes):
            bounds[t].append((start, start + s[k]))
            start += s[k]
    return AxisCut(bounds)


def fdsp_tiles(
    stack: Stack,
    grid: tuple[int, int],
    row_fractions: Sequence[float],
    col_fractions: Sequence[float],
) -> FdspLayout:
    """ADCNN's tiles: the last feature map cut by the fractions, each cut mapped back to the
    input through the stack's total stride, so that every tile, run alone with its own zero
    padding, yields exactly its share of every map (row-major tiles)."""
    _check_tiles_fit(stack, grid)
    rows = _fdsp_axis(stack, 0, row_fractions)
    cols = _fdsp_axis(stack, 1, col_fractions)
    tiles = []
    for rb in rows.bounds:
        for cb in cols.bounds:
            rects = [Rect(r[0], r[1], c[0], c[1]) for r, c in zip(rb, cb, strict=True)]
            tiles.append(FdspTile(rects[0], rects[1:]))
    return FdspLayout(tiles, rows, cols)


def fdsp_interior(layers: Sequence[LayerGeom], layout: FdspLayout) -> np.ndarray:
    """Boolean (H, W) mask of the last map: pixels whose receptive field, at every layer, lies
    inside their own tile (or is cut only by the map's real edges). There FDSP computes exactly
    what the whole model computes."""
    masks = []
    for axis, cut in enumerate((layout.rows, layout.cols)):
        bounds = np.array(cut.bounds)  # (slices, levels, 2)
        size = layers[-1].out_shape[1 + axis]
        index = np.arange(size)
        owner = np.searchsorted(bounds[:, -1, 0], index, side="right") - 1
        lo, hi = index.copy(), index + 1
        inside = np.ones(size, dtype=bool)
        for k in reversed(range(len(layers))):
            layer = layers[k]
            w = layer.window
            before = w.padding[2 * axis]
            lo_in = lo * w.stride[axis] - before
            hi_in = (hi - 1) * w.stride[axis] - before + w.span(axis)
            lo = np.maximum(lo_in, 0)
            hi = np.minimum(hi_in, layer.in_shape[1 + axis])
            inside &= (lo >= bounds[owner, k, 0]) & (hi <= bounds[owner, k, 1])
        masks.append(inside)
    return masks[0][:, None] & masks[1][None, :]
