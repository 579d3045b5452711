"""A CNN evaluated and trained under FDSP padding (ADCNN's fully decomposable partition).

:class:`FdspModel` runs a model's spatial layers on every tile of an
:class:`~clustersim.inference.partition.tiles.FdspLayout` separately, each tile padded with
zeros at its own edges as if it were the whole image, stitches the tile outputs into the last
feature map and runs the head on it: exactly what the conv nodes and the central node of ADCNN
compute (Zhang, Lin & Zhang, ICPP 2020, §3). It is a :class:`~clustersim.nn.layers.Module` with
the model's own parameters (same names, same arrays), so
:func:`~clustersim.nn.train_classifier` fine-tunes the model under the padding it will see,
the retraining ADCNN does, and :func:`~clustersim.nn.predict_proba` measures its accuracy.
Tiles of equal size run as one batch (the batch dimension holds every such tile of every
image), so a 4×4 grid costs one pass, not sixteen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clustersim.inference.partition.tiles import FdspLayout, Rect
from clustersim.nn.layers import Module, Params, Sequential, Shape

__all__ = ["FdspModel"]


class FdspModel(Module):
    """``model`` (a flat Sequential) with its first ``spatial`` layers run tile by tile.

    Args:
        model: the CNN; its parameters are shared, not copied.
        spatial: how many leading layers are the spatial stack (the rest is the head).
        layout: the FDSP tiles.
    """

    def __init__(self, model: Sequential, spatial: int, layout: FdspLayout) -> None:
        self.model = model
        self.features = model.slice(0, spatial)
        self.head = model.slice(spatial, len(model))
        self.layout = layout

    def __repr__(self) -> str:
        return f"FdspModel({len(self.layout.tiles)} tiles, {len(self.model)} layers)"

    def parameters(self) -> Params:
        return self.model.parameters()

    def parameter_shapes(self) -> dict[str, Shape]:
        return self.model.parameter_shapes()

    def named_children(self) -> list[tuple[str, Module]]:
        return self.model.named_children()

    def _groups(self) -> list[list[int]]:
        """Tiles of equal size, together: each group runs as one batch of tiles."""
        groups: dict[tuple[int, int], list[int]] = {}
        for t, tile in enumerate(self.layout.tiles):
            groups.setdefault((tile.rect.rows, tile.rect.cols), []).append(t)
        return list(groups.values())

    def forward(self, x: np.ndarray, params: Params | None = None) -> tuple[np.ndarray, Any]:
        tiles = self.layout.tiles
        n = x.shape[0]
        caches = []
        maps: np.ndarray | None = None
        for group in self._groups():
            batch = np.concatenate(
                [x[(slice(None), slice(None), *_rect(tiles[t].rect))] for t in group]
            )
            y, cache = self.features.forward(batch, params)
            if maps is None:
                h, w = tiles[-1].out.r1, tiles[-1].out.c1
                maps = np.empty((n, y.shape[1], h, w), dtype=y.dtype)
            for k, t in enumerate(group):
                maps[(slice(None), slice(None), *_rect(tiles[t].out))] = y[k * n : (k + 1) * n]
            caches.append(cache)
        assert maps is not None
        out, head_cache = self.head.forward(maps, params)
        return out, (caches, head_cache, x.shape)

    def backward(
        self, grad_y: np.ndarray, cache: Any, params: Params | None = None
    ) -> tuple[np.ndarray, Params]:
        caches, head_cache, shape = cache
        tiles = self.layout.tiles
        n = shape[0]
        grad_maps, grads = self.head.backward(grad_y, head_cache, params)
        grad_x = np.zeros(shape, dtype=grad_maps.dtype)
        for group, group_cache in zip(self._groups(), caches, strict=True):
            grad_out = np.concatenate(
                [grad_maps[(slice(None), slice(None), *_rect(tiles[t].out))] for t in group]
            )
            g, tile_grads = self.features.backward(grad_out, group_cache, params)
            for k, t in enumerate(group):
                grad_x[(slice(None), slice(None), *_rect(tiles[t].rect))] = g[k * n : (k + 1) * n]
            for name, value in tile_grads.items():  # the tiles share the weights
                grads[name] = grads[name] + value if name in grads else value
        return grad_x, grads


def _rect(rect: Rect) -> tuple[slice, slice]:
    return slice(rect.r0, rect.r1), slice(rect.c0, rect.c1)
