"""Gradient leakage (docs/architecture.md §2): the kind ``leakage``.

What a federated client transmits can give its data away (the lecture notes' privacy problem).
The package has the files of every kind (docs/architecture.md §8): ``params.py``,
``kernels.py`` (the MLP, its gradient, DLG's matching loss with its hand-written gradient, the
analytic recovery), ``process.py`` (the victim's uploads and the attacker's work on the
simulated clock), ``costs.py`` (payload bytes, FLOPs) and ``kind.py``; besides them ``plan.py``
(the plan the process and the kind share),
``lbfgs.py`` (the optimiser DLG uses), ``attack.py`` (the attacks and their scores),
``defences.py`` (what a client sends instead of its exact gradient) and ``utility.py`` (the
accuracy a defence costs).
"""
