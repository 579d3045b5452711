"""Bad DDNN input is exit 2 with a message naming the field."""

from __future__ import annotations

import pytest

from clustersim.errors import InputError
from clustersim.scenario.runner import check_scenario
from tests.inference.early_exit.ddnn.helpers import scenario


@pytest.mark.parametrize(
    ("workload", "text"),
    [
        ({"failed": ["dev9"]}, "workload.failed.0: end device 'dev9'"),
        ({"failed": ["dev0", "dev1", "dev2", "dev3"]}, "every end device failed"),
        ({"thresholds": {"local": 1.5}}, "workload.thresholds.local"),
        ({"thresholds": {"local": -0.1}}, "normalized entropy threshold in"),
        ({"aggregator": "dev0"}, "workload.aggregator: 'dev0' is also one of workload.devices"),
        ({"devices": ["dev0", "devX"]}, "workload.devices: 'devX' is not a device"),
        ({"local_aggregation": "sum"}, "workload.local_aggregation"),
        ({"device_filters": 0}, "workload.device_filters"),
        ({"data": {"train_samples": 0}}, "workload.data.train_samples"),
        ({"edge_exit": True, "data": {"image_size": 4}}, "cannot be pooled 3 times"),
        ({"sweep": [0.5, 2.0]}, "workload.sweep"),
    ],
)
def test_validate_finds(workload: dict, text: str) -> None:
    with pytest.raises(InputError, match=text):
        check_scenario(scenario(**workload))
