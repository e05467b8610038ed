"""render-manifests: golden files, schema validation across versions, broken objects."""

from __future__ import annotations

import copy
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from capplan import load_scenario, simulate
from capplan.errors import CapplanError
from capplan.k8s import render
from capplan.k8s.validate import problems
from capplan_helpers import cli

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ["current", "10x", "10x-planned"]


@pytest.fixture(scope="module")
def rendered():
    out = {}
    for name in REFERENCE:
        s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        out[name] = (s, simulate(s))
    return out


PROJECTED = re.compile(r"^(\s*capplan\.io/projected-[a-z0-9-]+: )(.*)$")


def _masked(text: str) -> str:
    """The text with simulated figures masked: projected annotations, and the numbers of
    comment lines that quote projections."""
    out = []
    for line in text.splitlines():
        m = PROJECTED.match(line)
        if m:
            line = m.group(1) + "<simulated>"
        elif line.startswith("#") and "projected" in line:
            line = re.sub(r"\d+(\.\d+)?", "<n>", line)
        out.append(line)
    return "\n".join(out)


def _interval(result: dict, obj: dict, key: str) -> list[float] | None:
    """The 95% interval behind a projected annotation of ``obj``."""
    component = result["components"].get(obj["metadata"]["name"])
    if key == "projected-latency-p95":
        return result["latency_s"]["ci95"]["p95"]
    if key == "projected-error-rate":
        return result["error_rate_ci95"]
    if key == "projected-utilization":
        return component["ci95"]["utilization"]
    if key == "projected-cpu-utilization":
        return component["ci95"]["cpu_utilization"]
    raise AssertionError(f"unknown projected annotation {key}")


@pytest.mark.parametrize("name", REFERENCE)
def test_committed_manifests_are_in_step_with_the_code(rendered, name):
    """Structure exactly; simulated figures within their 95% intervals (they are estimates,
    so a change to the engine that keeps them within noise is no change to the manifests).
    Regenerate with: for f in scenarios/*.yaml; do capplan render-manifests "$f"; done"""
    scenario, result = rendered[name]
    files = render(scenario, result)
    folder = ROOT / "manifests" / name
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.yaml"))
    assert sorted(f.name for f in files) == on_disk
    for f in files:
        committed = (folder / f.name).read_text()
        assert _masked(committed) == _masked(f.text), f"{name}/{f.name} differs from the render"
        if f.obj is None:
            continue
        notes = yaml.safe_load(committed)["metadata"].get("annotations", {})
        for key, value in notes.items():
            key = key.removeprefix("capplan.io/")
            if not key.startswith("projected-") or value == "saturated":
                continue
            lo, hi = _interval(result, f.obj, key) or (None, None)
            number = float(value.rstrip("s"))
            # three significant digits are written: allow their rounding beside the interval
            slack = 0.005 * abs(number) + 1e-12
            assert lo - slack <= number <= hi + slack, (name, f.name, key, value, lo, hi)


@pytest.mark.parametrize("version", ["1.30", "1.33", "1.37"])
def test_every_object_validates_on_several_kubernetes_versions(rendered, version):
    for scenario, result in rendered.values():
        for f in render(scenario, result, kubernetes_version=version):
            if f.obj is not None:
                assert problems(f.obj, version) == []


def test_the_set_is_complete_and_annotated(rendered):
    scenario, result = rendered["10x-planned"]
    files = {f.name: f for f in render(scenario, result, namespace="shop")}
    kinds = {f.obj["kind"] for f in files.values() if f.obj}
    assert kinds == {
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "PrometheusRule",
        "Service",
        "ServiceAccount",
        "NetworkPolicy",
        "ServiceMonitor",
    }
    # every file of the applied folder is an object the kustomization lists; the rest is
    # under values/, which kubectl apply -f does not recurse into
    assert all(
        f.obj is not None or n == "kustomization.yaml" or n.startswith("values/")
        for n, f in files.items()
    )
    kustomization = yaml.safe_load(files["kustomization.yaml"].text)
    assert kustomization["namespace"] == "shop"
    assert set(kustomization["resources"]) == {n for n, f in files.items() if f.obj}
    for f in files.values():
        if f.obj:
            notes = f.obj["metadata"]["annotations"]
            assert notes["capplan.io/scenario"] == "10x-planned"
            assert notes["capplan.io/projected-latency-p95"].endswith("s")
            assert f.obj["metadata"]["namespace"] == "shop"
    deployment = files["mcp-server-deployment.yaml"].obj
    pod = deployment["spec"]["template"]["spec"]
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    box = pod["containers"][0]
    # guaranteed memory: the request is the limit (the guide's 16Gi request, 32Gi limit)
    assert box["resources"]["requests"] == {"cpu": "8", "memory": "32Gi"}
    assert box["resources"]["limits"]["memory"] == "32Gi"
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "mcp-server"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert box["securityContext"]["allowPrivilegeEscalation"] is False
    assert box["securityContext"]["readOnlyRootFilesystem"] is True
    assert box["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"readinessProbe", "livenessProbe"} <= set(box)
    hpa = files["marketing-agents-hpa.yaml"]
    assert hpa.obj["spec"]["minReplicas"] == 10 and hpa.obj["spec"]["maxReplicas"] == 50
    assert hpa.obj["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    mongo = yaml.safe_load(files["values/mongodb-values.yaml"].text)
    assert mongo["shards"] == 3 and mongo["shardsvr"]["dataNode"]["replicaCount"] == 3
    # 5TB at 10x over 3 shards, with 50% headroom, per member
    assert mongo["shardsvr"]["persistence"]["size"] == "2329Gi"
    redis = yaml.safe_load(files["values/redis-values.yaml"].text)
    assert redis["cluster"] == {"nodes": 6, "replicas": 1}
    # the key spaces' max_size (5GB, 3GB and 2GB) over three primaries, evicting by LRU
    per = math.ceil(10e9 / 3 / 2**20)
    assert redis["redis"]["configmap"] == f"maxmemory {per}mb\nmaxmemory-policy allkeys-lru\n"
    assert "neo4j/neo4j" in files["values/neo4j-values.yaml"].text
    assert "values/stores-values.yaml" not in files  # every store names its chart
    groups = {g["name"]: g["rules"] for g in files["prometheusrule.yaml"].obj["spec"]["groups"]}
    rules = groups["10x-planned-capacity"]
    assert {r["labels"]["severity"] for r in rules} == {"warning", "critical"}
    slo = groups["10x-planned-slo"]
    # burn-rate alerts on the objectives, at the workload clients call first
    assert {r["alert"] for r in slo} == {"McpServerErrorBudgetBurn", "McpServerLatencyBudgetBurn"}
    assert all(" and " in r["expr"] and "description" in r["annotations"] for r in slo)
    scaling = {r["alert"] for r in groups["10x-planned-scaling"]}
    assert scaling == {"McpServerHpaAtMax", "MarketingAgentsHpaAtMax", "PodsPending"}


def test_the_rendered_hpa_is_the_one_simulated(rendered):
    """One source: every target, bound and behavior rule of the scenario's autoscaling
    block, defaults written out; a worker-bound service scaling on CPU alone is told what
    would scale it on what runs out."""
    scenario, result = rendered["10x-planned"]
    files = {f.name: f for f in render(scenario, result)}
    for name in ("mcp-server", "marketing-agents"):
        spec = scenario.components[name].autoscaling
        hpa = files[f"{name}-hpa.yaml"].obj["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (spec.min, spec.max)
        assert [m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]] == [
            round(spec.cpu_target * 100)
        ]
        assert hpa["behavior"]["scaleUp"]["policies"] == [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ]
        assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert "a waiting worker uses no CPU" in files["marketing-agents-hpa.yaml"].text.replace(
        "\n# ", " "
    )


def test_every_target_and_rule_reaches_the_manifest(rendered):
    scenario, result = rendered["current"]
    from capplan.scenario.autoscaling import Autoscaling, Memory

    agents = scenario.components["marketing-agents"]
    hpa_spec = Autoscaling.model_validate(
        {
            "min": 3,
            "max": 10,
            "cpu_target": "70%",
            "memory_target": "80%",
            "rps_target": "20/s",
            "inflight_target": 12.5,
            "behavior": {
                "scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}
            },
        }
    )
    comps = dict(scenario.components)
    comps["marketing-agents"] = agents.model_copy(
        update={"autoscaling": hpa_spec, "memory": Memory(base=2**30, per_request=2**20)}
    )
    changed = scenario.model_copy(update={"components": comps})
    files = {f.name: f for f in render(changed, result)}
    spec = files["marketing-agents-hpa.yaml"].obj["spec"]
    assert [(m["type"], m.get("resource", m.get("pods"))["target"]) for m in spec["metrics"]] == [
        ("Resource", {"type": "Utilization", "averageUtilization": 70}),
        ("Resource", {"type": "Utilization", "averageUtilization": 80}),
        ("Pods", {"type": "AverageValue", "averageValue": "20"}),
        ("Pods", {"type": "AverageValue", "averageValue": "12500m"}),
    ]
    assert spec["behavior"]["scaleUp"]["policies"] == [
        {"type": "Pods", "value": 2, "periodSeconds": 60}
    ]
    adapter = yaml.safe_load(files["values/prometheus-adapter-values.yaml"].text)
    names = [r["name"].get("as") for r in adapter["rules"]["custom"]]
    # every Pods metric the HPA reads is one the adapter serves
    pods = [m["pods"]["metric"]["name"] for m in spec["metrics"] if m["type"] == "Pods"]
    assert names == pods == ["http_requests_per_second", "capplan_inflight_requests"]
    assert "[15s]" in adapter["rules"]["custom"][0]["metricsQuery"]
    ca = yaml.safe_load(files["values/cluster-autoscaler-values.yaml"].text)
    assert (
        ca["autoscalingGroups"][0]["minSize"] == 3 and ca["autoscalingGroups"][0]["maxSize"] == 20
    )
    assert ca["extraArgs"]["scale-down-unneeded-time"] == "600s"


def test_a_broken_object_is_rejected_with_the_field_named(rendered):
    scenario, result = rendered["current"]
    deployment = next(
        f.obj for f in render(scenario, result) if f.name == "mcp-server-deployment.yaml"
    )
    unknown = copy.deepcopy(deployment)
    unknown["spec"]["replicaz"] = 3
    assert any("replicaz" in p for p in problems(unknown, "1.33"))
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "three"
    assert any("Deployment/mcp-server spec.replicas" in p for p in problems(wrong_type, "1.33"))
    inverted = copy.deepcopy(deployment)
    inverted["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "2"
    found = problems(inverted, "1.33")
    assert any("resources.requests.cpu: exceeds the limit (2 > 1)" in p for p in found)
    bad_quantity = copy.deepcopy(deployment)
    bad_quantity["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = (
        "lots"
    )
    assert any("resources.limits.memory" in p for p in problems(bad_quantity, "1.33"))


def test_nothing_is_written_when_a_service_has_no_image(tmp_path):
    text = (ROOT / "scenarios" / "current.yaml").read_text()
    text = text.replace("    image: registry.example.com/marketing/agents:1.0", "")
    (tmp_path / "s.yaml").write_text(text)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "capplan",
            "render-manifests",
            str(tmp_path / "s.yaml"),
            "--out",
            str(out),
            "--no-progress",
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "components.marketing-agents.image: required" in proc.stderr
    assert not out.exists()


def test_apply_without_a_cluster_exits_3(tmp_path):
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none"), "HOME": str(tmp_path)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    scenario_text = (
        (ROOT / "scenarios" / "current.yaml")
        .read_text()
        .replace("replications: 5", "replications: 2")
        .replace("duration: 10min", "duration: 1min")
    )
    (tmp_path / "s.yaml").write_text(scenario_text)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "capplan",
            "render-manifests",
            str(tmp_path / "s.yaml"),
            "--out",
            str(tmp_path / "out"),
            "--apply",
            "--dry-run",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 3, proc.stderr
    assert "no Kubernetes cluster configured" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unsupported_kubernetes_version_is_an_input_error(rendered):
    scenario, result = rendered["current"]
    with pytest.raises(CapplanError, match="not supported"):
        render(scenario, result, kubernetes_version="1.99")


@pytest.mark.parametrize("version", ["1.20", "1.22", "1.23", "1.40", "banana", "../../x"])
def test_an_unsupported_version_names_the_supported_range(tmp_path, version):
    code, out, err = cli(
        "render-manifests", str(ROOT / "scenarios" / "current.yaml"), "--out", str(tmp_path / "m"),
        "--kubernetes-version", version,
    )  # fmt: skip
    assert code == 2 and "Traceback" not in out + err
    assert "is not supported; the bundled schemas cover 1.25 to 1." in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("mcp-server", "UPPER_case"), "components.UPPER_case: not a valid Kubernetes name"),
        (("mcp-server", "-leading"), "a name has letters, digits"),
        (("name: current", "name: Current_X"), "name: names the manifests' objects"),
        (("    image: registry.example.com/marketing/agents:1.0", ""), "image: required"),
    ],
    ids=["upper-case", "leading-dash", "scenario-name", "no-image"],
)
def test_names_kubernetes_refuses_are_located_errors_and_nothing_is_written(
    tmp_path, edit, expected
):
    text = (ROOT / "scenarios" / "current.yaml").read_text().replace(*edit)
    (tmp_path / "s.yaml").write_text(text)
    code, out, err = cli("render-manifests", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "m"))
    assert code == 2 and "Traceback" not in out + err, err
    assert expected in err and "s.yaml:" in err
    assert err.count(expected) == 1  # each problem once
    assert not (tmp_path / "m").exists()


def test_a_namespace_that_is_not_a_dns_label_is_refused(tmp_path):
    code, _, err = cli(
        "render-manifests", str(ROOT / "scenarios" / "current.yaml"), "--out", str(tmp_path / "m"),
        "--namespace", "Bad_NS!",
    )  # fmt: skip
    assert code == 2 and "--namespace: 'Bad_NS!' is not a valid Kubernetes name" in err


def _graph_scenario(extra: str = "") -> str:
    return f"""\
capplan: 1
name: shop
simulation: {{duration: 60s, warmup: 10s, replications: 2}}
workload: {{arrival_rate: 5/s, mix: {{browse: 6, buy: 3, report: 1}}}}
requests:
  browse: {{steps: [{{call: web, steps: [{{call: catalog, steps: [{{call: db}}]}}]}}]}}
  buy: {{steps: [{{call: web, steps: [{{call: orders, steps: [{{call: db}}, {{call: catalog}}]}}]}}]}}
  report: {{steps: [{{call: reports, steps: [{{call: db}}]}}]}}
components:
  web: {{type: service, replicas: 3, workers: 4, service_time: 5ms, image: r/web:1}}
  catalog: {{type: service, replicas: 2, workers: 4, service_time: 5ms, image: r/catalog:1,
            startup: {{distribution: lognormal, p50: 40s, p95: 90s}}}}
  orders: {{type: service, replicas: 1, workers: 4, service_time: 5ms, image: r/orders:1,
           autoscaling: {{min: 2, max: 6, inflight_target: 3}}}}
  reports: {{type: service, replicas: 1, workers: 2, service_time: 5ms, image: r/reports:1}}
  db: {{type: database, replicas: 1, workers: 8, service_time: 2ms}}
{extra}"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from capplan.scenario import load_scenario as load

    path = tmp_path_factory.mktemp("shop") / "shop.yaml"
    path.write_text(_graph_scenario("kubernetes: {namespace: storefront}\n"))
    s = load(path)
    return s, simulate(s, jobs=1)


def test_the_network_policy_admits_exactly_the_callers_of_the_request_graph(shop):
    scenario, result = shop
    files = {f.name: f.obj for f in render(scenario, result)}

    def admitted(name: str) -> tuple[set[str], bool]:
        rules = files[f"{name}-networkpolicy.yaml"]["spec"]["ingress"]
        pods, anyone = set(), False
        for rule in rules:
            peers = rule.get("from")
            if peers is None:
                anyone = True
                continue
            for peer in peers:
                if "podSelector" in peer:
                    pods.add(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
                else:  # the monitoring namespace, for scraping, and nothing else
                    assert peer == {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                        }
                    }
        return pods, anyone

    assert admitted("catalog") == ({"web", "orders"}, False)
    assert admitted("orders") == ({"web"}, False)
    assert admitted("web")[1] is True  # clients outside the system call it first
    assert admitted("reports")[1] is True
    policy = files["catalog-networkpolicy.yaml"]["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]


def test_namespace_probes_replicas_and_budgets_follow_the_scenario(shop):
    scenario, result = shop
    files = {f.name: f for f in render(scenario, result)}
    objs = [f.obj for f in files.values() if f.obj]
    assert {o["metadata"]["namespace"] for o in objs} == {"storefront"}
    assert yaml.safe_load(files["kustomization.yaml"].text)["namespace"] == "storefront"
    assert {
        o["metadata"]["namespace"] for o in (f.obj for f in render(scenario, result, "x") if f.obj)
    } == {"x"}
    # a long startup (p99 well over 30 s) gets a startup probe sized from it; a short one
    # a liveness delay
    catalog = files["catalog-deployment.yaml"].obj["spec"]["template"]["spec"]["containers"][0]
    from capplan.k8s.pods import startup_p99

    p99 = startup_p99(scenario.components["catalog"])
    assert 100 < p99 < 250
    probe = catalog["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 1.5 * p99
    web = files["web-deployment.yaml"].obj
    assert "startupProbe" not in web["spec"]["template"]["spec"]["containers"][0]
    # replicas: kept where no HPA owns the count, left out where one does
    assert web["spec"]["replicas"] == 3
    assert "replicas" not in files["orders-deployment.yaml"].obj["spec"]
    # budgets: none for a single pod, and never all of them
    assert "reports-pdb.yaml" not in files
    assert files["web-pdb.yaml"].obj["spec"]["minAvailable"] <= 2
    assert files["orders-pdb.yaml"].obj["spec"]["minAvailable"] == 1
    assert "db-deployment.yaml" not in files  # stores are the charts'


def test_a_bad_namespace_in_the_scenario_is_a_located_error(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(_graph_scenario("kubernetes: {namespace: Not_A_Label}\n"))
    code, out, err = cli("render-manifests", str(path), "--out", str(tmp_path / "m"))
    assert code == 2 and "Traceback" not in out + err
    assert "shop.yaml:17 kubernetes.namespace" in err and err.count("kubernetes.namespace") == 1
    assert not (tmp_path / "m").exists()


@pytest.mark.skipif(
    __import__("shutil").which("kubectl") is None, reason="kubectl is not installed here"
)
def test_kubectl_kustomize_builds_every_bundled_folder():
    for name in REFERENCE:
        proc = subprocess.run(
            ["kubectl", "kustomize", str(ROOT / "manifests" / name)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        built = list(yaml.safe_load_all(proc.stdout))
        for version in ("1.30", "1.37"):
            for obj in built:
                assert problems(obj, version) == []


def test_a_metric_name_prometheus_cannot_store_is_a_located_error(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(_graph_scenario('kubernetes: {metrics: {requests_total: "http requests"}}\n'))
    code, out, err = cli("validate", str(path))
    assert code == 2 and "Traceback" not in out + err
    assert "shop.yaml:17 kubernetes.metrics.requests_total" in err
    assert "'http requests'" in err


def test_keda_renders_a_scaled_object_with_the_simulated_targets(tmp_path):
    from capplan.scenario import load_scenario as load

    path = tmp_path / "shop.yaml"
    path.write_text(_graph_scenario("kubernetes: {autoscaler: keda}\n"))
    s = load(path)
    files = {f.name: f for f in render(s, simulate(s, jobs=1))}
    assert "orders-hpa.yaml" not in files
    assert not any("prometheus-adapter" in n for n in files)  # KEDA queries Prometheus
    spec = files["orders-scaledobject.yaml"].obj["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 6)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metadata"]["threshold"] == "3"
    assert (
        'capplan_inflight_requests{namespace="default", pod=~"orders-.*"}'
        in (trigger["metadata"]["query"])
    )
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    kustomization = yaml.safe_load(files["kustomization.yaml"].text)
    assert "orders-scaledobject.yaml" in kustomization["resources"]


def test_guaranteed_memory_is_one_figure_for_the_model_and_the_manifests():
    """The default raises the memory request to the limit in the scenario itself, so node
    placement and memory utilization use what the manifests request; false keeps it."""
    from capplan.scenario import validate_data

    data = yaml.safe_load((ROOT / "scenarios" / "current.yaml").read_text())
    given = validate_data(data, {}, "<t>").components["mcp-server"].resources
    assert given.requests.memory == given.limits.memory == 2 * 2**30
    kept = validate_data({**data, "kubernetes": {"guaranteed_memory": False}}, {}, "<t>")
    res = kept.components["mcp-server"].resources
    assert res.requests.memory == 2**30 and res.limits.memory == 2 * 2**30


@pytest.mark.parametrize(
    ("cache", "mb", "warned"),
    [
        # a hit ratio says nothing of the data: three quarters of the 4Gi limit
        ({"hit_ratio": "90%"}, 3072, False),
        # 1,000 keys of 2MB at 3x the load (grows_with_load): 6GB over three primaries
        ({"keyspaces": {"k": {"keys": 1000, "value_size": "2MB", "grows_with_load": True}}},
         math.ceil(2e9 / 2**20), False),
        # 12GB over three primaries is 4GB each: more than three quarters of 4Gi
        ({"keyspaces": {"k": {"keys": 10, "value_size": "1KB", "max_size": "12GB"}}},
         math.ceil(4e9 / 2**20), True),
    ],
)  # fmt: skip
def test_a_cache_is_given_the_maxmemory_the_model_evicts_at(
    tmp_path: Path, cache: dict, mb: int, warned: bool
) -> None:
    """maxmemory per primary from the key spaces (or the pod's memory), in the chart's
    redis.conf and in the generic store sizing, with a warning when the pod is too small."""
    from capplan.k8s.charts import cache_memory
    from capplan.k8s.monitoring import stores_values
    from capplan.k8s.objects import memory_quantity
    from capplan_helpers import scenario

    def data(chart: bool) -> dict[str, Any]:
        redis = {
            "type": "cache", "replicas": 3, "workers": 4, "service_time": "1ms",
            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
            **cache,
        }  # fmt: skip
        if chart:
            redis["chart"] = "bitnami/redis-cluster"
        step = {"call": "redis"}
        if "keyspaces" in cache:
            step["keyspace"] = "k"
        return {
            "load_scale": 3,
            "simulation": {"duration": "60s", "warmup": "0s", "replications": 1},
            "workload": {"arrival_rate": "1/s"},
            "requests": {"r": {"steps": [step]}},
            "components": {"redis": redis},
        }

    def said(chart: bool, folder: str) -> str:
        """What render-manifests says on standard error (the command says what the files
        warn of, without opening them)."""
        path = tmp_path / f"{folder}.yaml"
        path.write_text(yaml.safe_dump({"capplan": 1, "name": folder, **data(chart)}))
        code, out, err = cli("render-manifests", str(path), "--out", str(tmp_path / folder))
        assert code == 0, out + err
        return " ".join(err.split())

    plain = stores_values(scenario(data(chart=False)))["redis"]
    assert plain["maxmemory"] == memory_quantity(mb * 2**20)
    assert plain["maxmemory_policy"] == "allkeys-lru"
    text = said(chart=False, folder="p")
    assert ("stores-values.yaml: redis: the key spaces may hold" in text) == warned, text
    s = scenario(data(chart=True))
    held = cache_memory(s, "redis", s.components["redis"])
    assert held.config() == f"maxmemory {mb}mb\nmaxmemory-policy allkeys-lru\n"
    assert any(line.startswith("WARNING") for line in held.lines) == warned
    text = said(chart=True, folder="m")
    assert ("redis-values.yaml: redis: the key spaces may hold" in text) == warned, text
    assert f"maxmemory {mb}mb" in (tmp_path / "m" / "values" / "redis-values.yaml").read_text()


def test_a_redis_cluster_of_fewer_than_three_primaries_is_refused(tmp_path: Path) -> None:
    """bitnami/redis-cluster cannot create a cluster of fewer than three primaries: such
    values would not install. render-manifests says so at the chart's line, exit 2,
    writing nothing; with three it renders."""
    text = """\
capplan: 1
name: shop
simulation: {duration: 60s, warmup: 0s, replications: 1}
workload: {arrival_rate: 1/s}
requests:
  r: {steps: [{call: redis}]}
components:
  redis:
    type: cache
    chart: bitnami/redis-cluster
    replicas: 2
    workers: 4
    service_time: 1ms
    hit_ratio: 90%
"""
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    out = tmp_path / "m"
    code, stdout, err = cli("render-manifests", str(path), "--out", str(out))
    assert code == 2 and "Traceback" not in stdout + err, err
    flat = " ".join(err.split())
    assert f"{path}:10" in flat and "components.redis.chart" in flat, flat
    assert "bitnami/redis-cluster" in flat and "replicas: 2" in flat, flat
    assert not out.exists()
    path.write_text(text.replace("replicas: 2", "replicas: 3"))
    code, _, err = cli("render-manifests", str(path), "--out", str(out))
    assert code == 0, err
    values = yaml.safe_load((out / "values" / "redis-values.yaml").read_text())
    assert values["cluster"] == {"nodes": 6, "replicas": 1}


def test_store_values_say_what_they_leave_to_the_chart_about_zones(rendered):
    """The simulation spreads a shard's members over the zones (a zone outage takes its
    share); the chart values do not set that, and say so where a shard has members to
    spread: the planned system's three-member stores, not today's single instances."""
    note = "spreads each shard's members evenly over the 3 zones"
    planned = {f.name: f.text for f in render(*rendered["10x-planned"])}
    for store in ("mongodb", "redis", "neo4j"):
        assert note in planned[f"values/{store}-values.yaml"].replace("\n# ", " ")
    today = {f.name: f.text for f in render(*rendered["current"])}
    assert not any("Zones:" in text for name, text in today.items() if name.startswith("values/"))
    one_zone = rendered["10x-planned"][0]
    one_zone = one_zone.model_copy(
        update={"kubernetes": one_zone.kubernetes.model_copy(update={"zones": 1})}
    )
    alone = {f.name: f.text for f in render(one_zone, rendered["10x-planned"][1])}
    assert not any("Zones:" in text for text in alone.values())
