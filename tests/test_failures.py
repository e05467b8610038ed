"""Failures in the run: lost pods, zone outages, brownouts, and availability as the
k-of-n Markov model gives it."""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import pytest
from scipy import stats

from capplan.sim import run_replication
from capplan.sim.capacity import READY
from capplan_helpers import cli, cluster_system, scenario


def system(
    failures: dict[str, Any],
    *,
    rate: str = "20/s",
    replicas: int = 6,
    workers: int = 4,
    balancing: str = "round_robin",
    service: Any = None,
    duration: str = "600s",
    seed: int = 3,
    steps: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> Any:
    api = {
        "type": "service",
        "replicas": replicas,
        "workers": workers,
        "load_balancing": balancing,
        "service_time": service or {"distribution": "exponential", "mean": "500ms"},
    }
    return scenario(
        {
            "simulation": {"duration": duration, "warmup": "0s", "replications": 1, "seed": seed},
            "workload": {"arrival_rate": rate},
            "requests": {"r": {"steps": steps or [{"call": "api"}]}},
            "components": {"api": api, **(extra or {})},
            "failures": failures,
        }
    )


def replicas_of(stations: dict[str, Any], name: str = "api") -> list[Any]:
    return [r for shard in stations[name].shards for r in shard.primaries.replicas]


class Probe:
    """A controller that looks at the stations at given times (just before events there)."""

    def __init__(self, times: list[float], look: Any):
        self.times, self.look = times, look
        self.seen: list[Any] = []

    def __call__(self, kernel: Any, stations: dict[str, Any]) -> Generator[float, Any, None]:
        for t in self.times:
            yield t - kernel.now
            self.seen.append(self.look(stations))


@pytest.mark.parametrize("balancing", ["round_robin", "least_connections", "shared_queue"])
def test_a_killed_pod_loses_exactly_its_requests_in_service(balancing: str) -> None:
    # near saturation, so that the killed pods also have requests queued: those go back to
    # the balancer and are served elsewhere, not lost
    s = system(
        {"events": [{"at": "200s", "kind": "pod_kill", "target": "api", "count": 2}]},
        rate="44/s",
        balancing=balancing,
    )

    def in_service(stations: dict[str, Any]) -> tuple[int, int]:
        victims = [r for r in replicas_of(stations) if r.state == READY][:2]
        queued = 0 if balancing == "shared_queue" else sum(len(r.queue) for r in victims)
        return sum(len(r.holding) for r in victims), queued

    probe = Probe([200 - 1e-9], in_service)
    rec = run_replication(s, 0, (probe,))
    held, queued = probe.seen[0]
    assert held > 0
    if balancing == "round_robin":
        assert queued > 0
    assert rec.types["r"].errors == {"lost": held}


def test_a_zone_outage_takes_its_third_and_the_rest_carry_the_load() -> None:
    s = system(
        {"events": [{"at": "200s", "kind": "zone_outage", "zone": "b", "duration": "100s"}]},
        rate="20/s",
    )

    def look(stations: dict[str, Any]) -> tuple[list[int], int]:
        ready = [r for r in replicas_of(stations) if r.state == READY]
        zones = [sum(1 for r in ready if r.zone == z) for z in range(3)]
        return zones, sum(len(r.holding) for r in ready if r.zone == 1)

    probe = Probe([200 - 1e-9, 201, 299, 301], look)
    rec = run_replication(s, 0, (probe,))
    (before, in_b), during, late, after = probe.seen
    assert before == [2, 2, 2]
    assert during[0] == [2, 0, 2] and late[0] == [2, 0, 2]  # not replaced while it lasts
    assert sum(after[0]) == 6  # replaced once the outage (shorter than 300 s) is over
    errors = rec.types["r"].errors
    assert errors == {"lost": in_b}  # the four others took every later request
    # a third of the capacity for 100 s of the 600
    assert rec.components["api"].capacity == pytest.approx(24 - 8 * 100 / 600)


def test_replacements_come_after_the_unreachable_toleration() -> None:
    s = system(
        {"events": [{"at": "100s", "kind": "zone_outage", "zone": "a", "duration": "400s"}]},
        rate="5/s",
    )
    ready = Probe(
        [399, 401],
        lambda st: sum(1 for r in replicas_of(st) if r.state == READY),
    )
    run_replication(s, 0, (ready,))
    # pods on unreachable nodes are evicted after 300 s, then recreated in zones b and c
    assert ready.seen == [4, 6]


def k_of_n(n: int, k: int, a: float) -> float:
    return sum(math.comb(n, i) * a**i * (1 - a) ** (n - i) for i in range(k, n + 1))


def test_replica_availability_matches_the_k_of_n_markov_model() -> None:
    mtbf, mttr, n = 100.0, 25.0, 3
    s = system(
        {
            "random": {
                "api": {
                    "pod_mtbf": f"{mtbf}s",
                    "restart": {"distribution": "exponential", "mean": f"{mttr}s"},
                }
            }
        },
        rate="0.01/s",
        replicas=n,
        duration="4000s",
    )
    step = 0.5
    times = [step * (i + 1) for i in range(int(4000 / step) - 1)]
    shares: dict[int, list[float]] = {2: [], 3: []}
    for rep in range(8):
        probe = Probe(times, lambda st: sum(1 for r in replicas_of(st) if r.state == READY))
        run_replication(s, rep, (probe,))
        seen = np.array(probe.seen)
        for k in shares:
            shares[k].append(float(np.mean(seen >= k)))
    a = mtbf / (mtbf + mttr)
    for k, values in shares.items():
        mean = np.mean(values)
        half = stats.t.ppf(0.995, len(values) - 1) * np.std(values, ddof=1) / len(values) ** 0.5
        assert abs(mean - k_of_n(n, k, a)) < half, (k, mean, half, k_of_n(n, k, a))


def test_a_brownout_slows_the_component_and_fails_its_share() -> None:
    s = system(
        {
            "events": [
                {
                    "at": "180s",
                    "kind": "brownout",
                    "target": "api",
                    "duration": "240s",
                    "latency_factor": 3,
                    "error_share": "20%",
                }
            ]
        },
        rate="10/s",
        service={"distribution": "constant", "value": "100ms"},
        duration="600s",
    )
    rec = run_replication(s, 0)
    during = [w for w in rec.windows if 180 <= w.start_s < 420]
    outside = [w for w in rec.windows if not 180 <= w.start_s < 420]
    assert all(
        w.latency is not None and w.latency.mean == pytest.approx(0.3, rel=0.01) for w in during
    )
    assert all(
        w.latency is not None and w.latency.mean == pytest.approx(0.1, rel=0.02) for w in outside
    )
    assert all(not w.errors for w in outside)
    errors = sum(w.errors.get("error", 0) for w in during)
    calls = errors + sum(w.completed for w in during)
    # binomial: within 4 standard deviations of a fifth of the calls
    assert abs(errors - 0.2 * calls) < 4 * (calls * 0.2 * 0.8) ** 0.5


def test_an_llm_quota_cut_rate_limits_calls() -> None:
    llm = {
        "type": "llm_api",
        "rate_limit": {
            "requests_per_minute": 1200,
            "tokens_per_minute": 1e9,
            "burst": {"requests": 20},
        },
        "retry": {"attempts": 1},
        "latency": {"base": {"distribution": "constant", "value": "50ms"}},
    }
    s = system(
        {
            "events": [
                {
                    "at": "200s",
                    "kind": "llm_api",
                    "target": "llm",
                    "duration": "200s",
                    "quota_factor": 0.25,
                }
            ]
        },
        rate="8/s",
        steps=[{"call": "api", "steps": [{"call": "llm", "tokens": {"input": 10}}]}],
        extra={"llm": llm},
    )
    rec = run_replication(s, 0)
    limited = [w.errors.get("rate_limited", 0) for w in rec.windows]
    # 20 calls/s allowed, 8 offered: none refused; 5/s while cut: about 3/s refused
    assert sum(limited[:3]) == 0 and sum(limited[7:]) == 0
    assert sum(limited[3:7]) / 200 == pytest.approx(3, rel=0.15)


FAILURES = {
    "simulation": {"duration": "600s", "warmup": "0s"},
    "workload": {"arrival_rate": "1/s"},
    "requests": {"r": {"steps": [{"call": "api"}]}},
    "components": {"api": {"type": "service", "service_time": "10ms"}},
}


@pytest.mark.parametrize(
    ("failures", "key", "words"),
    [
        (
            {"events": [{"at": "2h", "kind": "pod_kill", "target": "api"}]},
            "failures.events[0].at",
            "outside the run",
        ),
        (
            {"events": [{"at": "1min", "kind": "pod_kill", "target": "web"}]},
            "failures.events[0].target",
            "no such component",
        ),
        (
            {"events": [{"at": "1min", "kind": "zone_outage", "zone": "d", "duration": "1min"}]},
            "failures.events[0].zone",
            "no such zone",
        ),
        (
            {"events": [{"at": "1min", "kind": "llm_api", "target": "api", "duration": "1min"}]},
            "failures.events[0].target",
            "cannot fail this way",
        ),
        ({"random": {"db": {"pod_mtbf": "7d"}}}, "failures.random.db", "no such component"),
        ({"events": [{"at": "1min", "kind": "node_loss"}]}, "failures.events[0].kind", "live"),
        (
            {"events": [{"at": "1min", "kind": "failover", "target": "api"}]},
            "failures.events[0].target",
            "cannot fail this way",
        ),
        (
            {
                "events": [
                    {"at": "1min", "kind": "brownout", "target": "api", "duration": "2min"},
                    {"at": "2min", "kind": "brownout", "target": "api", "duration": "1min"},
                ]
            },
            "failures.events[1].at",
            "overlaps",
        ),
        (
            {
                "events": [
                    {
                        "at": "1min",
                        "kind": "brownout",
                        "target": "api",
                        "duration": "1min",
                        "error_share": 1.5,
                    }
                ]
            },
            "failures.events[0].error_share",
            "",
        ),
    ],
)
def test_bad_failures_are_located(tmp_path: Any, failures: Any, key: str, words: str) -> None:
    import yaml

    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump({"capplan": 1, "name": "f", **FAILURES, "failures": failures}))
    code, _out, err = cli("simulate", str(path), "--no-progress")
    assert code == 2
    assert "Traceback" not in err
    assert str(path) in err and key in err and words in err


def test_node_failures_need_live_nodes(tmp_path: Any) -> None:
    import yaml

    data = {
        "capplan": 1,
        "name": "n",
        **FAILURES,
        "costs": {"node": {"cpu": "4", "memory": "16Gi", "price_per_hour": 1, "mtbf": "30d"}},
    }
    data["simulation"] = {**data["simulation"], "autoscale": False}
    path = tmp_path / "n.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _out, err = cli("simulate", str(path), "--no-progress")
    assert code == 2 and "Traceback" not in err
    assert f"{path}:" in err and "costs.node.mtbf" in err and "autoscale" in err


def database_system(
    failures: dict[str, Any],
    write_retry: dict[str, Any] | None = None,
    balancing: str = "round_robin",
) -> Any:
    write: dict[str, Any] = {"call": "db", "op": "write"}
    if write_retry is not None:
        write["retry"] = write_retry
    return scenario(
        {
            "simulation": {"duration": "300s", "warmup": "0s", "replications": 1, "seed": 4},
            "workload": {"arrival_rate": "20/s", "mix": {"w": 1, "r": 1}},
            "requests": {
                "w": {"steps": [write]},
                "r": {"steps": [{"call": "db", "op": "read"}]},
            },
            "components": {
                "db": {
                    "type": "database",
                    "read_replicas": 2,
                    "workers": 8,
                    "service_time": "5ms",
                    "load_balancing": balancing,
                }
            },
            "failures": failures,
        }
    )


def test_a_failover_refuses_writes_for_the_election_and_reads_go_on() -> None:
    s = database_system(
        {"events": [{"at": "100s", "kind": "failover", "target": "db", "election": "12s"}]}
    )
    rec = run_replication(s, 0)
    writes, reads = rec.types["w"], rec.types["r"]
    assert reads.errors == {}
    refused = writes.errors.get("unavailable", 0)
    # writes arrive at 10/s: about 120 find no primary during the 12 s election
    assert abs(refused - 120) < 4 * 120**0.5
    retried = database_system(
        {"events": [{"at": "100s", "kind": "failover", "target": "db", "election": "12s"}]},
        {"attempts": 5, "causes": ["unavailable"], "initial_delay": "1s", "backoff_factor": 2},
    )
    assert run_replication(retried, 0).types["w"].errors == {}  # waits of 1+2+4+8 s > 12 s


@pytest.mark.parametrize("balancing", ["round_robin", "shared_queue"])
def test_writes_that_wait_through_a_failover_wait_out_the_election(balancing: str) -> None:
    def run(mode: str) -> Any:
        event = {
            "at": "100s",
            "kind": "failover",
            "target": "db",
            "election": "12s",
            "on_failover": mode,
        }
        return run_replication(database_system({"events": [event]}, balancing=balancing), 0)

    failed, waited = run("fail").types["w"], run("wait").types["w"]
    assert waited.errors.get("unavailable", 0) == 0
    assert set(waited.errors) <= {"lost"}
    refused = failed.errors["unavailable"]
    # each write arriving in the election waits for its end: 12 s less its arrival time,
    # 6 s on average, where in the fail mode it ended at once
    extra = waited.sojourn_sum_s - failed.sojourn_sum_s
    assert extra == pytest.approx(refused * 6.0, rel=0.25)
    assert waited.completed == waited.arrivals - sum(waited.errors.values())


def test_a_degraded_link_slows_the_payloads_that_cross_it() -> None:
    s = scenario(
        {
            "simulation": {"duration": "600s", "warmup": "0s", "replications": 1, "window": "1min"},
            "workload": {"arrival_rate": "1/s"},
            "requests": {
                "r": {"steps": [{"call": "api", "via": "net", "response_bytes": 1_000_000}]}
            },
            "components": {
                "api": {"type": "service", "replicas": 1, "workers": 50, "service_time": "10ms"},
                "net": {"type": "link", "bandwidth": "100Mbps", "latency": "5ms"},
            },
            "failures": {
                "events": [
                    {
                        "at": "120s",
                        "kind": "link",
                        "target": "net",
                        "duration": "240s",
                        "bandwidth_factor": 0.5,
                        "added_latency": "20ms",
                    }
                ]
            },
        }
    )
    rec = run_replication(s, 0)

    def mean(a: float, b: float) -> float:
        wins = [w for w in rec.windows if a <= w.start_s < b and w.latency is not None]
        return sum(w.latency.mean * w.completed for w in wins) / sum(w.completed for w in wins)

    def expected(tx: float, latency: float) -> float:
        rho = 1.0 * tx  # M/D/1 at 1 payload a second: the wait is rho * tx / (2 (1 - rho))
        return 0.010 + tx + 2 * latency + rho * tx / (2 * (1 - rho))

    # 10 ms of service, 10^6 bytes back at 100 Mbps (80 ms), 5 ms each way; while cut, half
    # the bandwidth and 20 ms more each way
    assert mean(0, 120) == pytest.approx(expected(0.080, 0.005), rel=0.05)
    assert mean(180, 360) == pytest.approx(expected(0.160, 0.025), rel=0.05)
    assert mean(420, 600) == pytest.approx(expected(0.080, 0.005), rel=0.05)


def the_cluster(stations: dict[str, Any]) -> Any:
    return next(r.owner.node.cluster for r in replicas_of(stations) if r.owner.node is not None)


def test_a_lost_node_takes_its_pods_which_wait_for_a_new_node() -> None:
    s = cluster_system({"events": [{"at": "200s", "kind": "node_loss"}]})

    def on_first_node(stations: dict[str, Any]) -> int:
        first = the_cluster(stations).nodes[0]  # all equally full: the first goes
        return sum(len(r.holding) for r in replicas_of(stations) if r.owner.node is first)

    probe = Probe([200 - 1e-9], on_first_node)
    rec = run_replication(s, 0, (probe,))
    assert rec.types["r"].errors == {"lost": probe.seen[0]} and probe.seen[0] > 0
    pending = {w.start_s: w.pods_pending for w in rec.windows}
    nodes = {w.start_s: w.nodes for w in rec.windows}
    # 2 pods of 2 CPU per 4-CPU node: the recreated pods fit nowhere until the autoscaler's
    # node (a scan, then 60 s) is up; the node group's replacement comes at 200 + 300 s
    assert pending[120.0] == 0 and pending[180.0] + pending[240.0] > 0.5
    assert pending[300.0] == 0
    assert nodes[120.0] == 3 and nodes[300.0] == 3 and nodes[540.0] == 4
    assert rec.control.nodes_lost == 1


@pytest.mark.parametrize("spread", ["preferred", "required"])
def test_a_zone_outage_takes_its_nodes_and_replacements_need_room_in_the_zones_left(
    spread: str,
) -> None:
    """Live nodes are in zones and pods spread over them: one node of two pods in each of
    three zones, each replica in its node's zone. Zone b goes out at 200 s for 600 s: its
    node holds and takes nothing (still billed), so the two pods evicted at 500 s fit on
    none of the nodes left and wait for nodes the autoscaler adds in the zones up: one
    node for both with a preferred spread (the autoscaler packs them; the spread only
    scores), one in each of a and c with a required one. When b is back its node is
    empty."""
    s = cluster_system(
        {"events": [{"at": "200s", "kind": "zone_outage", "zone": "b", "duration": "600s"}]}
    )
    s = s.model_copy(update={"kubernetes": s.kubernetes.model_copy(update={"zone_spread": spread})})
    added = 1 if spread == "preferred" else 2

    def look(stations: dict[str, Any]) -> tuple[list[int], list[int], list[int], bool]:
        nodes = [n for n in the_cluster(stations).nodes if n.state != 3]  # NODE_GONE
        ready = [r for r in replicas_of(stations) if r.state == READY]
        in_zone = [sum(1 for n in nodes if n.zone == z and n.state == 1) for z in range(3)]
        pods = [sum(1 for r in ready if r.zone == z) for z in range(3)]
        held = [len(n.pods) for n in nodes if n.zone == 1]
        placed = all(r.owner.node.zone == r.zone for r in ready)
        return in_zone, pods, held, placed

    probe = Probe([199, 499, 700, 801], look)
    rec = run_replication(s, 0, (probe,))
    before, during, replaced, back = probe.seen
    assert before == ([1, 1, 1], [2, 2, 2], [2], True)
    assert during == ([1, 0, 1], [2, 0, 2], [0], True)  # b's node down, not gone
    ready_nodes, pods, held, placed = replaced
    assert ready_nodes[1] == 0 and sum(ready_nodes) == 2 + added and placed
    assert pods[1] == 0 and sum(pods) == 6 and held == [0]
    if spread == "required":
        assert pods == [3, 0, 3] and ready_nodes == [2, 0, 2]
    assert back[0][1] == 1 and back[2] == [0]  # b's node ready again, empty
    pending = {w.start_s: w.pods_pending for w in rec.windows}
    nodes = {w.start_s: w.nodes for w in rec.windows}
    assert pending[420.0] == 0 and pending[480.0] + pending[540.0] > 0.5
    assert pending[600.0] == 0
    assert nodes[420.0] == 3 and nodes[600.0] == 3 + added  # b's node still billed


def test_node_failures_come_at_the_rate_of_the_nodes_up() -> None:
    s = cluster_system(None, mtbf="2000s", duration="18000s", window="10min")
    step = 5.0
    times = [step * (i + 1) for i in range(int(18000 / step) - 1)]
    seen: list[Any] = []

    def up(stations: dict[str, Any]) -> int:
        if not seen:
            seen.append(the_cluster(stations))
        return sum(1 for n in seen[0].nodes if n.state == 1)  # NODE_READY

    probe = Probe(times, up)
    rec = run_replication(s, 0, (probe,))
    expected = sum(probe.seen) * step / 2000  # node-seconds up / mtbf
    lost = rec.control.nodes_lost
    assert expected > 20
    assert abs(lost - expected) < 4 * expected**0.5, (lost, expected)


def test_a_read_picks_primaries_or_read_replicas_when_it_reaches_the_database() -> None:
    """With one queue per role, a read joins the primaries' or the read replicas' queue in
    proportion to their ready workers at the moment it reaches the database: after the
    caller's own second of work, not when the caller started. Reads reaching it during an
    election all go to the read replicas; none is refused for want of a primary."""
    s = scenario(
        {
            "simulation": {"duration": "40s", "warmup": "80s", "replications": 1, "seed": 4},
            "workload": {"arrival_rate": "20/s"},
            "requests": {
                "r": {"steps": [{"call": "api", "steps": [{"call": "db", "op": "read"}]}]}
            },
            "components": {
                "api": {"type": "service", "workers": 100, "service_time": "1s"},
                "db": {
                    "type": "database",
                    "read_replicas": 2,
                    "workers": 8,
                    "service_time": "5ms",
                    "load_balancing": "shared_queue",
                },
            },
            "failures": {
                "events": [{"at": "20s", "kind": "failover", "target": "db", "election": "12s"}]
            },
        }
    )
    reads = run_replication(s, 0).types["r"]
    # (20 s into the measured interval) about 20 reads start in the second before the failover and reach the database in
    # the election; a third of them would be sent to the primaries if picked at the start
    assert reads.arrivals > 700
    assert reads.errors.get("unavailable", 0) == 0
