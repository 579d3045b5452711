"""split_equals_unsplit: the split run's output is the whole model's, bit for bit, at every
split point, and what crosses the wire is the profile's activation size."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.inference.split.kernels import run_split, tiled_parameters
from clustersim.nn import alexnet, profile, small_cnn, vgg16
from clustersim.training.data_parallel.blas import single_threaded_blas


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_split_of_a_small_cnn(dtype: type) -> None:
    model = small_cnn((3, 16, 16), 10, rng=np.random.default_rng(0), dtype=dtype).eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16)).astype(dtype)
    records = profile(model, (3, 16, 16), np.dtype(dtype))
    params = model.parameters()
    for k in range(len(model) + 1):
        run = run_split(model, x, k, params)
        assert run.equal, k
        expected = records[0].input_bytes if k == 0 else records[k - 1].output_bytes
        assert run.sent_bytes == expected


@pytest.mark.parametrize(("build", "size", "split"), [(vgg16, 32, 17), (alexnet, 64, 13)])
def test_imagenet_models_at_a_small_size(build, size: int, split: int) -> None:
    model = build(image_size=size, classes=10).eval()
    params = tiled_parameters(model, np.random.default_rng(2), np.dtype(np.float32))
    x = np.random.default_rng(3).standard_normal((1, 3, size, size)).astype(np.float32)
    with single_threaded_blas():
        run = run_split(model, x, split, params)
    assert run.equal
    assert np.isfinite(run.whole_output).all() and np.abs(run.whole_output).max() > 0


def test_a_lossy_wire_would_be_caught() -> None:
    """Negative control: half precision on the wire changes the answer."""
    model = small_cnn((1, 16, 16), 10, rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(1).standard_normal((1, 1, 16, 16)).astype(np.float32)
    params = model.parameters()
    half = model.slice(0, 3).forward(x, params)[0].astype(np.float16).astype(np.float32)
    lossy = model.slice(3, len(model)).forward(half, params)[0]
    assert not np.array_equal(lossy, run_split(model, x, 3, params).whole_output)
