"""Federated learning (docs/architecture.md §2): a domain package, the kind ``federated``.

The package has the files of every kind (docs/architecture.md §8): ``params.py`` (the
``workload`` model), ``kernels.py`` (local SGD of a round's clients, the local objectives),
``process.py`` (the server's and the clients' SimPy processes), ``costs.py`` (the closed forms)
and ``kind.py`` (``prepare``, ``simulate``, ``analytic``, ``KIND``), plus what federated
learning needs besides:

* ``models.py``: the models clients train (logistic regression, MLPs, a small CNN, all
  ``clustersim.nn``), their flat parameter layout and their layer profile;
* ``datasets.py``: FedProx's synthetic(α, β), image-like data, Gaussian blobs, from the seed;
* ``partition.py``: IID, McMahan's shards, Zhao's 1- and 2-class, Hsu's Dirichlet, quantity
  skew;
* ``aggregation.py``: the server's rules (FedAvg's weighted mean, the plain mean);
* ``selection.py``: client selection (uniform, by data size) and FedProx's stragglers;
* ``channel.py``: packet-loss retransmissions and bit errors;
* ``trainer.py``: the numpy side of a run, round by round, and the checks;
* ``plan.py``: the plan ``prepare`` hands ``simulate`` and ``analytic``.

Aggregation rules, selection rules and local objectives are small functions in tables
(:data:`~clustersim.federated.aggregation.AGGREGATORS`,
:data:`~clustersim.federated.selection.SELECTORS`,
:data:`~clustersim.federated.kernels.OBJECTIVES`) so that later algorithms plug in beside them.
"""
