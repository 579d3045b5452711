"""Synthetic data sets drawn from a seed, for the numerical replays of the inference and
federated-learning kinds (numpy only; nothing is downloaded).

* :mod:`clustersim.datasets.images`: class-conditional stroke images with a per-sample
  difficulty (easy and hard samples for early exits) and a multi-camera variant (DDNN).
"""

from clustersim.datasets.images import Cameras, ImageSet, MultiViewSet, SyntheticImages

__all__ = ["Cameras", "ImageSet", "MultiViewSet", "SyntheticImages"]
