"""ADCNN's FDSP: tiles zero-padded at their own edges. Exact where no receptive field leaves
its tile, different near the borders, and a model that can be fine-tuned under the padding
(its gradients against finite differences)."""

from __future__ import annotations

import numpy as np

from clustersim.inference.partition.fdsp import FdspModel
from clustersim.inference.partition.kernels import FdspReplay, Net, drive_tiles
from clustersim.inference.partition.stack import spatial_stack
from clustersim.inference.partition.tiles import fdsp_tiles
from clustersim.inference.partition.work import fdsp_work
from clustersim.nn import numerical_gradient, small_cnn, softmax_cross_entropy

SHAPE = (1, 16, 16)


def _model(dtype=np.float64):
    model = small_cnn(SHAPE, 5, channels=(3, 4), rng=np.random.default_rng(0), dtype=dtype)
    rng = np.random.default_rng(1)
    for name, p in model.parameters().items():
        if name.endswith("bias"):
            p[:] = rng.standard_normal(p.shape) * 0.1
    return model


def _replay(grid):
    model = _model()
    stack = spatial_stack(model, SHAPE, "float64")
    layout = fdsp_tiles(stack, grid, [1] * grid[0], [1] * grid[1])
    x = np.random.default_rng(2).standard_normal((3, *SHAPE))
    replay = FdspReplay(Net.of_model(stack), x, layout)
    drive_tiles(replay, fdsp_work(stack, layout, None))
    return replay, model, stack, layout, x


def test_fdsp_is_exact_in_the_interior_and_not_at_the_borders() -> None:
    replay, *_ = _replay((2, 2))
    result = replay.check()
    assert result["passed"] and result["interior_pixels"] == 4
    errors = replay.errors()
    assert errors["max_rel_err"] > 0.05 and 0 < errors["changed_fraction"] < 1


def test_one_tile_is_the_whole_model() -> None:
    replay, *_ = _replay((1, 1))
    assert replay.errors()["max_abs_err"] == 0.0


def test_fdsp_model_computes_what_the_conv_nodes_and_the_central_node_do() -> None:
    replay, model, stack, layout, x = _replay((2, 2))
    head = model.slice(len(stack.layers), len(model))
    logits = FdspModel(model, len(stack.layers), layout)(x)
    np.testing.assert_allclose(logits, head(replay.stitched), rtol=1e-10, atol=1e-12)
    assert np.abs(logits - model(x)).max() > 1e-3  # not the whole model's logits


def test_fdsp_model_gradients_match_finite_differences() -> None:
    model = _model()
    stack = spatial_stack(model, SHAPE, "float64")
    layout = fdsp_tiles(stack, (2, 2), [1, 1], [1, 1])
    fdsp = FdspModel(model, len(stack.layers), layout)
    x = np.random.default_rng(3).standard_normal((1, *SHAPE))
    y = np.array([4])

    def loss() -> float:
        return float(softmax_cross_entropy(fdsp(x), y)[0])

    logits, cache = fdsp.forward(x)
    _, grad = softmax_cross_entropy(logits, y)
    grad_x, grads = fdsp.backward(grad, cache)
    params = model.parameters()
    for name in ("0.weight", "0.bias", "3.bias", "7.weight"):
        np.testing.assert_allclose(
            grads[name], numerical_gradient(loss, params[name]), rtol=1e-6, atol=1e-9
        )
    np.testing.assert_allclose(grad_x, numerical_gradient(loss, x), rtol=1e-6, atol=1e-9)
