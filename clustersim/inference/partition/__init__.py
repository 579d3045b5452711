"""Distributed inference of one model over a cluster of edge devices (kind ``partition``).

The second half of the lecture notes' "distributed DNN inference": when one Raspberry Pi is too
slow, the layers themselves are split over several devices, a *central* node scattering the
input and gathering the result, the *workers* computing. Five ways to split, each trading
arithmetic for communication differently:

* ``spatial``: tiles of the feature maps (1-D strips or a 2-D grid) with halo exchange between
  neighbouring workers; fused groups of layers exchange once and recompute the overlap
  (DeepThings' fused tile partitioning); with ``sizing: speed`` and strips, MoDNN's biased
  one-dimensional partition (BODP). Exact.
* ``fdsp``: ADCNN's fully decomposable spatial partition: tiles zero-padded at their edges, no
  halo at all, tiles handed out as workers finish (adaptive) or split in advance (static). Not
  exact near tile borders; ADCNN retrains under the same padding.
* ``channel``: input channels (and the matching filter slices) split over the workers, partial
  sums of every output channel reduced between them. Exact up to rounding.
* ``head`` and ``sequence``: a transformer attention layer split by heads (the embedding
  dimension) or along the sequence, where Q·K^T needs the other workers' keys.

Files (docs/architecture.md §8): ``params.py`` (the ``workload`` model), ``stack.py`` (a CNN's
spatial layers and its head, from :func:`clustersim.nn.profile`), ``tiles.py`` (rectangles,
halos, receptive fields, FDSP tiles), ``work.py`` (the bytes and FLOPs every partition moves
and computes), ``kernels.py`` (the numerics, numpy only, replayed in step with the simulated
transfers), ``fdsp.py`` (a model evaluated and fine-tuned under FDSP padding), ``accuracy.py``
(training the small CNN, whole and under FDSP), ``process.py`` (the SimPy processes),
``costs.py`` (closed forms with citations) and ``kind.py`` (``prepare``, ``simulate``,
``analytic``, ``KIND``).
"""
