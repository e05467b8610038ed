"""`capplan report`: one self-contained HTML page, opened in a real browser (Debian's
headless Chromium, driven by Playwright), and refused input that leaves nothing behind.

The page is made once per module from small scenarios: a stationary one (with its load
sweep), a time-varying one (its timeline section) and a load test's comparison.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from capplan.loadtest.compare import compare
from capplan_helpers import ROOT, cli, exp

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _install_chromium() -> None:
    """Debian's chromium, installed as .ci/run does when it is missing (as root)."""
    if not os.path.exists(CHROMIUM) and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "chromium"], capture_output=True, env=env, check=False
        )
    assert os.path.exists(CHROMIUM), (
        "the browser test needs Debian's chromium: apt-get update && apt-get install -y "
        "chromium (.ci/run installs it)"
    )


def _scenario(name: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "capplan": 1,
        "name": name,
        "simulation": {"duration": "600s", "warmup": "60s", "replications": 2, "seed": 7},
        "slos": {"latency_p95": "400ms", "error_rate": "1%"},
        "workload": {"arrival_rate": "4/s", "mix": {"read": 3, "write": 1}},
        "requests": {
            "read": {"steps": [{"call": "api", "steps": [{"call": "db"}]}]},
            "write": {"steps": [{"call": "api"}]},
        },
        "components": {
            "api": {"type": "service", "replicas": 2, "workers": 2, "service_time": exp("60ms")},
            "db": {"type": "database", "workers": 4, "service_time": exp("20ms")},
        },
        "costs": {
            "node": {"cpu": "8", "memory": "32Gi", "price_per_hour": 0.384},
            "cluster": {"min_nodes": 2, "max_nodes": 6},
            "baseline": {"compute": 600},
        },
        **(extra or {}),
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("report")
    steady = folder / "steady.yaml"
    steady.write_text(yaml.safe_dump(_scenario("steady")))
    daily = folder / "daily.yaml"
    daily.write_text(
        yaml.safe_dump(
            _scenario(
                "daily",
                {
                    "simulation": {
                        "duration": "1200s",
                        "warmup": "0s",
                        "replications": 2,
                        "seed": 7,
                        "window": "120s",
                    },
                    "workload": {
                        "arrival_rate": "4/s",
                        "mix": {"read": 3, "write": 1},
                        "profile": {"points": [["0s", 0.5], ["600s", 1.5], ["1200s", 0.5]]},
                    },
                },
            )
        )
    )
    page, saved = folder / "report.html", folder / "report.json"
    code, _, err = cli(
        "report",
        str(steady),
        str(daily),
        "--out",
        str(page),
        "--json",
        str(saved),
        "--no-progress",
    )
    assert code == 0, err
    # a load test's comparison: the prediction beside a 'measurement' 10% slower
    payload = json.loads(saved.read_text())
    predicted = payload["results"][0]
    measured = json.loads(json.dumps(predicted))
    measured["by_type"] = {}
    for group in [measured, *measured["requests"].values()]:
        lat = group["latency_s"]
        for k in ("mean", "p50", "p95", "p99"):
            lat[k] *= 1.1
            lat["ci95"][k] = [x * 1.1 for x in lat["ci95"][k]]
    measured["by_type"] = measured.pop("requests")
    loadtest = {
        "scenario": "steady",
        "measured": measured,
        "predicted": predicted,
        "comparison": compare(predicted, measured),
    }
    lt = folder / "loadtest.json"
    lt.write_text(json.dumps(loadtest))
    # a scenario with uncertain inputs, and a sweep, each from its command's --json
    unsure = _scenario("unsure", {"load_scale": {"between": [0.8, 1.2]}})
    unsure["components"]["api"]["service_time"]["mean"] = {
        "between": ["40ms", "90ms"],
        "distribution": "triangular",
        "mode": "50ms",
    }
    (folder / "unsure.yaml").write_text(yaml.safe_dump(unsure))
    unsure_json, sweep_json = folder / "unsure.json", folder / "sweep.json"
    code, _, err = cli(
        "simulate", str(folder / "unsure.yaml"), "--samples", "8", "--json", str(unsure_json),
        "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli(
        "sweep", str(steady), "--vary", "load_scale=1..4:4", "--vary",
        "components.api.replicas=1,2", "--json", str(sweep_json),
    )  # fmt: skip
    assert code == 0, err
    full = folder / "full.html"
    froms = [a for f in (saved, lt, unsure_json, sweep_json) for a in ("--from", str(f))]
    code, _, err = cli("report", *froms, "--out", str(full))
    assert code == 0, err
    return {"page": page, "saved": saved, "full": full, "steady": steady, "folder": folder}


def test_the_page_is_self_contained_and_small(made: dict[str, Path]) -> None:
    html = made["full"].read_text()
    assert len(html.encode()) < 3e6
    # the page's own markup loads nothing (the browser test watches the requests too;
    # the inlined chart library's code holds tags in strings, so it is left out here)
    markup = re.sub(r'<script id="chart-library">.*?</script>', "", html, count=1, flags=re.S)
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", markup)
    assert not re.search(r"<link[^>]*href=", markup)
    assert "@import" not in markup and "http://" not in markup and "https://" not in markup
    for section in (
        "Verdict",
        "Latency against load",
        "Over time",
        "Cost",
        "Sweeps",
        "Uncertain inputs",
        "Load test",
    ):
        assert section in html, section


def test_the_sweep_and_the_uncertain_inputs_are_shown_with_their_figures(
    made: dict[str, Path],
) -> None:
    """The sweep's 8 points and where each objective stops holding; the uncertain
    scenario's two inputs with their beliefs, its outputs' spread and SLO probabilities,
    as the JSON they came from has them."""
    html = made["full"].read_text()
    sweep = json.loads((made["folder"] / "sweep.json").read_text())
    assert sweep["kind"] == "capplan-sweep" and len(sweep["points"]) == 8
    assert "steady: 8 points over load_scale, components.api.replicas" in html
    for row in sweep["summary"]:
        assert f'<td class="num">{row["held"]} of 8</td>' in html
    unsure = json.loads((made["folder"] / "unsure.json").read_text())
    u = unsure["uncertainty"]  # one scenario: its result itself
    assert "unsure: 8 samples over 2 inputs" in html
    assert "triangular, most likely 50ms" in html
    assert "<code>components.api.service_time.mean</code>" in html
    for name, p in u["slo_probability"].items():
        assert f'<td>{name}</td><td class="num">{p * 100:.0f}%</td>' in html
    p95 = u["outputs"]["latency_p95"]
    assert f"{p95['p95'] * 1000:.4g}ms" in html
    # every figure has its spread: each component's utilization and the cost too
    for key in ("components.api.utilization", "components.db.utilization", "cost.monthly_usd"):
        assert key in u["outputs"] and f"<td>{key}</td>" in html, key


def test_report_from_saved_json_is_the_same_page(made: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again.html"
    code, _, err = cli("report", "--from", str(made["saved"]), "--out", str(again))
    assert code == 0, err
    assert again.read_bytes() == made["page"].read_bytes()


def test_the_page_renders_in_chromium(made: dict[str, Path]) -> None:
    """No console error, no request but the page itself, every chart drawn with a size
    and marks in it, the SLO tables present; a screenshot is kept in test-artifacts/."""
    _install_chromium()
    from playwright.sync_api import sync_playwright

    url = made["full"].as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            problems: list[str] = []
            requests: list[str] = []
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.wait_for_function(
                "[...document.querySelectorAll('.chart')].every(e => e.dataset.rendered)",
                timeout=60_000,
            )
            charts = page.query_selector_all(".chart")
            # load, utilization, time, over time, cost, sweep, sensitivity, load test
            assert len(charts) >= 8
            for chart in charts:
                name = chart.get_attribute("id")
                assert chart.get_attribute("data-rendered") == "yes", name
                box = chart.bounding_box()
                assert box and box["width"] > 100 and box["height"] > 50, (name, box)
                marks = chart.eval_on_selector_all(
                    "svg g.mark-line path, svg g.mark-rect path, svg g.mark-area path, "
                    "svg g.mark-symbol path, svg g.mark-rule line",
                    "nodes => nodes.filter(n => n.getBBox().width + n.getBBox().height > 0).length",
                )
                assert marks > 0, name
            tables = page.inner_text("table.slos[data-scenario='steady']")
            assert "latency_p95" in tables and "error_rate" in tables
            assert re.search(r"\b(met|missed|inconclusive)\b", tables)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == [], "\n".join(problems)
    assert requests == [url]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing/report.html", "does not exist"),
        ("report.txt", "ends in .html"),
    ],
)
def test_an_output_that_cannot_be_a_page_is_refused_first(
    made: dict[str, Path], tmp_path: Path, out: str, message: str
) -> None:
    target = tmp_path / out
    code, _, err = cli("report", "--from", str(made["saved"]), "--out", str(target))
    assert code == 2 and message in err and "Traceback" not in err
    assert not target.exists() and not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"hello": 1}', "not capplan JSON"),
        ("{not json", "not JSON"),
    ],
)
def test_a_from_file_that_is_not_capplan_json_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    page = tmp_path / "report.html"
    page.write_text("the previous report")
    code, _, err = cli("report", "--from", str(bad), "--out", str(page))
    assert code == 2 and message in err and str(bad) in err and "Traceback" not in err
    assert page.read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir()] == sorted(["bad.json", "report.html"]) or set(
        p.name for p in tmp_path.iterdir()
    ) == {"bad.json", "report.html"}


def test_simulate_and_gate_write_the_page_too(made: dict[str, Path], tmp_path: Path) -> None:
    for command in ("simulate", "gate"):
        page = tmp_path / f"{command}.html"
        code, _, err = cli(command, str(made["steady"]), "--no-progress", "--html", str(page))
        assert code in (0, 1, 3), err
        html = page.read_text()
        assert "steady: objectives" in html and "Latency against load" not in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("simulate", "--html", "{tmp}/report.txt"), "ends in .html"),
        (("gate", "--html", "{tmp}/missing/report.html"), "does not exist"),
        (("simulate", "--csv", "{tmp}"), "is a folder"),
    ],
)
def test_other_commands_refuse_an_output_they_cannot_write(
    made: dict[str, Path], tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    command, *rest = (a.format(tmp=tmp_path) for a in args)
    code, _, err = cli(command, str(made["steady"]), "--no-progress", *rest)
    assert code == 2 and message in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_saturated_sweep_point_is_drawn_above_the_rest_not_dropped() -> None:
    """A point without a finite p95 (saturated) is still a point of the sweep: drawn as a
    triangle above the highest finite p95 and the objective, not left out."""
    from capplan.report.html.spread import sweep_chart

    def point(scale: float, p95: float | None) -> dict[str, Any]:
        return {
            "point": 1,
            "load_scale": scale,
            "latency_p50": p95,
            "latency_p95": p95,
            "p95_low": None if p95 is None else p95 * 0.9,
            "p95_high": None if p95 is None else p95 * 1.1,
            "error_rate": 0.0,
            "throughput_rps": 1.0,
            "slos_hold": p95 is not None and p95 <= 0.5,
            "saturated": p95 is None,
        }

    sweep = {
        "scenario": "s",
        "varied": ["load_scale"],
        "rows": [point(1, 0.2), point(2, 0.4), point(3, None)],
        "summary": [],
        "p95_target": 0.5,
    }
    spec = sweep_chart(sweep)
    assert spec is not None
    rows = [r for d in spec["datasets"].values() for r in d if r.get("v0") == 3]
    assert rows and all(r["verdict"] == "saturated" for r in rows)
    assert all(r["shown_p95"] == pytest.approx(0.75) for r in rows)  # 1.5 x the objective
