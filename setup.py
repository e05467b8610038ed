"""Build: the simulation engine's modules compiled to C extensions with mypyc.

The engine (``capplan/sim``: the event kernel, step runner, stations, pools and the
ledger) runs every simulated event, and CPython spends most of its time there in the
interpreter loop and in generic attribute lookups. mypyc compiles the same type-annotated
modules, unchanged, into C extensions that run them 1.5 to 1.8 times as fast (see
``benchmarks/engine.py`` and ``benchmarks/day.py``); the Python sources stay beside them
and are what runs when the extensions are absent. Everything else is plain Python.

``CAPPLAN_COMPILE=0`` installs the pure-Python engine: the same results, slower. Without
a C compiler, install with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup

ENGINE = [
    "capplan/sim/budget.py",
    "capplan/sim/capacity.py",
    "capplan/sim/cpu.py",
    "capplan/sim/engine.py",
    "capplan/sim/kernel.py",
    "capplan/sim/ledger.py",
    "capplan/sim/load.py",
    "capplan/sim/meter.py",
    "capplan/sim/plan.py",
    "capplan/sim/sketch.py",
    "capplan/sim/stations/__init__.py",
    "capplan/sim/stations/base.py",
    "capplan/sim/stations/link.py",
    "capplan/sim/stations/llm.py",
    "capplan/sim/stations/pooled.py",
    "capplan/sim/steps.py",
    "capplan/sim/timeline.py",
    "capplan/sim/workload.py",
]
"""What is compiled: the engine's modules that a request's events run through, and those
they share classes with (an interpreted class cannot subclass a compiled one). Not
``streams`` (its endless batches are generator expressions, which mypyc would evaluate
as lists); the controllers, the failure injector and the runner stay interpreted: they
act per control step or replication, not per request."""

BUILT = Path("capplan/sim/compiled.json")
"""The sources compiled, with their SHA-256."""

# The type check that drives compilation reads no configuration file: the build's own
# environment has mypy alone, without the pydantic plugin or the packages the
# project's configuration names; what the engine imports from them is typed as Any.
MYPY_OPTIONS = ["--config-file=", "--ignore-missing-imports", "--follow-imports=silent"]


BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}
"""The commands that build extensions (pip also runs this file for metadata alone)."""


def extensions() -> list:
    if not BUILDS & set(sys.argv[1:]):
        return []
    # The extensions of an editable install sit beside their sources and would shadow
    # them: the hash of each source compiled is recorded, and the engine refuses to load
    # against a source edited since (capplan/sim/__init__.py); without compiling, the
    # extensions of an earlier build are removed.
    for path in [*ENGINE, "capplan_engine__mypyc.py"]:
        for built in Path(path).parent.glob(Path(path).stem + ".*.so"):
            built.unlink()
    BUILT.unlink(missing_ok=True)
    if os.environ.get("CAPPLAN_COMPILE", "1") == "0":
        return []
    from mypyc.build import mypycify

    sources = {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in ENGINE}
    BUILT.write_text(json.dumps(sources, indent=1) + "\n")
    return mypycify(MYPY_OPTIONS + ENGINE, opt_level="3", group_name="capplan_engine")


setup(ext_modules=extensions())
