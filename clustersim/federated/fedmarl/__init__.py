"""FedMARL (docs/architecture.md §2): the kind ``fedmarl``, learning which clients take part.

One agent per client on the server, each a two-layer MLP, decides before every round whether
its client participates, trained over simulated federated episodes to maximise the lecture
notes' objective ``w1·Acc(T) - w2·Σ H_t - w3·Σ B_t``; then compared with FedAvg (everyone) and
random dropping on the same clients and seeds. The files of every kind (docs/architecture.md
§8): ``params.py``, ``kernels.py`` (the agents, REINFORCE, Adam, the reward and its terms),
``process.py`` (an episode: a federated run whose clients the policy chooses), ``costs.py``
(FedAvg's contention-free latency and bandwidth terms) and ``kind.py``.
"""
