"""The compiled engine: what runs is what the sources say.

An install compiles the engine's modules with mypyc (``setup.py``); in an editable install
the extensions sit beside their sources and load first, so a source edited after the
build would silently not run. The build records each source's SHA-256 and the engine
refuses to load when one differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from capplan.sim import compiled, stale_sources

ROOT = Path(__file__).resolve().parent.parent


def test_a_source_edited_since_the_build_is_named(tmp_path: Path) -> None:
    assert stale_sources(tmp_path) == []  # nothing compiled: the pure-Python engine
    sim = tmp_path / "capplan" / "sim"
    sim.mkdir(parents=True)
    sources = {"capplan/sim/kernel.py": b"x = 1\n", "capplan/sim/steps.py": b"y = 2\n"}
    for path, text in sources.items():
        (tmp_path / path).write_bytes(text)
    built = {path: hashlib.sha256(text).hexdigest() for path, text in sources.items()}
    (sim / "compiled.json").write_text(json.dumps(built))
    assert stale_sources(tmp_path) == []
    (sim / "steps.py").write_bytes(b"y = 3\n")
    assert stale_sources(tmp_path) == ["capplan/sim/steps.py"]
    (sim / "kernel.py").unlink()
    assert stale_sources(tmp_path) == ["capplan/sim/kernel.py", "capplan/sim/steps.py"]


def test_the_installed_engine_is_compiled_and_current() -> None:
    """The install the tests run on compiles the engine (unless CAPPLAN_COMPILE=0 said
    not to), and its sources are the ones compiled: importing it did not refuse."""
    assert compiled() == (os.environ.get("CAPPLAN_COMPILE") != "0")
    import capplan.sim

    root = Path(capplan.sim.__file__).resolve().parent.parent.parent
    assert stale_sources(root) == []


def plain_copy(where: Path) -> Path:
    """A copy of the installed package without its extensions: the plain-Python engine
    (import it with ``where`` on ``PYTHONPATH``)."""
    import capplan

    pkg = where / "capplan"
    shutil.copytree(Path(capplan.__file__).resolve().parent, pkg)
    for built in pkg.rglob("*.so"):
        built.unlink()
    (pkg / "sim" / "compiled.json").unlink(missing_ok=True)
    return pkg


def simulate_json(
    scenario: str, out: Path, pythonpath: Path | None = None, replications: int = 1, pad: int = 0
) -> bytes:
    """``capplan simulate --json`` of a bundled scenario in a fresh process (``pad``: an
    unused environment variable that long, which moves where the process puts things)."""
    env = {**os.environ, "CAPPLAN_TEST_PAD": "x" * pad}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    path = str(ROOT / "scenarios" / scenario)
    options = ["--replications", str(replications), "--no-progress", "--json", str(out)]
    subprocess.run(
        [sys.executable, "-m", "capplan", "simulate", path, *options],
        check=True,
        capture_output=True,
        env=env,
        cwd=out.parent,
    )
    return out.read_bytes()


@pytest.mark.skipif(not compiled(), reason="the engine runs uncompiled here")
def test_compiled_and_plain_engines_agree_to_the_bit(tmp_path: Path) -> None:
    """The same scenario and seed give byte-identical JSON from both engines: pod, zone,
    primary and LLM failures, where a request's fate depends on the order the engine
    visits what a failed replica held (an order that once followed memory addresses, so
    that the two engines, allocating differently, disagreed)."""
    plain = plain_copy(tmp_path / "plain")
    ours = simulate_json("10x-planned-failures.yaml", tmp_path / "compiled.json")
    theirs = simulate_json("10x-planned-failures.yaml", tmp_path / "plain.json", plain.parent)
    assert json.loads(ours)["availability"]  # failures were simulated
    assert ours == theirs


def test_results_do_not_depend_on_memory_addresses(tmp_path: Path) -> None:
    """Same scenario, same seed, same bytes, wherever the process puts its objects. A
    failed replica interrupts what it held in the order the requests came; a set of
    requests, iterated in the order of their addresses, once made a failure scenario's
    results change with the size of an unrelated environment variable."""
    plain = plain_copy(tmp_path / "plain").parent
    runs = {
        simulate_json("10x-planned-failures.yaml", tmp_path / f"{pad}.json", plain, 3, pad)
        for pad in (1, 5000)
    }
    assert len(runs) == 1  # with the set: different bytes in each of 4 runs out of 4


def test_a_stale_engine_is_refused_with_exit_2(tmp_path: Path) -> None:
    """The command line reports a stale build as an error (exit 2), not a traceback."""
    pkg = plain_copy(tmp_path)
    # the package's record says kernel.py was compiled from other text
    (pkg / "sim" / "compiled.json").write_text(
        json.dumps({"capplan/sim/kernel.py": hashlib.sha256(b"other").hexdigest()})
    )
    scenario = ROOT / "scenarios" / "current.yaml"
    out = subprocess.run(
        [sys.executable, "-m", "capplan", "simulate", str(scenario), "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
    )
    assert out.returncode == 2, out.stderr
    assert "capplan/sim/kernel.py changed since the engine was compiled" in out.stderr
    assert "Traceback" not in out.stderr
