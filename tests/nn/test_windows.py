"""The window view and its adjoint: scatter_windows is the transpose of window_view."""

from __future__ import annotations

import numpy as np
import pytest

from clustersim.errors import InputError
from clustersim.nn.windows import output_size, pad, padding4, scatter_windows, unpad, window_view


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation"), [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 2))]
)
def test_scatter_is_the_adjoint_of_the_view(kernel, stride, dilation) -> None:
    # <view(x), g> = <x, scatter(g)> for every x and g: col2im is im2col transposed.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8))
    view = window_view(x, kernel, stride, dilation)
    g = rng.standard_normal(view.shape)
    back = scatter_windows(g, x.shape, stride, dilation)
    assert float((view * g).sum()) == pytest.approx(float((x * back).sum()), rel=1e-12)
    ho, wo = output_size((9, 8), kernel, stride, (0, 0, 0, 0), dilation)
    assert view.shape == (2, 3, ho, wo, *kernel)
    assert not view.flags.writeable  # a view of x, never a copy that could drift from it


def test_padding_forms_and_round_trip() -> None:
    assert padding4(1) == (1, 1, 1, 1)
    assert padding4((1, 2)) == (1, 1, 2, 2)
    assert padding4(((0, 3), (1, 2))) == (0, 3, 1, 2)
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    padded = pad(x, (0, 3, 1, 2), value=-1.0)
    assert padded.shape == (1, 1, 6, 7) and padded[0, 0, 5, 6] == -1.0
    np.testing.assert_array_equal(unpad(padded, (0, 3, 1, 2)), x)
    with pytest.raises(InputError, match="padding must be an int"):
        padding4((1, 2, 3))


def test_output_size_formula() -> None:
    # floor((H + pads - d·(k - 1) - 1) / s) + 1 (PyTorch's Conv2d documentation).
    assert output_size((224, 224), (11, 11), (4, 4), (2, 2, 2, 2)) == (55, 55)
    assert output_size((7, 7), (3, 3), (2, 2), (0, 0, 0, 0), (2, 2)) == (2, 2)
    assert output_size((5, 6), (5, 6), (1, 1), (0, 0, 0, 0)) == (1, 1)  # an exact fit
