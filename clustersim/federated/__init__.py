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
* ``plan.py``: the plan ``prepare`` hands ``simulate`` and ``analytic``;
* ``heterofl.py``: HeteroFL's width-sliced sub-models, their positions in the global model and
  the rates from device capability (``algorithm: heterofl``);
* ``cmfl.py``: CMFL's relevance of an update to the last global update and its threshold
  (``algorithm: cmfl``).

Two more kinds live in subpackages, each with the five files of a kind: ``fedmarl/`` (the kind
``fedmarl``: per-client agents trained over simulated federated episodes to choose who takes
part) and ``leakage/`` (the kind ``leakage``: the analytic and DLG attacks on what a client
transmits, and the defences). They are kinds of their own because their runs are not one
federated run: FedMARL trains over many episodes and compares policies on shared seeds, and the
leakage kind attacks single transmissions and prices defences by their own FedSGD runs.

Aggregation rules, selection rules and local objectives are small functions in tables
(:data:`~clustersim.federated.aggregation.AGGREGATORS`,
:data:`~clustersim.federated.selection.SELECTORS`,
:data:`~clustersim.federated.kernels.OBJECTIVES`) so that later algorithms plug in beside them.
"""
