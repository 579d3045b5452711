"""Tiny numpy neural networks with explicit forward and backward passes, for numerical replays.

The simulator never trains anything big; it replays small models to prove that a distributed
algorithm computes what the single-device algorithm computes (a pipeline's accumulated
micro-batch gradient equals the full-batch gradient, a tensor-parallel layer equals the dense
one, data-parallel replicas stay in step). The layers are therefore written for clarity and for
exact control over *which* weights a pass uses:

* ``forward(x, params=None) -> (y, cache)`` returns the output and whatever the backward pass
  needs (never the weights themselves);
* ``backward(grad_y, cache, params=None) -> (grad_x, grads)`` takes the weights explicitly, so
  a caller can run the backward pass with stashed weights (PipeDream's weight stashing) or,
  deliberately, with the wrong ones (a negative control).

``params=None`` means the module's own live parameters. Parameters are plain ``dict[str,
ndarray]``; a :class:`Sequential` names its children's parameters ``"<index>.<name>"``.
"""

from clustersim.nn.gradcheck import numerical_gradient
from clustersim.nn.layers import GELU, Linear, Module, ReLU, Sequential
from clustersim.nn.losses import softmax_cross_entropy
from clustersim.nn.models import mlp
from clustersim.nn.optim import SGD

__all__ = [
    "GELU",
    "SGD",
    "Linear",
    "Module",
    "ReLU",
    "Sequential",
    "mlp",
    "numerical_gradient",
    "softmax_cross_entropy",
]
