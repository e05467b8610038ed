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
import subprocess
import sys
from pathlib import Path

from capplan.sim import compiled, stale_sources


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


def test_a_stale_engine_is_refused_with_exit_2(tmp_path: Path) -> None:
    """The command line reports a stale build as an error (exit 2), not a traceback."""
    import capplan

    pkg = tmp_path / "capplan"
    root = Path(capplan.__file__).resolve().parent
    # a copy of the package whose record says kernel.py was compiled from other text
    subprocess.run(["cp", "-r", str(root), str(pkg)], check=True)
    for built in pkg.rglob("*.so"):
        built.unlink()
    (pkg / "sim" / "compiled.json").write_text(
        json.dumps({"capplan/sim/kernel.py": hashlib.sha256(b"other").hexdigest()})
    )
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "current.yaml"
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
