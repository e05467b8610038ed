"""``capplan availability``: a month's availability under random pod and node failures."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from capplan.cli.app import (
    Dask,
    Jobs,
    JsonPath,
    Replications,
    Scenario1,
    Seed,
    _load_all,
    app,
    err,
    note_central,
)
from capplan.scenario.units import SECONDS_PER_MONTH


@app.command()
def availability(
    file: Scenario1,
    json_path: JsonPath = None,
    seed: Seed = None,
    replications: Replications = None,
    jobs: Jobs = None,
    dask: Dask = None,
) -> None:
    """Estimate a month's availability from the scenario's failures.random and
    costs.node.mtbf: pods up and down as independent Markov units (k-of-n with repair),
    each failure state's effect on requests measured in a short simulation; a node
    failure's episode simulated beside the undisturbed run; and the minutes outside the
    SLOs they imply against the error budget.

    Example:

        capplan availability scenarios/10x-planned-failures.yaml
    """
    from capplan.availability import check_failures, monthly_availability
    from capplan.cluster import runner_for
    from capplan.files import write_json

    (scenario,) = _load_all([file], None, seed, replications)
    check_failures(scenario)
    note_central(scenario, "availability")
    err.print(f"{scenario.name}: simulating each failure state", highlight=False)
    with runner_for(jobs, dask) as runner:
        m = monthly_availability(scenario, runner=runner)
    if json_path is not None:
        write_json(json_path, {"scenario": scenario.name, **m.to_dict()})
    table = Table(title=f"{scenario.name}: failure states over a month")
    for col in ("pods down", "share of the month", "requests served (95% CI)", "SLOs"):
        table.add_column(col, justify="right")
    for s in m.states:
        down = "none" if s.component is None else f"{s.down} of {s.component}"
        table.add_row(
            down,
            f"{s.probability:.3g}",
            f"{s.served:.4%} ({s.served_ci95[0]:.4%} to {s.served_ci95[1]:.4%})",
            "hold" if s.slos_hold else "missed",
        )
    console = Console()
    console.print(table)
    minutes = SECONDS_PER_MONTH / 60
    lines = [
        f"{scenario.name}: expected availability {m.availability:.4%} over a month "
        f"(bounds {m.low:.4%} to {m.high:.4%}), of which {m.lost_share:.2e} of requests "
        "lost in service on a crashing pod",
        f"{scenario.name}: {m.violation_minutes:.1f} min a month outside the SLOs "
        f"(up to {m.violation_minutes_high:.1f} counting states with two components "
        f"degraded, probability {m.other_probability:.2g})",
    ]
    if m.target is not None:
        budget = (1 - m.target) * minutes
        verdict = (
            "within"
            if m.violation_minutes_high <= budget
            else ("over" if m.violation_minutes > budget else "straddling")
        )
        lines.append(
            f"{scenario.name}: the {m.target:.3%} target allows {budget:.1f} min a month: "
            f"{verdict} budget"
        )
    for name, n in m.crashes_per_month.items():
        lines.append(f"{scenario.name}: {name}: {n:.1f} pod crashes a month")
    nf = m.node_failures
    if nf is not None:
        lo, hi = nf.failed_per_failure_ci95
        lines.append(
            f"{scenario.name}: {nf.per_month:.1f} node failures a month ({nf.nodes:.1f} nodes), "
            f"each failing {nf.failed_per_failure:.1f} requests (95% CI {lo:.1f} to {hi:.1f}) "
            f"and {nf.violation_s_per_failure / 60:.1f} min outside the SLOs: "
            f"{nf.lost_share:.2e} of requests"
        )
        if nf.undisturbed_saturated:
            lines.append(
                f"{scenario.name}: without the node failure the system saturates (that run "
                "was ended early), so a failure's requests are judged against one failing "
                "anyway: a rough figure"
            )
    for line in lines:
        console.print(line, highlight=False)
