"""Bad input to the failure and availability keys and commands: exit 2, the file, the
YAML path and the value named, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from capplan_helpers import cli

BASE: dict[str, Any] = {
    "capplan": 1,
    "name": "b",
    "simulation": {"duration": "600s", "warmup": "0s"},
    "workload": {"arrival_rate": "1/s"},
    "requests": {"r": {"steps": [{"call": "api"}]}},
    "components": {"api": {"type": "service", "service_time": "10ms"}},
}
NODE = {"cpu": "4", "memory": "16Gi", "price_per_hour": 1}


@pytest.mark.parametrize(
    ("extra", "key", "value"),
    [
        ({"slos": {"availability": "150%"}}, "slos.availability", "150%"),
        ({"kubernetes": {"zones": 0}}, "kubernetes.zones", "0"),
        ({"kubernetes": {"zone_spread": "sometimes"}}, "kubernetes.zone_spread", "sometimes"),
        ({"costs": {"node": {**NODE, "replacement": "-1s"}}}, "costs.node.replacement", "-1s"),
        ({"costs": {"node": {**NODE, "mtbf": "soon"}}}, "costs.node.mtbf", "soon"),
    ],
)
def test_bad_values_are_located(tmp_path: Path, extra: Any, key: str, value: str) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({**BASE, **extra}))
    code, _out, err = cli("simulate", str(path), "--no-progress")
    assert code == 2 and "Traceback" not in err
    assert f"{path}:" in err and key in err and value in err, err


def test_size_refuses_an_unknown_failure_before_it_writes_anything(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(BASE))
    out = tmp_path / "sized.yaml"
    out.write_text("# the user's own file\n")
    code, _out, err = cli("size", str(path), "--survive", "bogus", "--out", str(out))
    assert code == 2 and "Traceback" not in err
    assert "--survive bogus" in err and "zone_outage" in err
    assert out.read_text() == "# the user's own file\n"


def test_availability_needs_random_failures(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(BASE))
    out = tmp_path / "m.json"
    code, _out, err = cli("availability", str(path), "--json", str(out))
    assert code == 2 and "Traceback" not in err
    assert "failures.random" in err and not out.exists()
