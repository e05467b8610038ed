"""size --survive zone_outage: replicas whose survivors of a zone carry the projected load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from capplan import simulate
from capplan.sizing import held, size, with_replicas
from capplan.sizing_survive import survivors, to_survive, without_a_node, without_a_zone
from capplan_helpers import cli, scenario


@pytest.mark.parametrize(
    ("need", "zones", "n"), [(1, 3, 2), (2, 3, 3), (3, 3, 5), (4, 3, 6), (6, 3, 9), (4, 2, 8)]
)
def test_the_count_whose_survivors_carry_the_need(need: int, zones: int, n: int) -> None:
    assert to_survive(need, zones) == n
    assert survivors(n, zones) >= need > survivors(n - 1, zones)


def service(rate: str) -> dict[str, Any]:
    return {
        "simulation": {"duration": "300s", "warmup": "30s", "replications": 3, "seed": 9},
        "workload": {"arrival_rate": rate},
        "requests": {"r": {"steps": [{"call": "api"}]}},
        "components": {
            "api": {
                "type": "service",
                "replicas": 2,
                "workers": 1,
                "service_time": {"distribution": "exponential", "mean": "100ms"},
            }
        },
        "slos": {"latency_p95": "1s"},
    }


def test_sizing_to_survive_a_zone_holds_the_objectives_with_the_zone_gone(tmp_path: Path) -> None:
    s = scenario(service("25/s"))  # 2.5 workers busy: the steady sizing needs 4 at 70%
    steady = size(s)
    need = steady["components"][0]["replicas"]
    result = size(s, survive="zone_outage")
    (row,) = result["components"]
    assert row["replicas"] == need
    assert row["replicas_to_survive"] == to_survive(need, 3) > need
    assert result["survive"]["slos_met"]
    sized = result["sized"]
    assert sized.kubernetes.zone_spread == "required"
    # the steady count does not survive the zone: its survivors saturate (replicas held,
    # no HPA reacting: the question is what the pods there when the zone goes can carry)
    bare = simulate(held(without_a_zone(steady["sized"])))
    assert not all(r["passed"] for r in bare["slos"])
    # the surviving count does, measured independently of the search
    kept = simulate(held(without_a_zone(sized)))
    assert all(r["passed"] for r in kept["slos"])


def test_the_overlay_and_the_manifests_require_the_zone_spread(tmp_path: Path) -> None:
    data = {
        "capplan": 1,
        "name": "z",
        **service("25/s"),
    }
    data["components"]["api"].update(
        {
            "image": "registry.example.com/api:1.0",
            "port": 8080,
            "cpu_per_request": "50ms",
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
        }
    )
    path = tmp_path / "z.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "z-sized.yaml"
    code, text, err = cli("size", str(path), "--survive", "zone_outage", "--out", str(out))
    assert code == 0, err
    assert "to survive a zone_outage" in text
    overlay = yaml.safe_load(out.read_text())
    assert overlay["kubernetes"] == {"zone_spread": "required"}
    code, _, err = cli("render-manifests", str(out), "--out", str(tmp_path / "m"))
    assert code == 0, err
    text = (tmp_path / "m" / "api-deployment.yaml").read_text()
    deployment = yaml.safe_load(text)
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    rules = {c["topologyKey"]: c["whenUnsatisfiable"] for c in spread}
    assert rules["topology.kubernetes.io/zone"] == "DoNotSchedule"
    # the lost zone's unreachable nodes must not hold the skew's minimum at zero, or the
    # replacements of its pods stay pending through the outage the sizing planned for
    zone = next(c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["nodeTaintsPolicy"] == "Honor"
    assert "nodeTaintsPolicy: Honor leaves the lost zone's unreachable nodes" in text
    code, _, err = cli(
        "render-manifests", str(out), "--out", str(tmp_path / "old"), "--kubernetes-version", "1.25"
    )
    assert code == 0, err
    old = (tmp_path / "old" / "api-deployment.yaml").read_text()
    assert "NodeInclusionPolicyInPodTopologySpread" in old
    assert "NodeInclusionPolicyInPodTopologySpread" not in text


def test_survive_needs_more_than_one_zone(tmp_path: Path) -> None:
    data = {"capplan": 1, "name": "one", **service("5/s"), "kubernetes": {"zones": 1}}
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = cli(
        "size", str(path), "--survive", "zone_outage", "--out", str(tmp_path / "o.yaml")
    )
    assert code == 2 and "kubernetes.zones is 1" in err and "Traceback" not in err


def test_sizing_to_survive_a_node_holds_the_objectives_with_the_fullest_node_gone() -> None:
    data = service("25/s")
    data["components"]["api"]["resources"] = {"requests": {"cpu": "2", "memory": "4Gi"}}
    data["costs"] = {"node": {"cpu": "4", "memory": "16Gi", "price_per_hour": 1.0}}
    # 2 pods a node: losing the fullest takes two, and a recreated pod finds room only on
    # a node left with a free slot
    s = scenario(data)
    result = size(s, survive="node_loss")
    (row,) = result["components"]
    need = row["replicas"]
    assert result["survive"]["slos_met"]
    survive = row["replicas_to_survive"]
    assert survive > need
    sized = result["sized"]
    assert sized.kubernetes.zone_spread == "preferred"  # a node, not a zone
    kept = simulate(without_a_node(sized))
    assert all(r["passed"] for r in kept["slos"])
    fewer = simulate(without_a_node(with_replicas(sized, {"api": survive - 1})))
    assert not all(r["passed"] for r in fewer["slos"])
    # guessing the next additions ahead changes the rounds, not the answer
    ahead = size(s, survive="node_loss", batch=3)
    assert ahead["survive"] == result["survive"] and ahead["sized"] == sized


def test_the_zone_outage_a_sizing_confirms_has_the_spread_it_renders() -> None:
    """Live nodes are in zones: three pods of 2 CPU on 4-CPU nodes, placed one by one.
    With a preferred spread the scheduler puts the second beside the first (the other
    zones have no node yet) and zone a would take two of the three; the survival sizing
    renders the spread required, and the outage it simulates has it too: one pod a zone,
    each on a node of its own zone, and the outage takes one."""
    from capplan.sim.engine import _Replication

    data = service("5/s")
    data["components"]["api"] |= {"replicas": 3, "resources": {"requests": {"cpu": "2"}}}
    data["costs"] = {
        "node": {"cpu": "4", "memory": "16Gi", "price_per_hour": 1.0},
        "cluster": {"min_nodes": 1, "max_nodes": 10},
    }
    s = scenario(data)

    def pods_by_zone(sc: Any) -> list[int]:
        plane = _Replication(sc, 0).plane
        assert plane is not None and plane.cluster is not None
        dep = plane.deployments["api"][0]  # the primaries (a service has no readers)
        assert all(p.replica.zone == p.node.zone for p in dep.pods)
        return [sum(1 for p in dep.pods if p.node.zone == z) for z in range(3)]

    assert pods_by_zone(s) == [2, 1, 0]
    confirmed = without_a_zone(s)
    assert confirmed.kubernetes.zone_spread == "required"
    assert pods_by_zone(confirmed) == [1, 1, 1]
