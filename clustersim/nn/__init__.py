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

Convolutional networks (NCHW) are built from :class:`Conv2d`, :class:`MaxPool2d`,
:class:`AvgPool2d`, :class:`Flatten`, :class:`ReLU` and :class:`Dropout` (off after
``model.eval()``). Every layer also describes its cost from shapes alone, so
:func:`profile` gives a model's per-layer FLOPs, parameter bytes and activation bytes from its
definition (:func:`vgg16` and :func:`alexnet` build ImageNet models with lazily drawn weights
for that); :func:`small_cnn` and :func:`train_classifier` train in seconds on a CPU.
"""

from clustersim.nn.cnns import alexnet, small_cnn, vgg16
from clustersim.nn.conv import Conv2d, conv2d
from clustersim.nn.gradcheck import numerical_gradient
from clustersim.nn.layers import GELU, Dropout, Flatten, Linear, Module, ReLU, Sequential
from clustersim.nn.losses import softmax, softmax_cross_entropy
from clustersim.nn.models import mlp
from clustersim.nn.optim import SGD
from clustersim.nn.pool import AvgPool2d, MaxPool2d
from clustersim.nn.profile import LayerCost, profile
from clustersim.nn.train import accuracy, predict_proba, train_classifier

__all__ = [
    "GELU",
    "SGD",
    "AvgPool2d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "LayerCost",
    "Linear",
    "MaxPool2d",
    "Module",
    "ReLU",
    "Sequential",
    "accuracy",
    "alexnet",
    "conv2d",
    "mlp",
    "numerical_gradient",
    "predict_proba",
    "profile",
    "small_cnn",
    "softmax",
    "softmax_cross_entropy",
    "train_classifier",
    "vgg16",
]
