"""Monthly cost: bin-packing, categories, hand-computed totals."""

from __future__ import annotations

import pytest

from capplan.results.cost import CostError, pack
from capplan.scenario.costs import NodeShape
from capplan_helpers import run, scenario

NODE = NodeShape(cpu=8, memory=32 * 2**30, price_per_hour=0.5)
GI = 2**30


@pytest.mark.parametrize(
    ("pods", "nodes"),
    [
        ([], 0),
        ([("a", 8, 32 * GI)], 1),  # exactly one node
        ([("a", 4, 1 * GI)] * 4, 2),
        ([("a", 5, 1 * GI)] * 3, 3),  # two never share a node
        ([("a", 1, 20 * GI)] * 3, 3),  # memory binds, not CPU
        (
            [("a", 6, GI), ("b", 2, GI), ("c", 5, GI), ("d", 3, GI)],
            2,
        ),  # decreasing order pairs them
    ],
)
def test_first_fit_decreasing(pods, nodes):
    assert pack(pods, NODE) == nodes


def test_a_pod_larger_than_a_node_is_an_error_naming_it():
    with pytest.raises(CostError, match=r"components.big.resources.requests: a pod asks 12 CPU"):
        pack([("big", 12, GI)], NODE)


def test_hand_computed_monthly_cost():
    """api: 3 pods of 2 CPU / 4Gi and db: 2 shards × 2 instances of 4 CPU / 8Gi: 22 CPU,
    packed on 8-CPU nodes as 4+4, 4+4, 2+2+2 -> 3 nodes, but min_nodes is 4: 4 × $0.50 ×
    730 h = $1,460. Storage 200 GB × $0.10 × load_scale 2 = $40. Network fixed $100. LLM:
    1 call/s × (1,000 × $0.001 + 100 × $0.002) / 1,000 tokens = $0.0012/s, × 2,628,000 s
    = $3,153.60. The call rate is Poisson, so the LLM part is within a few percent."""
    s = scenario(
        {
            "load_scale": 2,
            "simulation": {"duration": "5000s", "warmup": "100s", "replications": 3},
            "workload": {"arrival_rate": "0.5/s"},
            "requests": {
                "r": {
                    "steps": [
                        {
                            "call": "api",
                            "steps": [
                                {"call": "db"},
                                {"call": "llm", "tokens": {"input": 1000, "output": 100}},
                            ],
                        }
                    ]
                }
            },
            "components": {
                "api": {
                    "type": "service",
                    "replicas": 3,
                    "workers": 8,
                    "resources": {"requests": {"cpu": 2, "memory": "4Gi"}},
                },
                "db": {
                    "type": "database",
                    "shards": 2,
                    "read_replicas": 1,
                    "service_time": "5ms",
                    "resources": {"requests": {"cpu": "4000m", "memory": "8Gi"}},
                },
                "llm": {
                    "type": "llm_api",
                    "latency": {"base": "200ms"},
                    "rate_limit": {"requests_per_minute": 10000, "tokens_per_minute": 1e8},
                    "pricing": {"input_per_1k": 0.001, "output_per_1k": 0.002},
                },
            },
            "costs": {
                "node": {"cpu": 8, "memory": "32Gi", "price_per_hour": 0.5},
                "cluster": {"min_nodes": 4, "max_nodes": 3 + 100},
                "storage": {"size": "200GB", "price_per_gb_month": 0.1, "grows_with_load": True},
                "network": {"fixed_per_month": 100},
                "baseline": {"compute": 1000},
            },
        }
    )
    cost = run(s)["cost"]
    assert cost["nodes_needed"] == 3 and cost["nodes"] == 4
    assert cost["by_category"]["compute"] == pytest.approx(1460)
    assert cost["by_category"]["storage"] == pytest.approx(40)
    assert cost["by_category"]["network"] == pytest.approx(100)
    assert cost["by_category"]["llm"] == pytest.approx(3153.6, rel=0.04)
    lo, hi = cost["monthly_usd_ci95"]
    assert lo < cost["monthly_usd"] < hi
    # compute is shared by requested CPU: api 6 of 22 cores
    assert cost["by_component"]["api"] == pytest.approx(1460 * 6 / 22)
    assert cost["baseline"] == {"compute": 1000}
    assert cost["per_1000_requests_usd"] == pytest.approx(
        cost["monthly_usd"] / (1.0 * 2_628_000) * 1000, rel=0.03
    )
    assert not cost["exceeds_max_nodes"]
