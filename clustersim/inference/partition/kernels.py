"""The numerics of every partition, replayed in step with the simulated transfers.

Each *replay* is driven by the process view (:mod:`~clustersim.inference.partition.process`):
the central node asks it for what to send a worker, a worker hands it what arrived and gets
what to send on, the central node hands it what came back. The arrays ride on the simulated
flows, so a halo that was never sent is missing from the tile that needed it, and the check
fails. The replays and their checks:

* :class:`SpatialReplay` (``spatial_equals_whole``): tiles with halos, per fused group, or
  whole fused tiles (DeepThings' FTP). Convolved in a fixed order (:func:`conv2d_direct`), a
  tile with its halo and zero padding only on the map's real edges computes the whole map's
  rows bit for bit, so the stitched map must equal the unpartitioned stack exactly.
* :class:`FdspReplay` (``fdsp_interior_equals_whole``): ADCNN's FDSP, each tile run as a whole
  image. The stitched map differs from the whole model's near tile borders (reported as
  ``max_abs_err``); pixels whose receptive field never touches an artificial edge
  (:func:`~clustersim.inference.partition.tiles.fdsp_interior`) must agree exactly.
  (With the trained model the replay runs its own weights on a few test images.)
* :class:`ChannelReplay` (``channel_equals_whole``): input channels split, partial sums
  reduced. The sum is reordered, so each convolution is held against the whole convolution of
  the same input within twice Higham's bound ``γ_n·Σ|w·x|``, ``γ_n = n·u/(1 - n·u)``, ``n``
  the terms of one output (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
  2002, §3.1, eq. 3.5), in float64.
* :class:`AttentionReplay` (``attention_equals_whole``): heads split (gathered and projected by
  the central node) or the sequence split (keys and values exchanged), against the
  unpartitioned layer of :mod:`clustersim.training.tensor_parallel.kernels`.

The CNN replays run a *numeric twin* (:class:`Net`): the stack's own windows (kernel, stride,
dilation, padding, so the same tiles and halos) with at most ``width`` channels per layer and
random He-normal weights, or the trained model itself. Tiles only cut the spatial axes, so the
channel count changes nothing the checks look at and keeps a VGG-16 replay at 224×224 cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clustersim.inference.partition.costs import AttentionShape
from clustersim.inference.partition.stack import LayerGeom, Stack
from clustersim.inference.partition.tiles import (
    FdspLayout,
    Group,
    Rect,
    Steps,
    fdsp_interior,
)
from clustersim.inference.partition.work import StagedWork, TileWork, channel_slices
from clustersim.kinds.contract import check
from clustersim.nn import AvgPool2d, Conv2d, Dropout, MaxPool2d, Sequential
from clustersim.nn.layers import Module
from clustersim.nn.windows import Padding
from clustersim.training.tensor_parallel.kernels import attention_forward, core_forward

__all__ = [
    "AttentionReplay",
    "ChannelReplay",
    "FdspReplay",
    "Net",
    "SpatialReplay",
    "apply_layer",
    "assemble",
    "conv2d_direct",
    "drive_staged",
    "drive_tiles",
    "higham_bound",
    "run_steps",
]

Piece = tuple[Rect, np.ndarray]
"""A rectangle of a feature map and its values ``(N, C, rows, cols)``."""


# ------------------------------------------------------------------------------ layers
def _pairs(pad: Padding) -> tuple[tuple[int, int], tuple[int, int]]:
    return (pad[0], pad[1]), (pad[2], pad[3])


def conv2d_direct(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    *,
    stride: tuple[int, int],
    padding: Padding,
    dilation: tuple[int, int],
) -> np.ndarray:
    """The convolution of :func:`clustersim.nn.conv2d`, summed tap by tap in a fixed order.

    Output ``(n, o, i, j)`` starts at ``bias[o]`` and adds ``weight[o, c, a, b] · xp[n, c,
    i·sh + a·dh, j·sw + b·dw]`` for ``c``, then ``a``, then ``b`` in increasing order, one
    multiply and one add per tap, vectorised over every output pixel at once. Each output's
    arithmetic is therefore the same whatever the size of the map it sits in, so a tile with
    its halo reproduces the whole map bit for bit. :func:`clustersim.nn.conv2d` hands the
    im2col matrix to BLAS, whose kernel (and rounding) depends on the matrix size: OpenBLAS
    takes a small-matrix path for tiny products, and a 14×14 tile of a 4-channel map then
    differs from the whole map in the last bit.
    """
    top, bottom, left, right = padding
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    o, c, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    ho = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    wo = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], o, ho, wo), dtype=np.result_type(x, weight))
    if bias is not None:
        y += bias[:, None, None]
    for ci in range(c):
        for a in range(kh):
            rows = slice(a * dh, a * dh + sh * (ho - 1) + 1, sh)
            for b in range(kw):
                cols = slice(b * dw, b * dw + sw * (wo - 1) + 1, sw)
                tap = xp[:, ci : ci + 1, rows, cols]
                y += weight[None, :, ci, a, b, None, None] * tap
    return y


def apply_layer(
    layer: LayerGeom, params: dict[str, np.ndarray], x: np.ndarray, pad: Padding
) -> np.ndarray:
    """``layer`` on ``x`` with the zero padding ``pad`` (top, bottom, left, right) instead of
    its own: a tile pads only where the map really ends."""
    w = layer.window
    if layer.op == "conv":
        return conv2d_direct(
            x,
            params["weight"],
            params.get("bias"),
            stride=w.stride,
            padding=pad,
            dilation=w.dilation,
        )
    if layer.op in ("maxpool", "avgpool"):
        pool = MaxPool2d if layer.op == "maxpool" else AvgPool2d
        return pool(w.kernel, w.stride, padding=_pairs(pad)).forward(x)[0]
    if isinstance(layer.module, Dropout):  # inference: the identity
        return x
    return layer.module.forward(x)[0]


@dataclass
class Net:
    """The numbers a CNN replay runs: the stack's layers, one parameter dict per layer, and the
    same layers as a :class:`~clustersim.nn.Sequential` in inference mode (``reference``:
    :mod:`clustersim.nn`'s own arithmetic, which :meth:`whole` matches within rounding)."""

    layers: list[LayerGeom]
    params: list[dict[str, np.ndarray]]
    reference: Sequential
    dtype: Any

    @classmethod
    def twin(
        cls, stack: Stack, width: int, rng: np.random.Generator, dtype: Any = np.float32
    ) -> Net:
        """The stack with at most ``width`` channels per layer (the input's channels too),
        He-normal weights and N(0, 0.1²) biases (so that the bias is exercised) drawn from
        ``rng``; windows unchanged."""
        modules: list[Module] = []
        params: list[dict[str, np.ndarray]] = []
        channels = min(stack.input_shape[0], width)
        for layer in stack.layers:
            if layer.op == "conv":
                c_out = min(layer.out_shape[0], width)
                w = layer.window
                conv = Conv2d(
                    channels,
                    c_out,
                    w.kernel,
                    stride=w.stride,
                    padding=(w.padding[:2], w.padding[2:]),
                    dilation=w.dilation,
                    rng=rng,
                    dtype=dtype,
                )
                conv.bias = (0.1 * rng.standard_normal(c_out)).astype(dtype)
                modules.append(conv)
                params.append(conv.parameters())
                channels = c_out
            else:
                modules.append(layer.module)
                params.append({})
        return cls(list(stack.layers), params, Sequential(modules).eval(), np.dtype(dtype))

    @classmethod
    def of_model(cls, stack: Stack) -> Net:
        """The model's own spatial layers and weights (a trained model)."""
        reference = stack.model.slice(0, len(stack.layers))
        reference.eval()
        params = [layer.module.parameters() for layer in stack.layers]
        dtype = next((p["weight"].dtype for p in params if "weight" in p), np.float32)
        return cls(list(stack.layers), params, reference, np.dtype(dtype))

    @property
    def in_channels(self) -> int:
        first = next(p for p in self.params if "weight" in p)
        return int(first["weight"].shape[1])

    def input(self, rng: np.random.Generator, batch: int = 1) -> np.ndarray:
        """A random input image batch of the stack's size."""
        _, h, w = self.layers[0].in_shape
        return rng.standard_normal((batch, self.in_channels, h, w)).astype(self.dtype)

    def whole(self, x: np.ndarray) -> np.ndarray:
        """The unpartitioned spatial stack on ``x``, every layer padded as the model pads it,
        with the fixed-order convolution of :func:`conv2d_direct` (what a tile computes)."""
        for layer, params in zip(self.layers, self.params, strict=True):
            x = apply_layer(layer, params, x, layer.window.padding)
        return x


def assemble(pieces: Sequence[Piece], want: Rect) -> np.ndarray:
    """The ``want`` rectangle filled from ``pieces``; every pixel must be covered."""
    first = pieces[0][1]
    out = np.empty((first.shape[0], first.shape[1], want.rows, want.cols), dtype=first.dtype)
    covered = np.zeros((want.rows, want.cols), dtype=bool)
    for rect, values in pieces:
        part = rect.intersect(want)
        if part.empty:
            continue
        rows, cols = part.within(want)
        out[:, :, rows, cols] = values[(slice(None), slice(None), *part.within(rect))]
        covered[rows, cols] = True
    if not covered.all():
        raise ValueError(f"{int((~covered).sum())} pixels of {want} arrived from no tile")
    return out


def run_steps(net: Net, indices: Sequence[int], steps: Steps, held: Piece) -> np.ndarray:
    """A tile through the layers ``indices`` of ``net``: each layer reads ``steps.reads`` from
    what the tile holds and computes ``steps.regions``, padded only on real edges."""
    rect, values = held
    for k, read, region, pad in zip(indices, steps.reads, steps.regions, steps.pads, strict=True):
        x = values[(slice(None), slice(None), *read.within(rect))]
        values = apply_layer(net.layers[k], net.params[k], x, pad)
        if values.shape[2:] != (region.rows, region.cols):
            raise ValueError(f"layer {k} made {values.shape[2:]} pixels, expected {region}")
        rect = region
    return values


def _err(reference: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    """(max |difference|, max |reference|)."""
    return float(np.abs(reference - got).max()), float(np.abs(reference).max())


# ------------------------------------------------------------------------------ spatial
class SpatialReplay:
    """Halo exchange (staged) or fused tiles (independent), checked against the whole stack.

    Args:
        net: the numbers.
        x: the input ``(N, C, H, W)``, held by the central node.
        groups: the fused groups (staged), or None for independent fused tiles.
        tiles: the independent fused tiles' steps (with ``groups=None``).
    """

    def __init__(
        self,
        net: Net,
        x: np.ndarray,
        groups: Sequence[Group] | None = None,
        tiles: Sequence[Steps] | None = None,
    ) -> None:
        self.net, self.x = net, x
        self.groups, self.tiles = groups, tiles
        self.stitched: np.ndarray | None = None

    def _input(self, rect: Rect) -> Piece:
        return rect, self.x[(slice(None), slice(None), *rect.within(self._whole_input()))]

    def _whole_input(self) -> Rect:
        return Rect(0, self.x.shape[2], 0, self.x.shape[3])

    # staged protocol
    def scatter(self, i: int) -> Piece:
        assert self.groups is not None
        return self._input(self.groups[0].steps[i].needed)

    def begin(self, i: int, payload: Piece) -> Piece:
        return payload

    def stage(self, i: int, s: int, state: Piece, received: Sequence[Piece]) -> Piece:
        assert self.groups is not None
        group = self.groups[s]
        steps = group.steps[i]
        held = (steps.needed, assemble([state, *received], steps.needed))
        return steps.out, run_steps(self.net, group.layers, steps, held)

    def send(self, i: int, j: int, s: int, state: Piece) -> Piece:
        assert self.groups is not None
        rect = self.groups[s + 1].halos[(i, j)]
        return rect, state[1][(slice(None), slice(None), *rect.within(state[0]))]

    def result(self, i: int, state: Piece) -> Piece:
        return state

    # tile protocol
    def tile_input(self, t: int) -> Piece:
        assert self.tiles is not None
        return self._input(self.tiles[t].needed)

    def compute(self, t: int, payload: Piece) -> Piece:
        assert self.tiles is not None
        steps = self.tiles[t]
        indices = range(len(self.net.layers))
        return steps.out, run_steps(self.net, indices, steps, payload)

    def finish(self, results: Sequence[Piece]) -> None:
        self.stitched = assemble(list(results), _out_rect(self.net))

    def check(self) -> dict[str, Any]:
        """``spatial_equals_whole``: the stitched map against the whole stack, exactly."""
        if self.stitched is None:
            return check(False, reason="no result came back")
        reference = self.net.whole(self.x)
        err, scale = _err(reference, self.stitched)
        return check(err == 0.0, max_abs_err=err, max_abs=scale, tolerance=0.0)

    def errors(self) -> dict[str, float]:
        """``max_abs_err`` (and relative to the largest output) of the stitched map."""
        return _errors(self.net.whole(self.x), self.stitched)


def _out_rect(net: Net) -> Rect:
    _, h, w = net.layers[-1].out_shape
    return Rect(0, h, 0, w)


def _errors(reference: np.ndarray, got: np.ndarray | None) -> dict[str, float]:
    if got is None:
        return {}
    err, scale = _err(reference, got)
    return {"max_abs_err": err, "max_rel_err": err / scale if scale else 0.0}


# --------------------------------------------------------------------------------- FDSP
class FdspReplay:
    """ADCNN's FDSP tiles: each tile is run through the stack as a whole image (the layers' own
    zero padding at the tile's edges), the outputs stitched.

    Args:
        net: the numbers.
        x: the input ``(N, C, H, W)``.
        layout: the tiles.
    """

    def __init__(self, net: Net, x: np.ndarray, layout: FdspLayout) -> None:
        self.net, self.x, self.layout = net, x, layout
        self.stitched: np.ndarray | None = None

    def tile_input(self, t: int) -> np.ndarray:
        rect = self.layout.tiles[t].rect
        return self.x[:, :, rect.r0 : rect.r1, rect.c0 : rect.c1]

    def compute(self, t: int, payload: np.ndarray) -> Piece:
        return self.layout.tiles[t].out, self.net.whole(payload)

    def finish(self, results: Sequence[Piece]) -> None:
        self.stitched = assemble(list(results), _out_rect(self.net))

    def check(self) -> dict[str, Any]:
        """``fdsp_interior_equals_whole``: exact agreement where no receptive field touches an
        artificial tile edge (the rest differs: see :meth:`errors`)."""
        if self.stitched is None:
            return check(False, reason="no result came back")
        inside = fdsp_interior(self.net.layers, self.layout)
        reference = self.net.whole(self.x)
        diff = np.abs(reference - self.stitched)[:, :, inside]
        err = float(diff.max()) if diff.size else 0.0
        return check(err == 0.0, interior_pixels=int(inside.sum()), max_abs_err_interior=err)

    def errors(self) -> dict[str, float]:
        """How far FDSP's stitched map is from the whole model's: ``max_abs_err``,
        ``max_rel_err`` and ``changed_fraction`` of the output values."""
        reference = self.net.whole(self.x)
        out = _errors(reference, self.stitched)
        if self.stitched is not None:
            out["changed_fraction"] = float(np.mean(reference != self.stitched))
        return out


# ------------------------------------------------------------------------------ channel
def _conv(
    layer: LayerGeom, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None
) -> np.ndarray:
    """``layer``'s convolution of the whole map ``x`` with ``weight`` (possibly a slice of
    its input channels) and ``bias``."""
    w = layer.window
    return conv2d_direct(x, weight, bias, stride=w.stride, padding=w.padding, dilation=w.dilation)


def higham_bound(terms: int, magnitude: np.ndarray, unit_roundoff: float) -> np.ndarray:
    """Twice ``γ_n · Σ|terms|`` (Higham 2002, eq. 3.5): how far two summation orders of the
    same ``terms`` terms, whose absolute values add up to ``magnitude``, can land apart."""
    nu = terms * unit_roundoff
    return 2.0 * nu / (1.0 - nu) * magnitude


class ChannelReplay:
    """The channel-wise partition in float64: worker ``i`` holds channels ``held[i]`` of each
    map, computes partial sums of every output channel with its filter slices, receives the
    partial sums of its own output channels from the others and adds them up (source order).

    Every convolution is checked against the whole convolution of the same (stitched) input.
    """

    def __init__(self, net: Net, x: np.ndarray, workers: int) -> None:
        self.net, self.x, self.m = net, x, workers
        self.conv_at = [k for k, g in enumerate(net.layers) if g.op == "conv"]
        self.slices = [channel_slices(x.shape[1], workers)]
        for k in self.conv_at:
            self.slices.append(channel_slices(net.params[k]["weight"].shape[0], workers))
        self.inputs: dict[tuple[int, int], np.ndarray] = {}  # (conv n, worker) -> its input
        self.reduced: dict[tuple[int, int], np.ndarray] = {}  # (conv n, worker) -> its output
        self.stitched: np.ndarray | None = None

    def _local(self, x: np.ndarray, start: int, stop: int) -> np.ndarray:
        for k in range(start, stop):
            x = apply_layer(
                self.net.layers[k], self.net.params[k], x, self.net.layers[k].window.padding
            )
        return x

    def scatter(self, i: int) -> np.ndarray | None:
        a, b = self.slices[0][i]
        return self.x[:, a:b] if b > a else None

    def begin(self, i: int, payload: np.ndarray | None) -> dict[str, Any]:
        x = payload if payload is not None else self.x[:, :0]
        return {"x": self._local(x, 0, self.conv_at[0])}

    def stage(
        self, i: int, s: int, state: dict[str, Any], received: Sequence[Any]
    ) -> dict[str, Any]:
        net = self.net
        if s > 0:
            k = self.conv_at[s - 1]
            a, b = self.slices[s][i]
            own = [(i, state["partial"][:, a:b])] if "partial" in state else []
            parts = sorted([*received, *own], key=lambda r: r[0])  # add in source order
            total = parts[0][1].copy()
            for _, part in parts[1:]:
                total += part
            bias = net.params[k].get("bias")
            y = total + bias[a:b, None, None] if bias is not None else total
            self.reduced[(s - 1, i)] = y
            stop = self.conv_at[s] if s < len(self.conv_at) else len(net.layers)
            state = {"x": self._local(y, k + 1, stop)}
        if s < len(self.conv_at):
            k = self.conv_at[s]
            x = state["x"]
            self.inputs[(s, i)] = x
            if x.shape[1]:
                a, b = self.slices[s][i]
                w = net.params[k]["weight"][:, a:b]
                state["partial"] = _conv(net.layers[k], x, w, None)
        return state

    def send(self, i: int, j: int, s: int, state: dict[str, Any]) -> tuple[int, np.ndarray]:
        a, b = self.slices[s + 1][j]
        return i, state["partial"][:, a:b]

    def result(self, i: int, state: dict[str, Any]) -> tuple[int, np.ndarray]:
        return i, state["x"]

    def finish(self, results: Sequence[tuple[int, np.ndarray]]) -> None:
        self.stitched = np.concatenate([x for _, x in sorted(results, key=lambda r: r[0])], axis=1)

    def check(self) -> dict[str, Any]:
        """``channel_equals_whole``: each convolution's reduced output against the whole
        convolution of the same input, within twice Higham's bound."""
        if self.stitched is None or len(self.reduced) < len(self.conv_at) * self.m:
            return check(False, reason="a partial sum never arrived")
        worst, ratio = 0.0, 0.0
        u = float(np.finfo(self.net.dtype).eps) / 2
        for n, k in enumerate(self.conv_at):
            layer, p = self.net.layers[k], self.net.params[k]
            x = np.concatenate([self.inputs[(n, i)] for i in range(self.m)], axis=1)
            got = np.concatenate([self.reduced[(n, i)] for i in range(self.m)], axis=1)
            ref = _conv(layer, x, p["weight"], p.get("bias"))
            bias = p.get("bias")
            mag = _conv(
                layer, np.abs(x), np.abs(p["weight"]), None if bias is None else np.abs(bias)
            )
            c, kh, kw = p["weight"].shape[1:]
            bound = higham_bound(c * kh * kw + self.m + 1, mag, u)
            diff = np.abs(ref - got)
            worst = max(worst, float(diff.max()))
            tiny = np.finfo(self.net.dtype).tiny  # a nonzero difference where the bound is 0 fails
            ratio = max(ratio, float((diff / np.maximum(bound, tiny)).max()))
        return check(
            ratio <= 1.0,
            max_abs_err=worst,
            worst_fraction_of_bound=ratio,
            convolutions=len(self.conv_at),
        )

    def errors(self) -> dict[str, float]:
        return _errors(self.net.whole(self.x), self.stitched)


# ---------------------------------------------------------------------------- attention
class AttentionReplay:
    """Head-wise or sequence attention at a small size, in float64, against the whole layer
    (:func:`clustersim.training.tensor_parallel.kernels.attention_forward`).

    The replayed layer keeps the heads and the worker count and shrinks the rest (one
    sequence, ``4·M`` tokens, 4 features per head): how the matrices split does not depend on
    their sizes. Head-wise, worker ``i`` projects its heads' columns of ``W_Q, W_K, W_V`` and
    runs their attention; the central node concatenates the heads and applies ``W_O``. Along
    the sequence, worker ``i`` projects its tokens, receives every other worker's keys and
    values, and runs its queries against all of them, ``W_O`` included.
    """

    def __init__(
        self,
        shape: AttentionShape,
        workers: int,
        partition: str,
        replicated: bool,
        rng: np.random.Generator,
    ) -> None:
        self.m, self.partition, self.replicated = workers, partition, replicated
        self.heads = shape.heads
        e = 4 * shape.heads
        self.tokens = 4 * workers
        self.x = rng.standard_normal((1, self.tokens, e))
        scale = 1.0 / math.sqrt(e)
        self.wq, self.wk, self.wv, self.wo = (rng.standard_normal((e, e)) * scale for _ in "qkvo")
        self.y: np.ndarray | None = None

    def _cols(self, i: int) -> slice:
        d = self.wq.shape[1] // self.m
        return slice(i * d, (i + 1) * d)

    def _rows(self, i: int) -> slice:
        n = self.tokens // self.m
        return slice(i * n, (i + 1) * n)

    def _share(self, i: int) -> np.ndarray:
        return self.x if self.partition == "head" else self.x[:, self._rows(i)]

    def scatter(self, i: int) -> np.ndarray | None:
        return None if self.replicated else self._share(i)

    def begin(self, i: int, payload: np.ndarray | None) -> dict[str, Any]:
        return {"x": self._share(i) if payload is None else payload}

    def stage(
        self, i: int, s: int, state: dict[str, Any], received: Sequence[Any]
    ) -> dict[str, Any]:
        x = state["x"]
        if self.partition == "head":
            c = self._cols(i)
            q, k, v = x @ self.wq[:, c], x @ self.wk[:, c], x @ self.wv[:, c]
            state["o"] = core_forward(q, k, v, self.heads // self.m)[0]
        elif s == 0:
            state.update(q=x @ self.wq, k=x @ self.wk, v=x @ self.wv)
        else:
            parts = sorted([*received, (i, state["k"], state["v"])], key=lambda r: r[0])
            keys = np.concatenate([p[1] for p in parts], axis=1)
            values = np.concatenate([p[2] for p in parts], axis=1)
            state["o"] = core_forward(state["q"], keys, values, self.heads)[0] @ self.wo
        return state

    def send(self, i: int, j: int, s: int, state: dict[str, Any]) -> tuple[int, Any, Any]:
        return i, state["k"], state["v"]

    def result(self, i: int, state: dict[str, Any]) -> tuple[int, np.ndarray]:
        return i, state["o"]

    def finish(self, results: Sequence[tuple[int, np.ndarray]]) -> None:
        ordered = [o for _, o in sorted(results, key=lambda r: r[0])]
        if self.partition == "head":
            self.y = np.concatenate(ordered, axis=-1) @ self.wo  # the central node's W_O
        else:
            self.y = np.concatenate(ordered, axis=1)

    def _reference(self) -> np.ndarray:
        return attention_forward(self.x, self.wq, self.wk, self.wv, self.wo, self.heads)[0]

    def check(self) -> dict[str, Any]:
        """``attention_equals_whole``: within ``16·(E + L)`` roundings of the largest output
        (the two differ only in how BLAS orders dot products of at most ``E`` or ``L``
        terms)."""
        if self.y is None:
            return check(False, reason="no result came back")
        err, scale = _err(self._reference(), self.y)
        tolerance = 16 * (self.x.shape[-1] + self.tokens) * float(np.finfo(float).eps) * scale
        return check(err <= tolerance, max_abs_err=err, tolerance=tolerance)

    def errors(self) -> dict[str, float]:
        return _errors(self._reference(), self.y)


# ------------------------------------------------------------------------------ drivers
def drive_staged(replay: Any, work: StagedWork) -> None:
    """Run a staged replay without a simulation: every planned flow delivered at once, in
    stage order."""
    m = work.workers
    states = [replay.begin(i, replay.scatter(i) if work.scatter[i] > 0 else None) for i in range(m)]
    received: list[list[Any]] = [[] for _ in range(m)]
    for s, stage in enumerate(work.stages):
        states = [replay.stage(i, s, states[i], received[i]) for i in range(m)]
        received = [[] for _ in range(m)]
        for i, j in zip(*np.nonzero(stage.exchange), strict=True):
            received[int(j)].append(replay.send(int(i), int(j), s, states[int(i)]))
    replay.finish([replay.result(i, states[i]) for i in range(m) if work.gather[i] > 0])


def drive_tiles(replay: Any, work: TileWork) -> None:
    """Run a tile replay without a simulation: every tile in order."""
    replay.finish([replay.compute(t, replay.tile_input(t)) for t in range(work.tiles)])
