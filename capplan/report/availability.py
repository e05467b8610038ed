"""The terminal's lines on availability: requests served against ``slos.availability``
and its error budget, windows within the SLOs, and recovery after each injected event."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from capplan.scenario.units import format_duration


def _pct(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x * 100:.{digits}f}%"


def _ci(ci: list[float] | None, digits: int = 3) -> str:
    return "" if ci is None else f" (95% CI {_pct(ci[0], digits)} to {_pct(ci[1], digits)})"


def availability_lines(r: dict[str, Any]) -> list[Text]:
    a = r.get("availability")
    if not a:
        return []
    name = r["scenario"]
    line = (
        f"{name}: availability {_pct(a['requests'])} of requests succeeded{_ci(a['requests_ci95'])}"
    )
    style = "default"
    if a["target"] is not None:
        burn = a["burn_rate"]
        line += (
            f" against {_pct(a['target'])}: error budget burned at {burn:.2g}x its rate"
            f" (a month's budget is {a['error_budget_minutes_per_month']:.1f} min)"
        )
        style = "green" if burn is not None and burn <= 1 else "red"
    lines = [Text(line, style=style)]
    if a["windows_within_slo"] is not None:
        lines.append(
            Text(
                f"{name}: {_pct(a['windows_within_slo'], 1)} of windows within "
                f"{', '.join(a['window_objectives'])}{_ci(a['windows_within_slo_ci95'], 1)}"
            )
        )
    reps = r["replications"]
    for e in a["events"]:
        what = f"{e['kind']} of {e['target']} at {e['at']}"
        if e["recovery_s"] is None:
            told = f"not back within the SLOs before the run ended (in {reps} of {reps})"
        elif e["recovery_s"] == 0 and not e["missed_windows"]:
            told = "no window outside the SLOs"
        else:
            told = f"back within the SLOs {format_duration(e['recovery_s'])} after it began"
            if e["not_recovered"]:
                told += f" (not before the run ended in {e['not_recovered']} of {reps})"
            told += f", {e['missed_windows']:.1f} windows missed"
        lines.append(Text(f"{name}: {what}: {told}", style="dim"))
    return lines
