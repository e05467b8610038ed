"""What the HTML report adds to the simulations it shows.

    python benchmarks/report.py [--quick]

Runs what ``capplan report scenarios/current.yaml scenarios/10x.yaml
scenarios/10x-planned.yaml`` runs (``--quick``: current.yaml only), in this process
(one job, so that CPU time counts all of it), and prints the CPU time of the simulations
(the runs and the latency-against-load sweeps), the CPU time of making the page from
their results (charts, template, the inlined chart library, which is bundled once per
process), and their ratio. The target is a page in under the time of the simulations
plus 10%: a ratio at most 0.10. The page is made twice, the first time with the bundle,
and the first is the one compared.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from capplan import load_scenario
from capplan.report.html import compute, render

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="current.yaml only")
    args = parser.parse_args()
    names = ["current"] if args.quick else ["current", "10x", "10x-planned"]
    files = [ROOT / "scenarios" / f"{n}.yaml" for n in names]
    scenarios = [load_scenario(f) for f in files]
    sources = {str(f): f.read_text() for f in files}

    t0 = time.process_time()
    data = compute(scenarios, sources, jobs=1)
    simulate_s = time.process_time() - t0

    page_s = []
    for _ in range(2):
        t0 = time.process_time()
        html = render(data["results"], curves=data["curves"], sources=data["sources"])
        page_s.append(time.process_time() - t0)

    ratio = page_s[0] / simulate_s
    print(f"scenarios: {', '.join(names)}")
    print(f"simulations (runs and load sweeps): {simulate_s:8.1f} s CPU")
    print(f"page, first (bundles the library):  {page_s[0]:8.2f} s CPU")
    print(f"page, again:                        {page_s[1]:8.2f} s CPU")
    print(f"page size: {len(html.encode()) / 1e6:.2f} MB")
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"page / simulations: {ratio:.4f} ({verdict} the target of at most {TARGET:.2f})")


if __name__ == "__main__":
    main()
