"""render-manifests: golden files, schema validation across versions, broken objects."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

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
    assert sorted(f.name for f in files) == sorted(p.name for p in folder.glob("*.yaml"))
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
    }
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
    assert pod["containers"][0]["resources"]["requests"] == {"cpu": "8", "memory": "16Gi"}
    hpa = files["marketing-agents-hpa.yaml"]
    assert hpa.obj["spec"]["minReplicas"] == 10 and hpa.obj["spec"]["maxReplicas"] == 50
    assert hpa.obj["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    stores = yaml.safe_load(files["stores-values.yaml"].text)
    assert stores["mongodb"]["shards"] == 3 and stores["mongodb"]["read_replicas"] == 2
    rules = files["prometheusrule.yaml"].obj["spec"]["groups"][0]["rules"]
    assert {r["labels"]["severity"] for r in rules} == {"warning", "critical"}


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
    adapter = yaml.safe_load(files["prometheus-adapter-values.yaml"].text)
    names = [r["name"].get("as") for r in adapter["rules"]["custom"]]
    assert names == ["${1}_per_second", "capplan_inflight_requests"]
    assert "[15s]" in adapter["rules"]["custom"][0]["metricsQuery"]
    ca = yaml.safe_load(files["cluster-autoscaler-values.yaml"].text)
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
